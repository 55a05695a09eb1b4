import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 client over a loopback TCP socket: requests, chunked bodies, and server-sent events read as they arrive.
///
/// Written for the tests so they can do what a library client hides: read a stream event by event,
/// and drop the connection in the middle of one.
final class HTTPTestConnection {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var atEnd = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout` seconds of silence.
    ///
    /// - Parameter receiveBuffer: the socket's receive buffer in bytes (the kernel's default when nil);
    ///   a small one makes a client that does not read hold the server's writes back at once.
    init(port: Int, timeout: Int = 60, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw Failure(description: "cannot connect to port \(port): errno \(errno)")
        }
    }

    deinit { close() }

    /// Closes the socket at once (a client going away).
    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Sends a request with `Connection: close`.
    func send(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + body
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            sent += n
        }
    }

    /// Microseconds to wait before each read from the socket: a client slower than the server.
    var pauseBeforeRead: useconds_t = 0

    private func fill() throws {
        if pauseBeforeRead > 0 { usleep(pauseBeforeRead) }
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw Failure(description: "read failed or timed out: errno \(errno)") }
        if n == 0 { atEnd = true; return }
        buffer += chunk[..<n]
    }

    private func line() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                var bytes = Array(buffer[...i])
                buffer.removeFirst(i + 1)
                bytes.removeLast()
                if bytes.last == 0x0D { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            if atEnd { throw Failure(description: "connection closed inside a line") }
            try fill()
        }
    }

    private func exactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            if atEnd { throw Failure(description: "connection closed after \(buffer.count) of \(count) bytes") }
            try fill()
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Every byte until the server closes the connection, whatever it is.
    func readToEnd() throws -> [UInt8] {
        while !atEnd { try fill() }
        defer { buffer = [] }
        return buffer
    }

    /// The status line and headers (names lowercased).
    func readHead() throws -> (status: Int, headers: [String: String]) {
        let statusLine = try line()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line \(statusLine)") }
        var headers: [String: String] = [:]
        while true {
            let l = try line()
            if l.isEmpty { break }
            if let colon = l.firstIndex(of: ":") {
                headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        chunked = headers["transfer-encoding"]?.lowercased() == "chunked"
        remaining = headers["content-length"].flatMap(Int.init)
        return (status, headers)
    }

    private var chunked = false
    private var remaining: Int?

    /// The next piece of the body, or nil at its end.
    func readBodyPiece() throws -> [UInt8]? {
        if chunked {
            let sizeLine = try line()
            guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw Failure(description: "bad chunk size \(sizeLine)") }
            if size == 0 { return nil }
            let bytes = try exactly(size)
            _ = try line()
            return bytes
        }
        if let left = remaining {
            if left == 0 { return nil }
            if buffer.isEmpty && !atEnd { try fill() }
            let n = min(left, buffer.count)
            if n == 0 { return nil }
            remaining = left - n
            return try exactly(n)
        }
        if buffer.isEmpty && !atEnd { try fill() }
        if buffer.isEmpty { return nil }
        defer { buffer.removeAll() }
        return buffer
    }
}

/// A whole response.
struct HTTPTestResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    /// The body parsed as a JSON object.
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}

enum HTTPTestClient {
    /// Sends one request and reads the whole response.
    static func request(port: Int, _ method: String, _ path: String, headers: [String: String] = [:],
                        body: [UInt8] = []) throws -> HTTPTestResponse {
        let connection = try HTTPTestConnection(port: port)
        defer { connection.close() }
        try connection.send(method: method, path: path, headers: headers, body: body)
        let head = try connection.readHead()
        var bytes: [UInt8] = []
        while let piece = try connection.readBodyPiece() { bytes += piece }
        return HTTPTestResponse(status: head.status, headers: head.headers, body: bytes)
    }

    static func post(port: Int, _ path: String, json: String, headers: [String: String] = [:]) throws -> HTTPTestResponse {
        var h = headers
        h["Content-Type"] = "application/json"
        return try request(port: port, "POST", path, headers: h, body: Array(json.utf8))
    }
}

/// Reads server-sent events from a connection whose head was read: each event's `data:` payload, in order.
final class ServerSentEvents {
    let connection: HTTPTestConnection
    private var pending = ""

    init(_ connection: HTTPTestConnection) { self.connection = connection }

    /// The next event's data, or nil when the body ends.
    func next() throws -> String? {
        while true {
            if let range = pending.range(of: "\n\n") {
                let event = String(pending[..<range.lowerBound])
                pending = String(pending[range.upperBound...])
                let data = event.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { $0.hasPrefix("data:") }
                    .map { $0.dropFirst(5).drop(while: { $0 == " " }) }
                    .joined(separator: "\n")
                return data
            }
            guard let piece = try connection.readBodyPiece() else {
                return nil
            }
            pending += String(decoding: piece, as: UTF8.self)
        }
    }
}
