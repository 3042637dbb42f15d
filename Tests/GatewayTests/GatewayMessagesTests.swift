import Foundation
import JupyterProtocol
import Testing
@testable import Gateway

@Suite struct GatewayMessagesTests {
    func decodeLegacy(_ message: GatewayMessages.Message) throws -> [String: Any] {
        var out: [UInt8] = []
        let kind = message.encode(.legacy, into: &out)
        #expect(kind == .text)
        return try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
    }

    @Test func requestErrorsBecomeRepliesParentedToTheRequest() throws {
        let request = MessageHeader(msgType: "execute_request", username: "u", session: "s").bytes
        let reply = GatewayMessages.errorReply(to: "execute_request", channel: .shell, requestHeader: request,
                                               session: "s", ename: "PermissionDenied", evalue: "no \"way\"")
        let json = try decodeLegacy(reply)
        #expect(json["msg_type"] as? String == "execute_reply")
        #expect(json["channel"] as? String == "shell")
        let content = try #require(json["content"] as? [String: Any])
        #expect(content["status"] as? String == "error")
        #expect(content["ename"] as? String == "PermissionDenied")
        #expect(content["evalue"] as? String == "no \"way\"")
        let parent = try #require(json["parent_header"] as? [String: Any])
        #expect(parent["msg_type"] as? String == "execute_request")
    }

    @Test func nonRequestsGetAnErrorMessageAndIopubErrorsGoToShell() throws {
        let reply = GatewayMessages.errorReply(to: "comm_msg", channel: .iopub, requestHeader: Array("{}".utf8),
                                               session: "s", ename: "ProtocolError", evalue: "x")
        let json = try decodeLegacy(reply)
        #expect(json["msg_type"] as? String == "error")
        #expect(json["channel"] as? String == "shell")
    }

    @Test func statusInBothWireFormats() throws {
        let status = GatewayMessages.status("restarting", session: "kg")
        let json = try decodeLegacy(status)
        #expect((json["content"] as? [String: String])?["execution_state"] == "restarting")
        var v1: [UInt8] = []
        #expect(status.encode(.v1, into: &v1) == .binary)
        let layout = try V1WebSocketCodec.decode(v1)
        #expect(layout.channel == .iopub)
    }
}
