/// The ZMTP 3.0 frame header: a flags byte (bit 0 MORE, bit 1 LONG, bit 2 COMMAND; bits 3-7 reserved, zero)
/// followed by the body size in 1 byte, or in 8 big-endian bytes when LONG is set.
public enum ZMTPFrame {
    static let more: UInt8 = 0x01
    static let long: UInt8 = 0x02
    static let command: UInt8 = 0x04
    static let reserved: UInt8 = 0xF8

    /// The largest header: flags + 8 size bytes.
    public static let maxHeaderSize = 9

    /// Appends the header of a frame whose body is `size` bytes (short form up to 255).
    public static func appendHeader(to bytes: inout [UInt8], size: Int, more: Bool, command: Bool = false) {
        var flags: UInt8 = (more ? Self.more : 0) | (command ? Self.command : 0)
        if size <= 255 {
            bytes.append(flags)
            bytes.append(UInt8(size))
        } else {
            flags |= long
            bytes.append(flags)
            let big = UInt64(size).bigEndian
            withUnsafeBytes(of: big) { bytes.append(contentsOf: $0) }
        }
    }

    /// Writes the header into `buffer` (at least `maxHeaderSize` bytes) and returns its length. No allocation.
    public static func writeHeader(into buffer: UnsafeMutableRawBufferPointer, size: Int, more: Bool) -> Int {
        let flags: UInt8 = more ? Self.more : 0
        if size <= 255 {
            buffer[0] = flags
            buffer[1] = UInt8(size)
            return 2
        }
        buffer[0] = flags | long
        var big = UInt64(size).bigEndian
        withUnsafeBytes(of: &big) { raw in
            for i in 0..<8 { buffer[1 + i] = raw[i] }
        }
        return 9
    }

    /// A whole frame (header and body).
    public static func encode(_ body: some Collection<UInt8>, more: Bool, command: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(body.count + maxHeaderSize)
        appendHeader(to: &bytes, size: body.count, more: more, command: command)
        bytes.append(contentsOf: body)
        return bytes
    }
}
