import Foundation

/// `O_DIRECT`, which Glibc's Swift module hides (it is a `_GNU_SOURCE` name).
///
/// ```swift
/// var fd = open(path, O_WRONLY | O_CREAT | FileFlags.oDirect, 0o644)
/// if fd < 0 && errno == EINVAL { fd = open(path, O_WRONLY | O_CREAT, 0o644) }  // not on this file system
/// ```
enum FileFlags {
    #if arch(x86_64)
    static let oDirect: Int32 = 0o40000
    #elseif arch(arm64)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0
    #endif

    static func isDirect(_ fd: Int32) -> Bool { oDirect != 0 && fcntl(fd, F_GETFL) & oDirect != 0 }

    /// Sets or clears `O_DIRECT` on `fd`; returns whether it is set afterwards.
    static func setDirect(_ fd: Int32, _ on: Bool) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        guard oDirect != 0, flags >= 0 else { return false }
        _ = fcntl(fd, F_SETFL, on ? flags | oDirect : flags & ~oDirect)
        return isDirect(fd)
    }
}
