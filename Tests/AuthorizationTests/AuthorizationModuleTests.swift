import Testing
@testable import Authorization

@Suite struct AuthorizationModuleTests {}
