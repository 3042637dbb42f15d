import Testing
@testable import JupyterProtocol

@Suite struct JupyterProtocolModuleTests {}
