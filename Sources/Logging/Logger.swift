import Glibc
import Synchronization

/// A structured logger passed around as a value, shaped like swift-log's `Logger` (label, level, metadata, a
/// pluggable handler) so a later switch to swift-log is mechanical. Thread-safe.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        public var name: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            case .critical: "critical"
            }
        }

        /// Parses a level name (case-insensitive); nil when unknown.
        public init?(name: String) {
            guard let level = Level.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
            self = level
        }
    }

    public typealias Metadata = [String: String]

    public let label: String
    public var metadata: Metadata = [:]
    public var handler: any LogHandler

    /// A logger writing through the process-wide handler (`LoggingSystem.bootstrap`).
    public init(label: String) {
        self.label = label
        self.handler = LoggingSystem.handler
    }

    public init(label: String, handler: any LogHandler) {
        self.label = label
        self.handler = handler
    }

    @inline(__always)
    public func isEnabled(_ level: Level) -> Bool { level >= handler.minimumLevel }

    public func log(_ level: Level, _ message: @autoclosure () -> String, metadata extra: Metadata = [:]) {
        guard isEnabled(level) else { return }
        var merged = metadata
        for (k, v) in extra { merged[k] = v }
        handler.log(level: level, label: label, message: message(), metadata: merged)
    }

    public func trace(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.trace, m(), metadata: metadata) }
    public func debug(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.debug, m(), metadata: metadata) }
    public func info(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.info, m(), metadata: metadata) }
    public func notice(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.notice, m(), metadata: metadata) }
    public func warning(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.warning, m(), metadata: metadata) }
    public func error(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.error, m(), metadata: metadata) }
    public func critical(_ m: @autoclosure () -> String, metadata: Metadata = [:]) { log(.critical, m(), metadata: metadata) }
}

/// Where log records go. Implementations must be thread-safe.
public protocol LogHandler: Sendable {
    var minimumLevel: Logger.Level { get }
    func log(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata)
}

/// The process-wide default handler.
public enum LoggingSystem {
    private static let current = Mutex<any LogHandler>(JSONLinesLogHandler(minimumLevel: .info))

    /// Replaces the handler used by loggers created afterwards.
    public static func bootstrap(_ handler: any LogHandler) {
        current.withLock { $0 = handler }
    }

    static var handler: any LogHandler { current.withLock { $0 } }
}
