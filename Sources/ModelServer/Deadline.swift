import NIOCore
import NIOPosix

/// A cancellable wait that gives its memory back when cancelled.
///
/// Why not `Task.sleep`: a cancelled `Task.sleep` returns at once, but its timer — and the
/// memory of the task that slept — stays queued until the original deadline
/// (swiftlang/swift#60441). The body deadline races every request's body against one such
/// sleep and cancels it when the body arrives first, so with a 30 s deadline each request left
/// ~700 bytes behind for 30 s: clients sending cheap failing POSTs as fast as they could grew the
/// server by ~20 MB a second, to 600 MB in half a minute. A NIO scheduled task is removed from
/// its event loop's queue when cancelled.
///
/// ```swift
/// await Deadline.wait(seconds: 30)    // returns after 30 s, or at once when the task is cancelled
/// ```
enum Deadline {
    static func wait(seconds: Double, on loop: any EventLoop = NIOSingletons.posixEventLoopGroup.any()) async {
        let scheduled = loop.scheduleTask(in: .nanoseconds(Int64(min(seconds, 1e9) * 1e9))) {}
        await withTaskCancellationHandler {
            _ = try? await scheduled.futureResult.get()
        } onCancel: {
            scheduled.cancel()
        }
    }
}
