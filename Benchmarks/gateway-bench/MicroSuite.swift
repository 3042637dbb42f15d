import Authorization
import Foundation
import Gateway
import HTTPServer
import JupyterProtocol

/// Builds the fixed micro-benchmark scenarios and checks, before anything is timed, that each path does
/// what it claims (a forwarded message has the expected frames, a tampered reply is rejected, a viewer is
/// denied), so a broken fixture cannot produce a fast but meaningless figure.
struct MicroSuite {
    let benchmarks: [MicroBenchmark]
    /// Owners of the memory the benchmark bodies borrow (bodies capture views, not always their owner).
    private let owners: [AnyObject]

    init() throws {
        let signer = try HMACSigner(key: BenchMessages.key)
        let policy = Policy.default
        let alice = Identity(username: BenchMessages.username, roles: ["user"])
        let access = KernelAccess(owner: BenchMessages.username)

        let legacyText = StableBytes(BenchMessages.legacyTextRequest)
        let v1 = StableBytes(BenchMessages.v1Request)
        let legacyBinary = StableBytes(BenchMessages.legacyBinaryComm)
        let replyFrames = try FrameList(BenchMessages.replyFrames(signer: signer))
        let streamFrames = try FrameList(BenchMessages.streamFrames(signer: signer))
        let request = try RequestParts()

        try MicroSuite.validate(
            signer: signer, policy: policy, alice: alice, access: access, legacyText: legacyText, v1: v1,
            legacyBinary: legacyBinary, replyFrames: replyFrames, streamFrames: streamFrames, request: request)

        var list: [MicroBenchmark] = []

        // 1-2. Whole inbound path.
        let inbound = InboundPipeline(signer: signer, identity: alice, policy: policy, access: access)
        let inboundNote = "decode + header scan + permission check + username rewrite + sign + ZMQ frame layout (copied)"
        for (name, frame, format) in [
            ("inbound.legacy-text", legacyText, InboundPipeline.Format.legacyText),
            ("inbound.v1", v1, .v1),
            ("inbound.legacy-binary-2buf", legacyBinary, .legacyBinary),
        ] {
            list.append(MicroBenchmark(group: "inbound", name: name, bytes: frame.bytes.count, note: inboundNote) { n in
                var sum = 0
                for _ in 0..<n {
                    if case .forwarded(let bytes) = try inbound.forward(frame.bytes, format: format) { sum &+= bytes }
                }
                return sum
            })
        }

        // Ablation: the same path with signing disabled (empty key), to separate OpenSSL's cost and
        // allocations from the byte-level work.
        let unsigned = try InboundPipeline(signer: HMACSigner(key: ""), identity: alice, policy: policy, access: access)
        for (name, frame, format) in [
            ("inbound.legacy-text.no-hmac", legacyText, InboundPipeline.Format.legacyText),
            ("inbound.v1.no-hmac", v1, .v1),
        ] {
            list.append(MicroBenchmark(
                group: "inbound", name: name, bytes: frame.bytes.count, note: "ablation: the same path with an empty key (no HMAC)"
            ) { n in
                var sum = 0
                for _ in 0..<n {
                    if case .forwarded(let bytes) = try unsigned.forward(frame.bytes, format: format) { sum &+= bytes }
                }
                return sum
            })
        }

        // 3. Whole outbound path.
        let outbound = OutboundPipeline(signer: signer)
        for (name, frames, channel, format) in [
            ("outbound.execute_reply.v1", replyFrames, Channel.shell, OutboundPipeline.Format.v1),
            ("outbound.execute_reply.legacy", replyFrames, .shell, .legacy),
            ("outbound.iopub-stream.v1", streamFrames, .iopub, .v1),
            ("outbound.iopub-stream.legacy", streamFrames, .iopub, .legacy),
        ] {
            let note = "frame layout + verify + " + (format == .v1 ? "v1 encode" : "header scan + legacy JSON encode")
            list.append(MicroBenchmark(group: "outbound", name: name, bytes: frames.totalBytes, note: note) { n in
                try MicroBenchmark.sum(n) { try outbound.relay(frames.views, channel: channel, format: format) ?? 0 }
            })
        }

        // The same paths with the channel bridge's real routing: `ChannelRouter` (through its package API)
        // deciding and routing as `ChannelHub` calls it.
        list += try MicroSuite.router(
            signer: signer, policy: policy, alice: alice, access: access, legacyText: legacyText, v1: v1,
            replyFrames: replyFrames, expectedInbound: 9 + HMACSignature.hexLength + request.signedBytes)

        // 4. Pieces.
        list += MicroSuite.pieces(
            signer: signer, policy: policy, alice: alice, access: access, legacyText: legacyText, v1: v1,
            legacyBinary: legacyBinary, replyFrames: replyFrames, request: request)

        // 5. What the byte-level path avoids.
        let data = Data(legacyText.bytes)
        list.append(MicroBenchmark(
            group: "foundation", name: "foundation.JSONSerialization.parse", bytes: data.count,
            note: "JSONSerialization.jsonObject of the legacy text frame (a full tree)"
        ) { n in
            try MicroBenchmark.sum(n) { (try JSONSerialization.jsonObject(with: data) as? [String: Any])?.count ?? 0 }
        })
        list.append(MicroBenchmark(
            group: "foundation", name: "foundation.JSONSerialization.parse+rewrite+serialize", bytes: data.count,
            note: "parse, set header.username, serialize again (a naive gateway's rewrite)"
        ) { n in
            var sum = 0
            for _ in 0..<n {
                guard var message = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                    var header = message["header"] as? [String: Any]
                else { throw BenchError("JSONSerialization did not return an object") }
                header["username"] = BenchMessages.username
                message["header"] = header
                sum &+= try JSONSerialization.data(withJSONObject: message).count
            }
            return sum
        })
        benchmarks = list
        owners = [legacyText, v1, legacyBinary, replyFrames, streamFrames, request]
    }

    // MARK: Router

    private static func router(
        signer: HMACSigner, policy: Policy, alice: Identity, access: KernelAccess, legacyText: StableBytes,
        v1: StableBytes, replyFrames: FrameList, expectedInbound: Int
    ) throws -> [MicroBenchmark] {
        var list: [MicroBenchmark] = []
        let requestID = "6f1c9b2e-8a4d-4c3f-b1e7-0d9a5f2c8e41"  // the request fixture's msg_id, the reply's parent
        let inboundNote = "decode + msg_id String + ChannelRouter.receive (permission check) + username rewrite + sign + frames + sendCompleted (pending insert) + reply route (pending remove)"
        for (name, frame, format) in [
            ("router.inbound.legacy-text", legacyText, InboundPipeline.Format.legacyText),
            ("router.inbound.v1", v1, .v1),
        ] {
            let path = try RouterPath(signer: signer, identity: alice, policy: policy, access: access)
            guard try path.forward(frame.bytes, format: format) == expectedInbound else {
                throw BenchError("\(name): the router path did not forward the request as \(expectedInbound) bytes of frames")
            }
            list.append(MicroBenchmark(group: "router", name: name, bytes: frame.bytes.count, note: inboundNote) { n in
                try MicroBenchmark.sum(n) { try path.forward(frame.bytes, format: format) }
            })
        }

        for (name, format) in [
            ("router.outbound.execute_reply.v1", WebSocketSubprotocol.v1),
            ("router.outbound.execute_reply.legacy", .legacy),
        ] {
            let path = try RouterPath(signer: signer, identity: alice, policy: policy, access: access, format: format)
            try path.recordRequest(msgID: requestID)
            guard try path.relay(replyFrames.views, channel: .shell) > 0, try path.relay(replyFrames.views, channel: .shell) > 0
            else { throw BenchError("\(name): the router did not route the reply to its request") }
            let decoded = try format == .v1 ? V1WebSocketCodec.decode(path.out).channel : LegacyWebSocketCodec.decode(text: path.out).channel
            guard decoded == .shell else { throw BenchError("\(name): the routed reply does not decode") }
            list.append(MicroBenchmark(
                group: "router", name: name, bytes: replyFrames.totalBytes,
                note: "layout + verify + header scan + parent msg_id String + ChannelRouter.kernelMessage + "
                    + (format == .v1 ? "v1 encode" : "legacy encode") + " + request recorded again (pending insert)"
            ) { n in
                try MicroBenchmark.sum(n) { try path.relay(replyFrames.views, channel: .shell) }
            })
        }

        let fanOut = try RouterPath(signer: signer, identity: alice, policy: policy, access: access, extraReaders: 7)
        guard fanOut.iopubRoute() == 8 else { throw BenchError("the router did not list 8 iopub readers") }
        list.append(MicroBenchmark(
            group: "router", name: "router.iopub-route.8-readers", bytes: 0,
            note: "ChannelRouter.iopubReaders (8 connections, permission level each) + collectIOPub (none parked)"
        ) { n in
            MicroBenchmark.sum(n) { fanOut.iopubRoute() }
        })

        let bookkeeping = try RouterPath(signer: signer, identity: alice, policy: policy, access: access)
        let type = StableBytes(Array("execute_request".utf8))
        let message = ChannelRouter.ClientMessage(channel: .shell, msgType: type.bytes, msgID: requestID)
        guard bookkeeping.requestReply(message) == Int(RouterPath.connection) else {
            throw BenchError("the router did not forward and route the request")
        }
        list.append(MicroBenchmark(
            group: "router", name: "router.request-reply", bytes: 0,
            note: "ChannelRouter.receive + sendCompleted + kernelMessage for one request and its reply (message already read)"
        ) { n in
            withExtendedLifetime(type) { MicroBenchmark.sum(n) { bookkeeping.requestReply(message) } }
        })

        // A viewer with a read grant is refused execute_request by the router.
        var shared = access
        shared.setGrant(.read, for: "bob")
        let viewer = try RouterPath(signer: signer, identity: Identity(username: "bob", roles: ["viewer"]), policy: policy,
                                    access: shared)
        guard try viewer.forward(legacyText.bytes, format: .legacyText) == 0 else {
            throw BenchError("the router forwarded a viewer's execute_request")
        }
        return list
    }

    // MARK: Pieces

    private static func pieces(
        signer: HMACSigner, policy: Policy, alice: Identity, access: KernelAccess, legacyText: StableBytes,
        v1: StableBytes, legacyBinary: StableBytes, replyFrames: FrameList, request: RequestParts
    ) -> [MicroBenchmark] {
        var list: [MicroBenchmark] = []
        func add(_ name: String, _ bytes: Int, _ note: String, _ body: @escaping (Int) throws -> Int) {
            list.append(MicroBenchmark(group: "piece", name: name, bytes: bytes, note: note, body: body))
        }
        let replyParts = replyFrames.parts
        let replySignature = replyFrames.views[replyFrames.layout.signature]

        add("scan.header", request.header.bytes.count, "HeaderFields.scan of the request header (msg_id, msg_type, session, username)") { n in
            try MicroBenchmark.sum(n) { try HeaderFields.scan(request.header.bytes).object.upperBound }
        }
        add("scan.parent-header", replyParts.parentHeader.count, "HeaderFields.scan of an execute_reply parent_header (routing key)") { n in
            try MicroBenchmark.sum(n) { try HeaderFields.scan(replyParts.parentHeader).object.upperBound }
        }
        add("decode.legacy-text", legacyText.bytes.count, "LegacyWebSocketCodec.decode(text:), whole frame validated") { n in
            try MicroBenchmark.sum(n) { try LegacyWebSocketCodec.decode(text: legacyText.bytes).content.upperBound }
        }
        add("decode.v1", v1.bytes.count, "V1WebSocketCodec.decode, parts validated") { n in
            try MicroBenchmark.sum(n) { try V1WebSocketCodec.decode(v1.bytes).content.upperBound }
        }
        add("decode.v1.no-validate", v1.bytes.count, "V1WebSocketCodec.decode(validateParts: false): header scan only") { n in
            try MicroBenchmark.sum(n) { try V1WebSocketCodec.decode(v1.bytes, validateParts: false).content.upperBound }
        }
        add("decode.legacy-binary-2buf", legacyBinary.bytes.count, "LegacyWebSocketCodec.decode(binary:), 2 x 1 KiB buffers") { n in
            try MicroBenchmark.sum(n) { try LegacyWebSocketCodec.decode(binary: legacyBinary.bytes).buffers.count }
        }

        add("ws.utf8-validate", legacyText.bytes.count, "HTTPServer UTF8Validator.isValid of the legacy text frame (the WebSocket layer's pass)") { n in
            var sum = 0
            for _ in 0..<n where UTF8Validator.isValid(legacyText.bytes) { sum &+= 1 }
            return sum
        }

        let out = Box<[UInt8]>([])
        out.value.reserveCapacity(16 * 1024)
        add("encode.legacy-text", replyFrames.totalBytes, "LegacyWebSocketCodec.encode of the execute_reply (scans its header)") { n in
            try out.sumFilling(n) { buffer in
                try LegacyWebSocketCodec.encode(channel: .shell, parts: replyParts, into: &buffer)
                return buffer.count
            }
        }
        add("encode.v1", replyFrames.totalBytes, "V1WebSocketCodec.encode of the execute_reply") { n in
            out.sumFilling(n) { buffer in
                V1WebSocketCodec.encode(channel: .shell, parts: replyParts, into: &buffer)
                return buffer.count
            }
        }
        let binaryParts = (try? LegacyWebSocketCodec.decode(binary: legacyBinary.bytes))?.parts(in: legacyBinary.bytes)
        add("encode.legacy-binary-2buf", legacyBinary.bytes.count, "LegacyWebSocketCodec.encode, 2 x 1 KiB buffers") { n in
            guard let parts = binaryParts else { throw BenchError("the legacy binary fixture does not decode") }
            return try out.sumFilling(n) { buffer in
                try LegacyWebSocketCodec.encode(channel: .shell, parts: parts, into: &buffer)
                return buffer.count
            }
        }

        let literal = JSONStringLiteral(alice.username)
        for (name, header, note) in [
            ("rewrite.username-replace", request.header, "HeaderRewriter: replace the client's username"),
            ("rewrite.username-insert", request.headerWithoutUsername, "HeaderRewriter: insert a missing username"),
        ] {
            add(name, header.bytes.count, note) { n in
                let fields = try HeaderFields.scan(header.bytes)
                return try out.sumFilling(n) { buffer in
                    try HeaderRewriter.replaceUsername(in: header.bytes, fields: fields, with: literal, into: &buffer).count
                }
            }
        }

        let requestParts = request.parts
        add("hmac.sign", request.signedBytes, "HMACSigner.sign of the request's four dicts (reused EVP_MAC_CTX)") { n in
            try MicroBenchmark.sum(n) { try signer.sign(requestParts).count }
        }
        add("hmac.verify", replyFrames.signedBytes, "HMACSigner.verify of the execute_reply") { n in
            var sum = 0
            for _ in 0..<n where signer.verify(replySignature, parts: replyParts) { sum &+= 1 }
            return sum
        }

        // Four message types in rotation so the lookup cannot be hoisted out of the loop.
        let types = ["execute_request", "kernel_info_request", "comm_msg", "complete_request"].map(StableBytes.init)
        let views = types.map(\.bytes)
        let cache = Box(ChannelPermissionCache(policy: policy, identity: alice))
        let accessBox = Box(access)
        add("permission.check", 0, "ChannelPermissionCache.check, cached level (rule lookup + compare), 4 msg types rotating") { n in
            var local = cache.take()
            defer { cache.value = local }
            let record = accessBox.value
            var sum = 0
            for i in 0..<n {
                let decision = local.check(msgType: views[i & 3], generation: record.generation) { record }
                if decision.isAllowed { sum &+= 1 }
            }
            _ = types
            return sum
        }
        add("permission.rule-lookup", 0, "ChannelRuleTable.requiredLevel alone, 4 msg types rotating") { n in
            let table = policy.channelRules
            var sum = 0
            for i in 0..<n { sum &+= Int(table.requiredLevel(msgType: views[i & 3]).rawValue) }
            _ = types
            return sum
        }
        add("permission.check-after-grant-change", 0, "check when KernelAccess.generation changed every message (recompute)") { n in
            var local = cache.take()
            defer { cache.value = local }
            var record = accessBox.value
            defer { accessBox.value = record }
            var sum = 0
            for i in 0..<n {
                record.invalidate()
                let decision = local.check(msgType: views[i & 3], generation: record.generation) { record }
                if decision.isAllowed { sum &+= 1 }
            }
            _ = types
            return sum
        }

        let signature = (try? signer.sign(requestParts)) ?? .empty
        add("zmq.frames", request.signedBytes, "ZMQFrames.forEachFrame, frames copied into a reused buffer") { n in
            out.sumFilling(n) { buffer in
                ZMQFrames.forEachFrame(identities: EmptyCollection<UnsafeRawBufferPointer>(), signature: signature, parts: requestParts) { frame, _ in
                    buffer.append(contentsOf: frame)
                }
                return buffer.count
            }
        }
        add("zmq.layout-parse", replyFrames.totalBytes, "ZMQFrameLayout.parse + parts(of:) of the execute_reply frames") { n in
            var sum = 0
            for _ in 0..<n {
                let layout = try ZMQFrameLayout.parse(frameCount: replyFrames.views.count) { replyFrames.views[$0] }
                sum &+= layout.parts(of: replyFrames.views).content.count
            }
            return sum
        }
        return list
    }

    // MARK: Validation

    private static func validate(
        signer: HMACSigner, policy: Policy, alice: Identity, access: KernelAccess, legacyText: StableBytes,
        v1: StableBytes, legacyBinary: StableBytes, replyFrames: FrameList, streamFrames: FrameList,
        request: RequestParts
    ) throws {
        // Inbound: the frames carry the request's dicts plus delimiter and signature, and the staged
        // signature verifies against the rewritten header (same length: the user name is unchanged).
        let inbound = InboundPipeline(signer: signer, identity: alice, policy: policy, access: access)
        let expected = 9 + HMACSignature.hexLength + request.signedBytes
        for (frame, format) in [(legacyText, InboundPipeline.Format.legacyText), (v1, .v1)] {
            let outcome = try inbound.forward(frame.bytes, format: format)
            guard outcome == .forwarded(bytes: expected) else {
                throw BenchError("inbound \(format) gave \(outcome), expected \(expected) bytes of frames")
            }
            let staged = inbound.zmqStaging
            let signatureRange = 9..<(9 + HMACSignature.hexLength)
            guard Array(staged[0..<9]) == Array(ZMQFrames.delimiterBytes),
                staged.withUnsafeBytes({ signer.verify(UnsafeRawBufferPointer(rebasing: $0[signatureRange]), parts: request.parts) })
            else { throw BenchError("inbound \(format) staged frames do not verify") }
        }
        guard case .forwarded = try inbound.forward(legacyBinary.bytes, format: .legacyBinary) else {
            throw BenchError("inbound legacy binary was not forwarded")
        }
        // A viewer with a read grant must be refused execute_request.
        var shared = access
        shared.setGrant(.read, for: "bob")
        let viewer = InboundPipeline(
            signer: signer, identity: Identity(username: "bob", roles: ["viewer"]), policy: policy, access: shared)
        guard try viewer.forward(legacyText.bytes, format: .legacyText) == .denied else {
            throw BenchError("a viewer's execute_request was forwarded")
        }

        // Outbound: valid replies relay and decode back; a tampered signature is refused.
        let outbound = OutboundPipeline(signer: signer)
        for (frames, channel) in [(replyFrames, Channel.shell), (streamFrames, Channel.iopub)] {
            guard try outbound.relay(frames.views, channel: channel, format: .v1) != nil,
                try V1WebSocketCodec.decode(outbound.out).channel == channel,
                try outbound.relay(frames.views, channel: channel, format: .legacy) != nil,
                try LegacyWebSocketCodec.decode(text: outbound.out).channel == channel
            else { throw BenchError("outbound relay of a \(channel) message failed") }
        }
        var tampered = replyFrames.owned
        tampered[replyFrames.layout.signature][0] ^= 1
        let tamperedList = try FrameList(tampered)
        let relayed = try withExtendedLifetime(tamperedList) {
            try outbound.relay(tamperedList.views, channel: .shell, format: .v1)
        }
        guard relayed == nil else { throw BenchError("a tampered execute_reply verified") }
    }
}

/// A failed benchmark precondition.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A mutable value shared by a benchmark body and its setup (bodies copy it to a local for the loop).
final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

extension Box where Value == [UInt8] {
    /// Moves the array out (leaving an empty one) so the caller's copy is unique and mutating it does not
    /// trigger a copy-on-write allocation.
    func take() -> [UInt8] {
        var moved: [UInt8] = []
        swap(&moved, &value)
        return moved
    }

    /// The wrapping sum of `fill(&buffer)` over `iterations` calls, the buffer emptied (capacity kept) before
    /// each: the loop of the encoding bodies. The array is moved out for the loop and put back after. Always
    /// inlined, like `MicroBenchmark.sum`.
    @inline(__always)
    func sumFilling(_ iterations: Int, _ fill: (inout [UInt8]) throws -> Int) rethrows -> Int {
        var buffer = take()
        defer { value = buffer }
        var sum = 0
        for _ in 0..<iterations {
            buffer.removeAll(keepingCapacity: true)
            sum &+= try fill(&buffer)
        }
        return sum
    }
}

extension Box where Value == ChannelPermissionCache {
    /// The cache for a benchmark loop; it holds only shared immutable arrays, so copying does not allocate.
    func take() -> ChannelPermissionCache { value }
}
