/// How an execution failed: the `ename` / `evalue` / `traceback` of the iopub `error` and the error reply.
struct ExecutionFailure: Error, Equatable {
    var ename: String
    var evalue: String
    var traceback: [String]

    init(_ ename: String, _ evalue: String) {
        self.ename = ename
        self.evalue = evalue
        traceback = [evalue.isEmpty ? ename : "\(ename): \(evalue)"]
    }

    static let interrupted = ExecutionFailure("KeyboardInterrupt", "")
}
