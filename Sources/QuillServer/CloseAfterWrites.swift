import NIOCore

/// Holds a connection's close until the bytes already written to it have left.
///
/// Hummingbird ends a response that must close its connection (during shutdown, or after
/// `Connection: close`) by flushing its last part and closing the channel at once. SwiftNIO fails
/// the writes still queued on a channel it closes, so a client that read slower than the server
/// wrote lost the tail of its response: during shutdown, the end of a stream and its `[DONE]`.
///
/// This handler turns a full close into two steps. It first closes the output, which SwiftNIO
/// does only once every queued write has gone to the socket (and then sends FIN), and closes the
/// rest when that is done. A client that stops reading altogether is waited for at most
/// `drainLimit`; then the connection closes as before and what was still queued is dropped.
/// Nothing is added per write, so a stream costs what it did.
final class CloseAfterWrites: ChannelOutboundHandler, RemovableChannelHandler {
    /// Writes pass through unread, whatever their type.
    typealias OutboundIn = Any

    /// How long a close may wait for a client to read what was written before it.
    static let defaultDrainLimit: TimeAmount = .seconds(10)

    private let drainLimit: TimeAmount
    /// The promises of full closes asked for while the output drains; one close completes them all.
    private var heldCloses: [EventLoopPromise<Void>?] = []
    private var draining = false
    private var drainDeadline: Scheduled<Void>?

    init(drainLimit: TimeAmount = CloseAfterWrites.defaultDrainLimit) {
        self.drainLimit = drainLimit
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Closing the input, or the output alone, loses nothing written.
        guard mode == .all else {
            context.close(mode: mode, promise: promise)
            return
        }
        heldCloses.append(promise)
        guard !draining else { return }
        draining = true
        let loop = context.eventLoop.assumeIsolated()
        drainDeadline = loop.scheduleTask(in: drainLimit) { [self] in
            drainDeadline = nil
            closeAll(context)
        }
        let outputClosed = context.eventLoop.makePromise(of: Void.self)
        // Success or failure (the output was closed already, or the client went away): close the rest.
        outputClosed.futureResult.assumeIsolated().whenComplete { [self] _ in closeAll(context) }
        context.flush()
        context.close(mode: .output, promise: outputClosed)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll(context)
    }

    private func closeAll(_ context: ChannelHandlerContext) {
        drainDeadline?.cancel()
        drainDeadline = nil
        let promises = heldCloses
        heldCloses = []
        guard !promises.isEmpty else { return }
        let closed = context.eventLoop.makePromise(of: Void.self)
        for promise in promises {
            if let promise { closed.futureResult.cascade(to: promise) }
        }
        context.close(mode: .all, promise: closed)
    }
}
