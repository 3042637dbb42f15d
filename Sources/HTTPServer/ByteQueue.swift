/// A FIFO of bytes waiting to be written: append at the tail, consume from the head.
///
/// Consuming only advances a head index; storage is compacted when the queue empties, or when
/// the consumed prefix is large and more than half of the storage, so a partially written large
/// message is not copied on every short write. Not thread-safe (a plain struct).
public struct ByteQueue: Sendable {
    private var storage: [UInt8] = []
    private var head = 0

    /// Creates an empty queue.
    public init() {}

    /// Bytes waiting.
    public var count: Int { storage.count - head }

    /// True when no bytes are waiting.
    public var isEmpty: Bool { head == storage.count }

    /// Appends raw bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        storage.append(contentsOf: bytes)
    }

    /// Appends bytes from a collection.
    public mutating func append(contentsOf bytes: some Collection<UInt8>) {
        storage.append(contentsOf: bytes)
    }

    /// Calls `body` with the waiting bytes (valid only inside `body`; do not escape the pointer).
    public func withReadableBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = storage.withUnsafeBytes { raw in
            do throws(E) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: raw[head...])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Drops the first `count` bytes (clamped to what is waiting), e.g. after a partial write.
    public mutating func consume(_ count: Int) {
        head += max(0, min(count, self.count))
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 * 1024 && head > storage.count / 2 {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// Removes and returns everything waiting.
    public mutating func takeAll() -> [UInt8] {
        let bytes = Array(storage[head...])
        storage.removeAll(keepingCapacity: true)
        head = 0
        return bytes
    }
}
