/// Owned storage for one received ZeroMQ multipart message, reused for every receive on one socket.
///
/// The frames are copied back to back into one manually managed allocation, so the views handed out by
/// `frame(_:)` stay valid (and no Swift exclusivity access is held) until the next `reset()` or `append`
/// on this same buffer. Each socket has its own buffer, which is what lets a shell request stay readable
/// while control messages are served in a nested wait. One thread only.
final class FrameBuffer {
    /// Capacity kept between messages; a larger allocation made for a big message is released on reset.
    static let retainedCapacity = 256 << 10

    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    private var ranges: [Range<Int>] = []

    init(initialCapacity: Int = 16 << 10) {
        capacity = max(initialCapacity, 64)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        ranges.reserveCapacity(16)
    }

    deinit { storage.deallocate() }

    /// Number of frames held.
    var frameCount: Int { ranges.count }

    /// Forgets the held message (invalidates every view).
    func reset() {
        used = 0
        ranges.removeAll(keepingCapacity: true)
        if capacity > FrameBuffer.retainedCapacity {
            storage.deallocate()
            capacity = FrameBuffer.retainedCapacity
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
    }

    /// Appends one frame (copied). May move the storage, invalidating earlier views.
    func append(_ bytes: UnsafeRawBufferPointer) {
        if used + bytes.count > capacity {
            var newCapacity = capacity * 2
            while newCapacity < used + bytes.count { newCapacity *= 2 }
            let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            newStorage.copyMemory(from: storage, byteCount: used)
            storage.deallocate()
            storage = newStorage
            capacity = newCapacity
        }
        if let base = bytes.baseAddress, bytes.count > 0 {
            (storage + used).copyMemory(from: base, byteCount: bytes.count)
        }
        ranges.append(used..<(used + bytes.count))
        used += bytes.count
    }

    /// A view of frame `index` (0 ..< frameCount), valid until the buffer is reset or appended to.
    func frame(_ index: Int) -> UnsafeRawBufferPointer {
        let r = ranges[index]
        return UnsafeRawBufferPointer(start: storage + r.lowerBound, count: r.count)
    }
}
