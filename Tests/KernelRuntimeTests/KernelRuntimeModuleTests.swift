import Testing
@testable import KernelRuntime

@Suite struct KernelRuntimeModuleTests {}
