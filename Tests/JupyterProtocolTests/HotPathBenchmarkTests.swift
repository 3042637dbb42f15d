import CCrypto
import Foundation
import Testing
@testable import JupyterProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Timings for the inbound hot path. Only runs with `JP_BENCH=1`; figures are printed, not asserted
/// (the machine is shared and noisy). Use a release build:
///     JP_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter HotPathBenchmarkTests
/// To count heap allocations, preload a malloc counter that exports `kg_alloc_count` (see docs in the
/// report); without it the allocation column says n/a.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["JP_BENCH"] == "1"))
struct HotPathBenchmarkTests {
    /// A JupyterLab-style execute_request of about 600 bytes (compact JSON.stringify output).
    static let executeRequest: [UInt8] = {
        let code = "import numpy as np\\nx = np.linspace(0, 10, 100)\\nprint(x.mean(), x.std())\\nfor i in range(3):\\n    print(i, \\\"é\\\")"
        let text = "{\"header\":{\"msg_id\":\"f4d1c2a0-3b5e-4f6a-9c8d-7e6f5a4b3c2d\",\"msg_type\":\"execute_request\",\"username\":\"\",\"session\":\"0c9e1f2a-8b7d-4c6e-a5f4-3e2d1c0b9a8f\",\"date\":\"2026-11-24T02:13:45.123Z\",\"version\":\"5.3\"},\"parent_header\":{},\"metadata\":{\"editable\":true,\"slideshow\":{\"slide_type\":\"\"},\"tags\":[],\"deletedCells\":[],\"recordTiming\":false,\"cellId\":\"5b2a9c1e-7d3f-4e8a-b6c4-2f1e0d9c8b7a\"},\"content\":{\"silent\":false,\"store_history\":true,\"user_expressions\":{},\"allow_stdin\":true,\"stop_on_error\":true,\"code\":\"\(code)\"},\"buffers\":[],\"channel\":\"shell\"}"
        return Array(text.utf8)
    }()

    typealias Counter = @convention(c) () -> UInt64
    static let allocCounter: Counter? = {
        guard let global = dlopen(nil, RTLD_NOW), let symbol = dlsym(global, "kg_alloc_count") else { return nil }
        return unsafeBitCast(symbol, to: Counter.self)
    }()

    func measure(_ name: String, iterations: Int = 200_000, _ body: () throws -> Void) rethrows {
        for _ in 0..<1000 { try body() }
        let allocsBefore = HotPathBenchmarkTests.allocCounter?() ?? 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        let allocs = HotPathBenchmarkTests.allocCounter.map { c -> String in
            String(format: "%.2f", Double(c() - allocsBefore) / Double(iterations))
        } ?? "n/a"
        print(String(format: "BENCH %-44@ %8.1f ns/op  allocs/op %@", name as NSString, Double(elapsed) / Double(iterations), allocs))
    }

    @Test func inboundHotPath() throws {
        let frame = HotPathBenchmarkTests.executeRequest
        print("BENCH execute_request size: \(frame.count) bytes")
        let signer = try HMACSigner(key: "6a1d4a43-9b2c-4bd4-8a0e-5c1f2d3e4f50")
        let user = JSONStringLiteral("alice")
        var scratch: [UInt8] = []
        scratch.reserveCapacity(4096)
        var sink = 0
        try frame.withUnsafeBytes { raw in
            try measure("legacy text decode (validating)") {
                sink &+= try LegacyWebSocketCodec.decode(text: raw).content.count
            }
            try measure("JSONScanner.validateDocument") {
                sink &+= try JSONScanner(raw).validateDocument().count
            }
            let layout = try LegacyWebSocketCodec.decode(text: raw)
            let parts = layout.parts(in: raw)
            try measure("HMAC sign (reused ctx, EVP_MAC_init NULL key)") {
                sink &+= try signer.sign(parts).count
            }
            measureDuplicateStrategy(parts)
            measureDigestStrategy(parts)
            try measure("username rewrite") {
                scratch.removeAll(keepingCapacity: true)
                sink &+= try HeaderRewriter.replaceUsername(in: raw, fields: layout.headerFields, with: user, into: &scratch).count
            }
            let identity = Array("identity-1234".utf8)
            try identity.withUnsafeBytes { id in
                try measure("FULL inbound: decode+rewrite+sign+frames") {
                    let layout = try LegacyWebSocketCodec.decode(text: raw)
                    scratch.removeAll(keepingCapacity: true)
                    let header = try HeaderRewriter.replaceUsername(in: raw, fields: layout.headerFields, with: user, into: &scratch)
                    try scratch.withUnsafeBytes { rewritten in
                        var parts = layout.parts(in: raw)
                        parts.header = rewritten.slice(header)
                        let signature = try signer.sign(parts)
                        ZMQFrames.forEachFrame(identities: CollectionOfOne(id), signature: signature, parts: parts) { f, _ in sink &+= f.count }
                    }
                }
            }
            var v1: [UInt8] = []
            V1WebSocketCodec.encode(channel: .shell, parts: parts, into: &v1)
            try v1.withUnsafeBytes { v1raw in
                try measure("v1 decode (validating)") { sink &+= try V1WebSocketCodec.decode(v1raw).content.count }
                try measure("v1 decode (header only)") { sink &+= try V1WebSocketCodec.decode(v1raw, validateParts: false).content.count }
            }
            var out: [UInt8] = []
            out.reserveCapacity(4096)
            let fields = try HeaderFields.scan(parts.header)
            try measure("legacy text encode (kernel->client)") {
                out.removeAll(keepingCapacity: true)
                try LegacyWebSocketCodec.encode(channel: .iopub, parts: parts, headerFields: fields, into: &out)
            }
            measure("v1 encode (kernel->client)") {
                out.removeAll(keepingCapacity: true)
                V1WebSocketCodec.encode(channel: .iopub, parts: parts, into: &out)
            }
            try measure("HeaderFields.scan (kernel header)") { sink &+= try HeaderFields.scan(parts.header).memberCount }
        }
        var out2: [UInt8] = []
        measure("MessageHeader.write + MessageID", iterations: 100_000) {
            out2.removeAll(keepingCapacity: true)
            MessageHeader(msgType: "kernel_info_request", username: "gateway", session: "s").write(into: &out2)
        }
        #expect(sink != 0)
    }

    /// The alternative per-message reset: duplicate a keyed template context, use it, free it.
    func measureDuplicateStrategy(_ parts: MessageParts) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil), let template = EVP_MAC_CTX_new(mac) else { return }
        defer { EVP_MAC_CTX_free(template); EVP_MAC_free(mac) }
        var digestName = Array("SHA256".utf8CString)
        let key = Array("6a1d4a43-9b2c-4bd4-8a0e-5c1f2d3e4f50".utf8)
        _ = digestName.withUnsafeMutableBufferPointer { d in
            "digest".withCString { name in
                var params = [OSSL_PARAM_construct_utf8_string(name, d.baseAddress, 0), OSSL_PARAM_construct_end()]
                return EVP_MAC_init(template, key, key.count, &params)
            }
        }
        var out = [UInt8](repeating: 0, count: 32)
        measure("HMAC sign (EVP_MAC_CTX_dup per message)") {
            guard let ctx = EVP_MAC_CTX_dup(template) else { return }
            for p in [parts.header, parts.parentHeader, parts.metadata, parts.content] {
                _ = EVP_MAC_update(ctx, p.baseAddress?.assumingMemoryBound(to: UInt8.self), p.count)
            }
            var n = 0
            _ = EVP_MAC_final(ctx, &out, &n, 32)
            EVP_MAC_CTX_free(ctx)
        }
    }

    /// Another alternative: HMAC by hand over two reused EVP_MD_CTX (re-initialised, re-absorbing the
    /// 64-byte padded key block each time).
    func measureDigestStrategy(_ parts: MessageParts) {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil), let inner = EVP_MD_CTX_new(), let outer = EVP_MD_CTX_new() else { return }
        defer { EVP_MD_CTX_free(inner); EVP_MD_CTX_free(outer); EVP_MD_free(md) }
        let key = Array("6a1d4a43-9b2c-4bd4-8a0e-5c1f2d3e4f50".utf8) + [UInt8](repeating: 0, count: 64 - 36)
        let ipad = key.map { $0 ^ 0x36 }
        let opad = key.map { $0 ^ 0x5C }
        _ = EVP_DigestInit_ex2(inner, md, nil)
        _ = EVP_DigestInit_ex2(outer, md, nil)
        var innerHash = [UInt8](repeating: 0, count: 32)
        var out = [UInt8](repeating: 0, count: 32)
        measure("HMAC sign (2 reused EVP_MD_CTX, manual HMAC)") {
            var n: UInt32 = 0
            _ = EVP_DigestInit_ex2(inner, nil, nil)
            _ = EVP_DigestUpdate(inner, ipad, 64)
            for p in [parts.header, parts.parentHeader, parts.metadata, parts.content] {
                _ = EVP_DigestUpdate(inner, p.baseAddress, p.count)
            }
            _ = EVP_DigestFinal_ex(inner, &innerHash, &n)
            _ = EVP_DigestInit_ex2(outer, nil, nil)
            _ = EVP_DigestUpdate(outer, opad, 64)
            _ = EVP_DigestUpdate(outer, innerHash, 32)
            _ = EVP_DigestFinal_ex(outer, &out, &n)
        }
    }
}
