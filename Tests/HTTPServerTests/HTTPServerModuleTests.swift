import Testing
@testable import HTTPServer

@Suite struct HTTPServerModuleTests {}
