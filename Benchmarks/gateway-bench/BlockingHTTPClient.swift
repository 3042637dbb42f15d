import Foundation
import Glibc

/// A tiny blocking HTTP/1.1 client for the control path (start and delete kernels), one connection per request
/// (`Connection: close`), Content-Length or chunked bodies. Not for the hot path. Thread-safe: keeps no state
/// between calls, so many threads may issue requests at once (the `start` mode does).
enum BlockingHTTPClient {
    struct Response: Sendable {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Connects a blocking TCP socket to `host:port` (numeric address or `localhost`). Returns the descriptor.
    static func connect(host: String, port: UInt16, timeoutSeconds: Int = 60) throws(Failure) -> Int32 {
        let name = host == "localhost" ? "127.0.0.1" : host
        let isV6 = name.contains(":")
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(message: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // The address is parsed first; `connect` runs only when it parsed.
        let parsed: Bool
        let rc: Int32
        if isV6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            parsed = inet_pton(AF_INET6, name, &address.sin6_addr) == 1
            rc = parsed ? withSockaddr(&address) { Glibc.connect(fd, $0, $1) } : -1
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            parsed = inet_pton(AF_INET, name, &address.sin_addr) == 1
            rc = parsed ? withSockaddr(&address) { Glibc.connect(fd, $0, $1) } : -1
        }
        guard parsed else {
            close(fd)
            throw Failure(message: "not a numeric IPv\(isV6 ? 6 : 4) address: \(host)")
        }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw Failure(message: "connect \(host):\(port): \(message)")
        }
        return fd
    }

    /// Sends one request and reads the whole response. `token` goes into `Authorization: token …`.
    static func request(_ method: String, _ url: GatewayURL, _ relativePath: String, token: String?,
                        body: String? = nil) throws(Failure) -> Response {
        let fd = try connect(host: url.host, port: url.port)
        defer { close(fd) }
        var head = "\(method) \(url.path(relativePath)) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nConnection: close\r\n"
        if let token { head += "Authorization: token \(token)\r\n" }
        let bodyBytes = Array((body ?? "").utf8)
        if body != nil || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(bodyBytes.count)\r\n"
        }
        head += "\r\n"
        try writeAll(fd, Array(head.utf8) + bodyBytes)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                received.append(contentsOf: chunk[0..<n])
                if let response = try parse(received, method: method) { return response }
            } else if n == 0 {
                if let response = try parse(received, method: method, atEOF: true) { return response }
                throw Failure(message: "\(method) \(relativePath): connection closed before a full response")
            } else if errno != EINTR {
                throw Failure(message: "\(method) \(relativePath): read: \(String(cString: strerror(errno)))")
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in raw.baseAddress.map { write(fd, $0 + offset, raw.count - offset) } ?? 0 }
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else {
                throw Failure(message: "write: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// A complete response in `bytes`, or nil when more bytes are needed.
    static func parse(_ bytes: [UInt8], method: String, atEOF: Bool = false) throws(Failure) -> Response? {
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else { return nil }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure(message: "bad status line: \(lines[0])")
        }
        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { contentLength = Int(value) }
            if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
        }
        let bodyStart = headEnd + 4
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) {
            return Response(status: status, body: [])
        }
        if chunked {
            var body: [UInt8] = []
            var position = bodyStart
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: position) else { return nil }
                let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw Failure(message: "bad chunk size")
                }
                let dataStart = lineEnd + 2
                if size == 0 { return Response(status: status, body: body) }
                guard bytes.count >= dataStart + size + 2 else { return nil }
                body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
                position = dataStart + size + 2
            }
        }
        if let contentLength {
            guard bytes.count >= bodyStart + contentLength else { return nil }
            return Response(status: status, body: Array(bytes[bodyStart..<(bodyStart + contentLength)]))
        }
        return atEOF ? Response(status: status, body: Array(bytes[bodyStart...])) : nil
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
