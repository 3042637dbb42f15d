import Glibc

/// Diagnostics to stderr, one line each, prefixed with `echo-kernel:` (the gateway captures kernel stderr).
enum Log {
    static func message(_ text: String) {
        var line = "echo-kernel: " + text + "\n"
        line.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let n = write(2, base + offset, bytes.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
