// swift-tools-version:6.0
import PackageDescription

/// Linux only: the loops and processes are built on epoll, eventfd, signalfd and pidfd (no platforms entry claims
/// more).
///
/// Dependency direction (bottom to top):
///   C* system libraries and CLinuxShim
///   Basics                                  the one JSON string escaper, ISO-8601 formatter, bounded file reader
///   Logging, JSONValue                      JSON-lines logger; JSON document value: strict parser, sorted-key serializer
///   ResourceLimits                          pure logic, no I/O: memory/CPU/process limits, their notation and resolution
///   JupyterProtocol                         pure logic, no I/O: wire formats, scanner, signer, the channel enum
///   Authorization                           pure logic, no I/O: policy, users, channel rules, role limits
///   EventLoop                               epoll loops that are actor executors, timers, TCP, signals
///   ControlGroups                           cgroup v1/v2 file I/O: kernel and user cgroups, limits, usage, OOM kills
///   ZeroMQ, ZMTP, ChildProcesses            libzmq sockets (echo-kernel, benchmarks, interop tests); the gateway's
///                                           own ZMTP 3.0 client sockets on the loop; child processes watched on a loop
///   HTTPServer, KernelRuntime               HTTP/1.1 + WebSocket; kernelspecs, launcher, Kernel actor
///   Gateway                                 REST handlers, channel bridge, configuration
///   kernel-gateway, echo-kernel, gateway-bench   executables
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "KernelGateway",
    products: [
        .executable(name: "kernel-gateway", targets: ["kernel-gateway"]),
        .executable(name: "echo-kernel", targets: ["echo-kernel"]),
        .executable(name: "gateway-bench", targets: ["gateway-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .systemLibrary(name: "CHTTPParser", path: "Sources/CHTTPParser"),
        .systemLibrary(name: "CWslay", path: "Sources/CWslay"),
        .target(name: "CLinuxShim", path: "Sources/CLinuxShim"),
        // Counting malloc/free replacements; link into gateway-bench only (it interposes the process allocator).
        .target(name: "CAllocCounter", path: "Sources/CAllocCounter"),

        .target(name: "Basics", swiftSettings: strict),
        .target(name: "Logging", dependencies: ["Basics"], swiftSettings: strict),
        .target(name: "JSONValue", swiftSettings: strict),
        .target(name: "ResourceLimits", dependencies: ["JSONValue"], swiftSettings: strict),
        .target(name: "JupyterProtocol", dependencies: ["Basics", "CCrypto"], swiftSettings: strict),
        .target(name: "Authorization", dependencies: ["Basics", "JSONValue", "JupyterProtocol", "ResourceLimits", "CCrypto"], swiftSettings: strict),
        .target(name: "EventLoop", dependencies: ["CLinuxShim"], swiftSettings: strict),
        .target(name: "ControlGroups", dependencies: ["Basics", "ResourceLimits"], swiftSettings: strict),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: strict),
        .target(name: "ZMTP", dependencies: ["EventLoop", "CLinuxShim"], swiftSettings: strict),
        .target(name: "ChildProcesses", dependencies: ["EventLoop", "CLinuxShim"], swiftSettings: strict),
        .target(name: "HTTPServer", dependencies: ["EventLoop", "Logging", "CHTTPParser", "CWslay", "CCrypto", "CLinuxShim"], swiftSettings: strict),
        .target(
            name: "KernelRuntime",
            dependencies: ["Basics", "JSONValue", "EventLoop", "ZMTP", "ChildProcesses", "Logging", "JupyterProtocol",
                           "ResourceLimits", "ControlGroups", "CLinuxShim"],
            swiftSettings: strict),
        .target(name: "Gateway", dependencies: ["Basics", "JSONValue", "Logging", "HTTPServer", "KernelRuntime", "Authorization", "JupyterProtocol", "EventLoop", "ResourceLimits", "ControlGroups"], swiftSettings: strict),

        .executableTarget(name: "kernel-gateway", dependencies: ["Basics", "Gateway"], swiftSettings: strict),
        .executableTarget(name: "echo-kernel", dependencies: ["Basics", "EventLoop", "JupyterProtocol", "CZeroMQ"], swiftSettings: strict),
        .executableTarget(
            name: "gateway-bench",
            dependencies: ["Basics", "Gateway", "JupyterProtocol", "Authorization", "EventLoop", "ZeroMQ", "HTTPServer", "KernelRuntime", "CAllocCounter"],
            path: "Benchmarks/gateway-bench", swiftSettings: strict),

        .testTarget(name: "BasicsTests", dependencies: ["Basics"], swiftSettings: strict),
        .testTarget(name: "LoggingTests", dependencies: ["Logging"], swiftSettings: strict),
        .testTarget(name: "JSONValueTests", dependencies: ["JSONValue"], swiftSettings: strict),
        .testTarget(name: "ResourceLimitsTests", dependencies: ["ResourceLimits", "JSONValue"], swiftSettings: strict),
        .testTarget(name: "ControlGroupsTests", dependencies: ["ControlGroups", "ResourceLimits"], swiftSettings: strict),
        .testTarget(name: "JupyterProtocolTests", dependencies: ["JupyterProtocol", "Basics"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "AuthorizationTests", dependencies: ["Authorization", "JupyterProtocol", "ResourceLimits"], swiftSettings: strict),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop"], swiftSettings: strict),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "EventLoop", "CZeroMQ"], swiftSettings: strict),
        .testTarget(name: "ZMTPTests", dependencies: ["ZMTP", "EventLoop", "ZeroMQ", "CZeroMQ"], swiftSettings: strict),
        .testTarget(name: "ChildProcessesTests", dependencies: ["ChildProcesses", "EventLoop"], swiftSettings: strict),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "EventLoop", "Logging"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "KernelRuntimeTests", dependencies: ["Basics", "JSONValue", "KernelRuntime", "JupyterProtocol", "EventLoop", "ResourceLimits"], exclude: ["Fixtures/generate_fixtures.py"], swiftSettings: strict),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Authorization", "JupyterProtocol", "HTTPServer", "KernelRuntime", "ResourceLimits"], swiftSettings: strict),
        .testTarget(name: "EchoKernelTests", dependencies: ["echo-kernel", "Basics", "JupyterProtocol"], swiftSettings: strict),
    ]
)
