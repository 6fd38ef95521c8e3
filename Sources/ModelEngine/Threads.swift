import CDNNL
import Foundation

/// How many OpenMP threads the engine should use on this machine.
///
/// oneDNN's OpenMP runtime reads `OMP_NUM_THREADS` once, when the process starts; a container's
/// CPU limit is not visible to it, so left alone it starts one thread per host core and gets
/// throttled. ``recommended()`` reads the cgroup CPU quota instead.
public enum Threads {
    /// The CPU quota of this process's cgroup (v2 `cpu.max`, else v1 `cfs_quota_us/cfs_period_us`),
    /// rounded up; nil when unlimited or unknown.
    public static func cgroupQuota(root: String = "/sys/fs/cgroup") -> Int? {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: root + path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let max = read("/cpu.max") {
            let parts = max.split(separator: " ")
            guard parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1]), period > 0 else { return nil }
            return Swift.max(1, Int((quota / period).rounded(.up)))
        }
        if let q = read("/cpu/cpu.cfs_quota_us").flatMap(Double.init), q > 0,
            let p = read("/cpu/cpu.cfs_period_us").flatMap(Double.init), p > 0
        {
            return Swift.max(1, Int((q / p).rounded(.up)))
        }
        return nil
    }

    /// The cgroup quota capped by the cores this process may run on.
    public static func recommended() -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return min(cores, cgroupQuota() ?? cores)
    }

    /// OpenMP's current thread count for the calling thread.
    public static var openMP: Int { Int(omp_get_max_threads()) }
}
