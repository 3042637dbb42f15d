extension LoadSession {
    /// Starts one kernel for a single-kernel mode; nil, with `errors` and `error_sample` set in `report`, when it
    /// did not start.
    func startOneKernel(reporting report: inout LoadReport) -> KernelREST.Started? {
        let (kernels, startErrors) = startKernels(1)
        guard let kernel = kernels.first else {
            report.setErrors(1, sample: startErrors.first ?? "no kernel started")
            return nil
        }
        return kernel
    }

    /// Connects `sockets` (see `connect`); false, with `errors` and `error_sample` set in `report` and every
    /// socket closed, when any failed to open.
    func connectAll(_ sockets: [BenchWebSocket], control: RunControl, reporting report: inout LoadReport) -> Bool {
        let connectErrors = connect(sockets, control: control)
        let failed = control.failedToOpen.load(ordering: .relaxed)
        guard failed == 0, connectErrors.isEmpty else {
            report.setErrors(failed, sample: connectErrors.first ?? "WebSocket failed to open")
            close(sockets)
            return false
        }
        return true
    }
}
