import Testing
@testable import EventLoop

@Suite struct EventLoopModuleTests {}
