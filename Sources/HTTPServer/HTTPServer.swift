// The HTTPServer module. See docs/architecture.md for its place in the layers.
