import Glibc
import HTTPServer

/// Client-side RFC 6455 framing for the load generator, sans-I/O.
///
/// Outbound: every frame is masked with a fresh 4-byte key (section 5.3) taken from a buffer refilled with
/// `getrandom`, so keys come from the kernel's entropy source at one syscall per 1024 frames. Inbound: server
/// frames must be unmasked, RSV bits zero (no extension is negotiated), opcodes known, control frames at most
/// 125 bytes and unfragmented, continuation frames only inside a fragmented message, text valid UTF-8, messages
/// at most `maxMessageBytes`. A ping queues a pong with the same payload; a close frame is echoed (once) and
/// reported. Any violation throws `ClientWebSocketError` and the caller closes the connection with the code it
/// names (the benchmark counts it as an error).
///
/// Hot path: a whole frame inside the chunk given to `receive` is handed to the handler in place (no copy);
/// only frames split across reads are buffered. Not thread-safe: owned by one connection on one loop thread.
final class ClientWebSocketCodec {
    /// What a complete inbound message or control frame amounted to. Payload pointers are valid only during the
    /// handler call.
    enum Event {
        case text(UnsafeRawBufferPointer)
        case binary(UnsafeRawBufferPointer)
        case pong(UnsafeRawBufferPointer)
        /// The server's close frame; `code` is nil when the frame had none. The echo is already queued.
        case close(code: UInt16?)
    }

    let maxMessageBytes: Int
    /// Frames waiting to be written (masked); the owner writes and then calls `clearOutput` / `consumeOutput`.
    private(set) var output: [UInt8] = []
    private(set) var closeSent = false
    private(set) var closeReceived = false

    private var pending: [UInt8] = []
    private var fragments: [UInt8] = []
    private var fragmentOpcode: UInt8 = 0
    private var inFragmentedMessage = false
    private var maskPool = [UInt8](repeating: 0, count: 4096)
    private var maskOffset = 4096
    /// One descriptor for the process, never closed: key material comes from the kernel's CSPRNG, 4 KiB per read.
    private static let urandom: Int32 = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    init(maxMessageBytes: Int = 64 << 20) {
        self.maxMessageBytes = maxMessageBytes
    }

    // MARK: - Outbound

    /// Appends one masked, unfragmented frame with `opcode` (0x1 text, 0x2 binary, 0x8 close, 0x9 ping, 0xA pong).
    func appendFrame(opcode: UInt8, payload: UnsafeRawBufferPointer) {
        let length = payload.count
        output.append(0x80 | opcode)
        if length < 126 {
            output.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            output.append(0x80 | 126)
            output.append(UInt8(length >> 8))
            output.append(UInt8(length & 0xFF))
        } else {
            output.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { output.append(UInt8((UInt64(length) >> UInt64(shift)) & 0xFF)) }
        }
        let key = nextMaskKey()
        withUnsafeBytes(of: key) { output.append(contentsOf: $0) }
        let start = output.count
        output.append(contentsOf: payload)
        output.withUnsafeMutableBytes { raw in
            Self.mask(UnsafeMutableRawBufferPointer(rebasing: raw[start...]), key: key)
        }
    }

    /// Appends a masked text frame.
    func appendText(_ payload: UnsafeRawBufferPointer) { appendFrame(opcode: 0x1, payload: payload) }

    /// Appends a masked binary frame.
    func appendBinary(_ payload: UnsafeRawBufferPointer) { appendFrame(opcode: 0x2, payload: payload) }

    /// Queues our close frame (once); later calls do nothing.
    func appendClose(code: UInt16 = 1000) {
        guard !closeSent else { return }
        closeSent = true
        let bytes: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
        bytes.withUnsafeBytes { appendFrame(opcode: 0x8, payload: $0) }
    }

    /// Drops the first `count` output bytes (they were written).
    func consumeOutput(_ count: Int) {
        if count >= output.count { output.removeAll(keepingCapacity: true) } else { output.removeFirst(count) }
    }

    private func nextMaskKey() -> UInt32 {
        if maskOffset + 4 > maskPool.count {
            let filled = maskPool.withUnsafeMutableBytes { Glibc.read(Self.urandom, $0.baseAddress, $0.count) }
            if filled != maskPool.count {
                // /dev/urandom reads of this size do not fail short in practice; fall back to the stdlib generator
                // (also kernel-seeded) rather than reuse keys.
                var generator = SystemRandomNumberGenerator()
                for i in 0..<maskPool.count { maskPool[i] = generator.next() }
            }
            maskOffset = 0
        }
        let key = maskPool.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: maskOffset, as: UInt32.self) }
        maskOffset += 4
        return key
    }

    /// XORs `bytes` with the 4-byte `key` repeated (key byte i applies to payload byte i mod 4), 8 bytes at a time.
    static func mask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        let wide = UInt64(key) | (UInt64(key) << 32)
        var i = 0
        while i + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: word ^ wide, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        withUnsafeBytes(of: key) { k in
            while i < count {
                base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ k[i & 3], toByteOffset: i, as: UInt8.self)
                i += 1
            }
        }
    }

    // MARK: - Inbound

    /// Parses `chunk` (bytes read from the server) and calls `handler` for each complete message or control
    /// frame, in order. Throws on the first protocol violation; nothing after it is reported.
    func receive(_ chunk: UnsafeRawBufferPointer, _ handler: (Event) -> Void) throws(ClientWebSocketError) {
        guard !closeReceived, chunk.count > 0 else { return }
        if pending.isEmpty {
            let used = try parseFrames(chunk, handler)
            if used < chunk.count && !closeReceived { pending.append(contentsOf: chunk[used...]) }
            return
        }
        pending.append(contentsOf: chunk)
        // Parse from a copy: handlers must not see `pending` mutate underneath them.
        let buffered = pending
        pending.removeAll(keepingCapacity: true)
        var outcome: Result<Int, ClientWebSocketError> = .success(0)
        buffered.withUnsafeBytes { raw in
            do throws(ClientWebSocketError) { outcome = .success(try parseFrames(raw, handler)) } catch { outcome = .failure(error) }
        }
        let used = try outcome.get()
        if used < buffered.count && !closeReceived { pending.append(contentsOf: buffered[used...]) }
    }

    /// `receive` for bytes in an array (tests and non-hot paths).
    func receive(_ bytes: [UInt8], _ handler: (Event) -> Void) throws(ClientWebSocketError) {
        var outcome: Result<Void, ClientWebSocketError> = .success(())
        bytes.withUnsafeBytes { raw in
            do throws(ClientWebSocketError) { try receive(raw, handler) } catch { outcome = .failure(error) }
        }
        try outcome.get()
    }

    /// Parses whole frames from the start of `bytes`; returns how many bytes they took.
    private func parseFrames(_ bytes: UnsafeRawBufferPointer, _ handler: (Event) -> Void) throws(ClientWebSocketError) -> Int {
        var offset = 0
        while !closeReceived {
            let available = bytes.count - offset
            guard available >= 2 else { break }
            let b0 = bytes[offset]
            let b1 = bytes[offset + 1]
            guard b0 & 0x70 == 0 else { throw ClientWebSocketError(code: 1002, "reserved bits set") }
            guard b1 & 0x80 == 0 else { throw ClientWebSocketError(code: 1002, "server frame is masked") }
            let fin = b0 & 0x80 != 0
            let opcode = b0 & 0x0F
            var headerLength = 2
            var length = UInt64(b1 & 0x7F)
            if length == 126 {
                guard available >= 4 else { break }
                length = UInt64(bytes[offset + 2]) << 8 | UInt64(bytes[offset + 3])
                headerLength = 4
            } else if length == 127 {
                guard available >= 10 else { break }
                length = 0
                for i in 2..<10 { length = length << 8 | UInt64(bytes[offset + i]) }
                guard length >> 63 == 0 else { throw ClientWebSocketError(code: 1002, "64-bit length with the top bit set") }
                headerLength = 10
            }
            let isControl = opcode & 0x8 != 0
            if isControl {
                guard length <= 125 else { throw ClientWebSocketError(code: 1002, "control frame longer than 125 bytes") }
                guard fin else { throw ClientWebSocketError(code: 1002, "fragmented control frame") }
            } else if length > UInt64(maxMessageBytes) {
                throw ClientWebSocketError(code: 1009, "frame of \(length) bytes exceeds the message limit")
            }
            guard UInt64(available - headerLength) >= length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerLength)..<(offset + headerLength + Int(length))])
            offset += headerLength + Int(length)
            try frame(opcode: opcode, fin: fin, payload: payload, handler)
        }
        return offset
    }

    private func frame(opcode: UInt8, fin: Bool, payload: UnsafeRawBufferPointer, _ handler: (Event) -> Void) throws(ClientWebSocketError) {
        switch opcode {
        case 0x0:
            guard inFragmentedMessage else { throw ClientWebSocketError(code: 1002, "continuation without a message") }
            guard fragments.count + payload.count <= maxMessageBytes else {
                throw ClientWebSocketError(code: 1009, "fragmented message exceeds the message limit")
            }
            fragments.append(contentsOf: payload)
            if fin {
                inFragmentedMessage = false
                let message = fragments
                fragments.removeAll(keepingCapacity: true)
                var outcome: Result<Void, ClientWebSocketError> = .success(())
                message.withUnsafeBytes { raw in
                    do throws(ClientWebSocketError) { try deliver(opcode: fragmentOpcode, raw, handler) } catch { outcome = .failure(error) }
                }
                try outcome.get()
            }
        case 0x1, 0x2:
            guard !inFragmentedMessage else { throw ClientWebSocketError(code: 1002, "new message inside a fragmented one") }
            if fin {
                try deliver(opcode: opcode, payload, handler)
            } else {
                inFragmentedMessage = true
                fragmentOpcode = opcode
                fragments.append(contentsOf: payload)
            }
        case 0x8:
            guard payload.count != 1 else { throw ClientWebSocketError(code: 1002, "close frame with a 1-byte payload") }
            var code: UInt16?
            if payload.count >= 2 {
                code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                guard UTF8Validator.isValid(UnsafeRawBufferPointer(rebasing: payload[2...])) else {
                    throw ClientWebSocketError(code: 1007, "close reason is not UTF-8")
                }
            }
            closeReceived = true
            appendClose(code: code ?? 1000)
            handler(.close(code: code))
        case 0x9:
            appendFrame(opcode: 0xA, payload: payload)
        case 0xA:
            handler(.pong(payload))
        default:
            throw ClientWebSocketError(code: 1002, "unknown opcode \(opcode)")
        }
    }

    private func deliver(opcode: UInt8, _ payload: UnsafeRawBufferPointer, _ handler: (Event) -> Void) throws(ClientWebSocketError) {
        if opcode == 0x1 {
            guard UTF8Validator.isValid(payload) else { throw ClientWebSocketError(code: 1007, "text message is not UTF-8") }
            handler(.text(payload))
        } else {
            handler(.binary(payload))
        }
    }
}
