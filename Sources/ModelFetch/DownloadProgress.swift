import Foundation

/// Download progress on stderr: a bar with size, rate and ETA on a terminal, a plain line every few
/// seconds otherwise (CI logs), and a summary per file on stdout.
public final class DownloadProgress: @unchecked Sendable {
    let isTerminal: Bool
    let quiet: Bool
    private var lastPrint = Date.distantPast
    private var started = Date()
    private var label = ""

    public init(quiet: Bool = false, isTerminal: Bool = isatty(STDERR_FILENO) != 0) {
        self.quiet = quiet
        self.isTerminal = isTerminal
    }

    func update(label: String, bytes: Int64, total: Int64?) {
        guard !quiet else { return }
        if label != self.label {
            self.label = label
            started = Date()
        }
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.1 : 5) else { return }
        lastPrint = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(bytes) / elapsed
        var line = "\(label): \(Self.mb(bytes))"
        if let total, total > 0 {
            let fraction = min(1, Double(bytes) / Double(total))
            let eta = rate > 0 ? Double(total - bytes) / rate : 0
            if isTerminal {
                let width = 30
                let filled = Int(fraction * Double(width))
                line =
                    "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: width - filled))] \(Self.mb(bytes))/\(Self.mb(total))"
            } else {
                line += " of \(Self.mb(total)) (\(Int(fraction * 100))%)"
            }
            line += String(format: " %.1f MB/s ETA %.0fs", rate / 1e6, eta)
        } else {
            line += String(format: " %.1f MB/s", rate / 1e6)
        }
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).utf8))
    }

    func note(_ message: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + message + "\n").utf8))
    }

    /// A warning that `quiet` does not silence: something was done less safely than usual.
    func warn(_ message: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + "WARNING: " + message + "\n").utf8))
    }

    func finished(_ s: Fetcher.Summary) {
        if isTerminal && !quiet { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        guard !quiet else { return }
        print(
            String(
                format: "fetched %@ -> %@: %lld bytes in %.2f s (%.1f MB/s), sha256 %@",
                s.source,
                s.path,
                s.bytes,
                s.seconds,
                s.megabytesPerSecond,
                s.sha256
            )
        )
    }

    static func mb(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
