import Foundation

/// OpenMP reads its settings only when the process starts. Unless given, set them here and
/// re-execute this binary once, before any OpenMP code runs:
/// - `OMP_NUM_THREADS` from the container's CPU quota;
/// - `GOMP_SPINCOUNT=300` (unless it or `OMP_WAIT_POLICY` is set): an idle OpenMP thread spins
///   about as long as the gap between two layers of one inference, then sleeps. OpenMP's default
///   (spinning ~300,000 times) keeps both cores busy between requests, and they also decode
///   images and serve HTTP: ~20% fewer requests/s under load on 2 cores. Sleeping at once
///   (`OMP_WAIT_POLICY=PASSIVE`, the setting before this one) wakes the threads with a futex at
///   every layer: one image then took as long on 2 threads as on 1. Measured on 2 cores
///   (docs/reliability.md): at one connection p50 8.9 → 6.3 ms (fp32) and 6.3 → 4.7 ms (int8)
///   against PASSIVE, the same throughput at 8 connections; 1,000 spins and more cost the int8
///   model 15–35% of its throughput there. A pure inference loop (`model-infer engine-bench`)
///   passes `shortSpin: false` and keeps OpenMP's default.
///
/// ```swift
/// OpenMPLaunch.ensureThreadCount(shortSpin: true)   // first thing in a command's run(), before the engine loads
/// ```
public enum OpenMPLaunch {
    /// How long (in spin iterations) an idle OpenMP thread of the server waits before sleeping.
    public static let serverSpinCount = 300

    public static func ensureThreadCount(shortSpin: Bool) {
        let env = ProcessInfo.processInfo.environment
        var changed = false
        if env["OMP_NUM_THREADS"] == nil {
            setenv("OMP_NUM_THREADS", String(Threads.recommended()), 1)
            changed = true
        }
        if shortSpin && env["OMP_WAIT_POLICY"] == nil && env["GOMP_SPINCOUNT"] == nil {
            setenv("GOMP_SPINCOUNT", String(serverSpinCount), 1)
            changed = true
        }
        guard changed else { return }
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv returned: carry on in this process with OpenMP's own defaults.
    }
}
