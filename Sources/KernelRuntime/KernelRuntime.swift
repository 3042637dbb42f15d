// The KernelRuntime module. See docs/architecture.md for its place in the layers.
//
// Pure and file-level parts (this file's siblings):
//   KernelSpec, KernelJSONValue      kernel.json model and validation
//   JupyterPaths, KernelSpecCatalog  Jupyter search path, discovery, allow-list, safe resource lookup
//   ConnectionInfo, ConnectionFileStore, LoopbackPortAllocator
//                                    connection-file JSON, 0600 files in the runtime dir, loopback ports
//   KernelEnvironment, LaunchPlan    minimal kernel environment, argv templating and argv[0] resolution
//   KernelLifecycle                  the start/ready/restart/shutdown state machine (events in, actions out)
//   KernelRuntimeError               the one error type
// The Kernel actor (process, sockets) builds on these and carries out KernelLifecycle's actions.
