/// The C allocator's settings and housekeeping: what a long-running server needs so that memory
/// one large request used goes back to the system.
///
/// ```swift
/// Allocator.mapSeparately(atLeast: 256 << 10)   // at start-up
/// Allocator.setTrimThreshold(4 << 20)
/// Allocator.releaseFreeMemory()                 // after a parse of many small allocations
/// ```
public enum Allocator {
    /// Allocations of `bytes` and more are mapped on their own and unmapped when freed (glibc's
    /// `M_MMAP_THRESHOLD`). glibc's default threshold rises to 32 MiB after the first large free,
    /// after which a large request's buffers stayed with the process for good.
    public static func mapSeparately(atLeast bytes: Int) {
        #if os(Linux)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, Int32(clamping: bytes))
        #endif
    }

    /// Free memory at the top of a heap goes back to the system once there is more than `bytes`
    /// of it (glibc's `M_TRIM_THRESHOLD`). Setting the mmap threshold pins this one at glibc's
    /// 128 KiB default, so a heap shrank and grew again around nearly every request, each growth
    /// paid in page faults: at 4 MiB the int8 demo served 6% more `:classify` requests at 8
    /// connections (3 alternating rounds), with the same peak RSS.
    public static func setTrimThreshold(_ bytes: Int) {
        #if os(Linux)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, Int32(clamping: bytes))
        #endif
    }

    /// Returns free heap memory of every arena to the system (glibc's `malloc_trim`).
    public static func releaseFreeMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if os(Linux)
// glibc's `<malloc.h>`, which the Glibc module does not include.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
