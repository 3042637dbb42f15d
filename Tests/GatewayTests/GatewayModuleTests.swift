import Testing
@testable import Gateway

@Suite struct GatewayModuleTests {}
