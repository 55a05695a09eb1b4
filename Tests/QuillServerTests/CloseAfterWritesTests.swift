import Foundation
import NIOCore
import NIOPosix
import XCTest
@testable import QuillServer

/// Writes `size` bytes to each connection as it opens, then closes it: a long response that ends the connection.
private final class WriteThenClose: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let size: Int

    init(size: Int) { self.size = size }

    func channelActive(context: ChannelHandlerContext) {
        let piece = ByteBuffer(repeating: 0x61, count: 64 * 1024)
        for _ in 0..<(size / piece.readableBytes) {
            context.write(NIOAny(piece), promise: nil)
        }
        context.flush()
        context.close(promise: nil)
    }
}

/// A connection's close and the bytes written before it, over real loopback sockets.
///
/// The response (32 MB) is larger than the kernel's socket buffers can hold, so most of it is still
/// queued in SwiftNIO when the server closes, and the client reads only after the close was asked for.
final class CloseAfterWritesTests: XCTestCase {
    private let size = 32 * 1024 * 1024

    /// Serves one connection with `handlers`, lets the client wait `wait` seconds, then reads to the end.
    /// Returns the bytes the client got.
    private func bytesReadLate(drainLimit: TimeAmount?, wait: UInt32 = 300_000) throws -> Int {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let size = size
        let server = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let drainLimit {
                        try channel.pipeline.syncOperations.addHandler(CloseAfterWrites(drainLimit: drainLimit))
                    }
                    try channel.pipeline.syncOperations.addHandler(WriteThenClose(size: size))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let connection = try HTTPTestConnection(port: server.localAddress!.port!, timeout: 30, receiveBuffer: 4096)
        usleep(wait)
        return try connection.readToEnd().count
    }

    func testAClientThatReadsLateGetsEveryByteWrittenBeforeTheClose() throws {
        XCTAssertEqual(try bytesReadLate(drainLimit: .seconds(30)), size)
    }

    func testWithoutTheHandlerTheCloseDropsWhatWasQueued() throws {
        // The reason the handler exists: SwiftNIO fails queued writes when a channel closes.
        let got = try bytesReadLate(drainLimit: nil)
        XCTAssertLessThan(got, size)
    }

    func testAClientThatStopsReadingIsWaitedForOnlyUntilTheDrainLimit() throws {
        // The client reads only after the limit has passed: the connection was closed without the rest.
        let got = try bytesReadLate(drainLimit: .milliseconds(100), wait: 1_500_000)
        XCTAssertLessThan(got, size)
    }
}
