import JSONValue

extension ResourceLimits {
    /// The keys of a limits object, in kernelspec metadata (`"kernel_gateway": {...}`) and in policy-file roles.
    public static let memoryKey = "memory_limit"
    public static let cpuKey = "cpu_limit"
    public static let pidsKey = "pids_limit"
    public static let keys = [memoryKey, cpuKey, pidsKey]

    /// The request variables a start request may use to ask for less (`env` of `POST /api/kernels`).
    public static let memoryVariable = "KERNEL_MEMORY_LIMIT"
    public static let cpuVariable = "KERNEL_CPU_LIMIT"
    public static let pidsVariable = "KERNEL_PIDS_LIMIT"

    /// The smallest and largest process limits accepted.
    public static let pidsRange = 1...4_194_304

    /// Parses a process count.
    /// - Throws: `LimitError(.invalidValue)` for anything but a whole number in `pidsRange`.
    public static func parsePids(_ text: String) throws(LimitError) -> Int {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(trimmed),
              pidsRange.contains(value)
        else { throw LimitError(.invalidValue, "'\(text)' is not a process count (1...\(pidsRange.upperBound))") }
        return value
    }

    /// Limits from a JSON object with any of `memory_limit` (size string, or a number of bytes), `cpu_limit`
    /// (cores, number or string) and `pids_limit` (number or string). `null` or `"none"` means no limit.
    /// - Parameter allowOtherKeys: whether keys besides the three are ignored (kernelspec metadata) or refused.
    /// - Throws: `LimitError(.invalidValue)` whose message starts with the offending key.
    public init(json object: JSONObject, allowOtherKeys: Bool = false) throws(LimitError) {
        self.init()
        if !allowOtherKeys, let unknown = object.keys.first(where: { !Self.keys.contains($0) }) {
            throw LimitError(.invalidValue, "\(unknown): unknown key; use \(Self.keys.joined(separator: ", "))")
        }
        func text(_ key: String, numbers: Bool) throws(LimitError) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let s)? where s.trimmingSpaces.lowercased() == "none": return nil
            case .string(let s)?: return s
            case .integer(let n)? where numbers: return String(n)
            case .double(let d)? where numbers: return String(d)
            case let other?:
                throw LimitError(.invalidValue, "must be a string or a number, not \(other.typeName)")
            }
        }
        do throws(LimitError) {
            if let t = try text(Self.memoryKey, numbers: true) { memoryBytes = try MemorySize.parse(t) }
        } catch { throw LimitError(.invalidValue, "\(Self.memoryKey): \(error.message)") }
        do throws(LimitError) {
            if let t = try text(Self.cpuKey, numbers: true) { cpuMillicores = try CPUQuota.parse(t) }
        } catch { throw LimitError(.invalidValue, "\(Self.cpuKey): \(error.message)") }
        do throws(LimitError) {
            if let t = try text(Self.pidsKey, numbers: true) { pids = try Self.parsePids(t) }
        } catch { throw LimitError(.invalidValue, "\(Self.pidsKey): \(error.message)") }
    }

    /// What a start request asks for through `KERNEL_MEMORY_LIMIT`, `KERNEL_CPU_LIMIT` and `KERNEL_PIDS_LIMIT` in
    /// its `env` (the same notation as the options). Other variables are ignored.
    /// - Throws: `LimitError(.invalidValue)` naming the variable.
    public init(requestEnvironment env: [String: JSONValue]) throws(LimitError) {
        self.init()
        func value(_ name: String) throws(LimitError) -> String? {
            switch env[name] {
            case nil, .null?: return nil
            case .string(let s)?: return s.trimmingSpaces.isEmpty ? nil : s
            case .integer(let n)?: return String(n)
            case .double(let d)?: return String(d)
            case let other?: throw LimitError(.invalidValue, "\(name) must be a string, not \(other.typeName)")
            }
        }
        do throws(LimitError) {
            if let t = try value(Self.memoryVariable) { memoryBytes = try MemorySize.parse(t) }
        } catch { throw LimitError(.invalidValue, "\(Self.memoryVariable): \(error.message)") }
        do throws(LimitError) {
            if let t = try value(Self.cpuVariable) { cpuMillicores = try CPUQuota.parse(t) }
        } catch { throw LimitError(.invalidValue, "\(Self.cpuVariable): \(error.message)") }
        do throws(LimitError) {
            if let t = try value(Self.pidsVariable) { pids = try Self.parsePids(t) }
        } catch { throw LimitError(.invalidValue, "\(Self.pidsVariable): \(error.message)") }
    }
}
