// The Gateway module. See docs/architecture.md for its place in the layers.
