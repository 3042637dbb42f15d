import Foundation
import Synchronization

/// Samples a process's VmRSS on its own thread every `interval` until `stop()`, keeping the peak and the last
/// samples (to show whether memory stays bounded while a stream runs).
final class RSSSampler: Sendable {
    private let pid: Int32
    private let running = Atomic<Bool>(true)
    private let peak = Atomic<UInt64>(0)
    private let samples = Mutex<[Int]>([])
    private let finished = DispatchSemaphore(value: 0)

    /// Starts sampling `pid` (nothing happens for a nil pid).
    init?(pid: Int32?, intervalMilliseconds: Int = 50) {
        guard let pid else { return nil }
        self.pid = pid
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                if let stats = ProcessStats.read(pid: pid) {
                    peak.storeMax(UInt64(stats.rssKiB))
                    samples.withLock { $0.append(stats.rssKiB) }
                }
                usleep(UInt32(intervalMilliseconds * 1000))
            }
            finished.signal()
        }
        thread.start()
    }

    /// Stops sampling; returns the peak RSS (KiB) and all samples.
    func stop() -> (peakKiB: Int, samples: [Int]) {
        running.store(false, ordering: .relaxed)
        finished.wait()
        return (Int(peak.load(ordering: .relaxed)), samples.withLock { $0 })
    }
}
