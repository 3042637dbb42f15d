/// The positions of a received Jupyter message's frames in a ZeroMQ multipart list.
///
/// Frame indices, not byte ranges: `identities` are the routing frames before `<IDS|MSG>`, then come the
/// signature, the four dict parts and any buffers. Pure, thread-safe.
public struct ZMQFrameLayout: Sendable, Equatable {
    /// Routing identity frames (for iopub, the subscription topic).
    public var identities: Range<Int>
    /// Index of the `<IDS|MSG>` delimiter frame.
    public var delimiter: Int
    /// Total number of frames.
    public var frameCount: Int

    /// Index of the signature frame.
    public var signature: Int { delimiter + 1 }
    /// Index of the header frame.
    public var header: Int { delimiter + 2 }
    /// Index of the parent_header frame.
    public var parentHeader: Int { delimiter + 3 }
    /// Index of the metadata frame.
    public var metadata: Int { delimiter + 4 }
    /// Index of the content frame.
    public var content: Int { delimiter + 5 }
    /// Indices of buffer frames (possibly empty).
    public var buffers: Range<Int> { (delimiter + 6)..<frameCount }

    /// Finds the first delimiter frame among `frameCount` frames, reading each frame through `frame`.
    /// Throws `.invalidFrameList` when there is no delimiter or fewer than five frames follow it
    /// (signature + four dicts).
    public static func parse(
        frameCount: Int, frame: (Int) -> UnsafeRawBufferPointer
    ) throws(ProtocolError) -> ZMQFrameLayout {
        let delimiterBytes = ZMQFrames.delimiterBytes
        var index = 0
        while index < frameCount {
            let candidate = frame(index)
            if candidate.count == delimiterBytes.count && candidate.elementsEqual(delimiterBytes) { break }
            index += 1
        }
        guard index < frameCount else {
            throw ProtocolError(.invalidFrameList, "no <IDS|MSG> delimiter among \(frameCount) frames")
        }
        guard frameCount - index - 1 >= 5 else {
            throw ProtocolError(.invalidFrameList, "only \(frameCount - index - 1) frames after the delimiter, at least 5 needed")
        }
        return ZMQFrameLayout(identities: 0..<index, delimiter: index, frameCount: frameCount)
    }

    /// `parse` over borrowed frame views.
    public static func parse(_ frames: [UnsafeRawBufferPointer]) throws(ProtocolError) -> ZMQFrameLayout {
        try parse(frameCount: frames.count) { frames[$0] }
    }

    /// `parse` over owned frames; use `parts(of:)`-style access with `withUnsafeBytes` afterwards.
    public static func parse(_ frames: [[UInt8]]) throws(ProtocolError) -> ZMQFrameLayout {
        let delimiter = Array(ZMQFrames.delimiterBytes)
        guard let index = frames.firstIndex(of: delimiter) else {
            throw ProtocolError(.invalidFrameList, "no <IDS|MSG> delimiter among \(frames.count) frames")
        }
        guard frames.count - index - 1 >= 5 else {
            throw ProtocolError(.invalidFrameList, "only \(frames.count - index - 1) frames after the delimiter, at least 5 needed")
        }
        return ZMQFrameLayout(identities: 0..<index, delimiter: index, frameCount: frames.count)
    }

    /// The message parts among borrowed `frames` (the list this layout was parsed from).
    public func parts(of frames: [UnsafeRawBufferPointer]) -> MessageParts {
        MessageParts(
            header: frames[header], parentHeader: frames[parentHeader], metadata: frames[metadata],
            content: frames[content], buffers: Array(frames[buffers]))
    }
}
