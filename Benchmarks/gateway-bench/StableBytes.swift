/// A byte buffer at a fixed address for the whole life of the object, standing in for memory the gateway
/// borrows (a received WebSocket frame, a `zmq_msg_t`). Benchmarks read it through `bytes` without any
/// per-iteration `withUnsafeBytes` or copy. Immutable after creation.
final class StableBytes {
    /// The bytes; valid until the object is deinitialised.
    let bytes: UnsafeRawBufferPointer
    private let storage: UnsafeMutableRawBufferPointer

    /// Copies `content` into a fresh allocation.
    init(_ content: [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(content.count, 1), alignment: 16)
        content.withUnsafeBytes { source in
            if let from = source.baseAddress, let to = storage.baseAddress {
                to.copyMemory(from: from, byteCount: source.count)
            }
        }
        self.storage = storage
        bytes = UnsafeRawBufferPointer(rebasing: storage[0..<content.count])
    }

    /// Copies the UTF-8 bytes of `text`.
    convenience init(_ text: String) { self.init(Array(text.utf8)) }

    deinit { storage.deallocate() }
}
