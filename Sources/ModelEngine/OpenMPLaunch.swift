import Foundation

/// OpenMP reads its settings only when the process starts. Unless given, set them here and
/// re-execute this binary once, before any OpenMP code runs:
/// - `OMP_NUM_THREADS` from the container's CPU quota;
/// - `OMP_WAIT_POLICY=PASSIVE` (unless it or `GOMP_SPINCOUNT` is set): idle OpenMP threads sleep
///   instead of spinning. In the server the
///   same cores also decode images and serve HTTP; spinning threads starve them (measured: ~20%
///   more requests/s with passive waiting, docs/reliability.md). A pure inference loop
///   (`model-infer engine-bench`) passes `passiveWait: false` and keeps OpenMP's default.
///
/// ```swift
/// OpenMPLaunch.ensureThreadCount(passiveWait: true)   // first thing in a command's run(), before the engine loads
/// ```
public enum OpenMPLaunch {
    public static func ensureThreadCount(passiveWait: Bool) {
        let env = ProcessInfo.processInfo.environment
        var changed = false
        if env["OMP_NUM_THREADS"] == nil {
            setenv("OMP_NUM_THREADS", String(Threads.recommended()), 1)
            changed = true
        }
        if passiveWait && env["OMP_WAIT_POLICY"] == nil && env["GOMP_SPINCOUNT"] == nil {
            setenv("OMP_WAIT_POLICY", "PASSIVE", 1)
            changed = true
        }
        guard changed else { return }
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv returned: carry on in this process with OpenMP's own defaults.
    }
}
