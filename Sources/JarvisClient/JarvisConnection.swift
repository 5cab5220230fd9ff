#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JarvisProtocol

/// A connection to jarvisd over its Unix socket, with blocking calls: what a command-line
/// client, a benchmark or a test needs. One request at a time per connection unless the caller
/// pipelines with `send` and `receive` itself.
public final class JarvisConnection {
    public let socketPath: String
    private let fd: Int32
    private var decoder = FrameDecoder(maxFrame: 16 << 20)
    private var pending: [[UInt8]] = []
    private var nextID: Int64 = 1

    /// Connects to the daemon's socket.
    /// - Throws: `ClientError.notRunning` when nothing listens there, `.permissionDenied`,
    ///   `.io` for anything else.
    public init(socketPath: String) throws {
        self.socketPath = socketPath
        guard socketPath.utf8.count <= SocketLocation.maxPathBytes else {
            throw ClientError(.io, "the socket path \(socketPath) is longer than \(SocketLocation.maxPathBytes) bytes")
        }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError(.io, "socket(): \(String(cString: strerror(errno)))") }
        let fd = self.fd
        let rc = SocketLocation.withAddress(socketPath) { connect(fd, $0, $1) } ?? -1
        if rc != 0 {
            let e = errno
            close(fd)
            switch e {
            case ENOENT, ECONNREFUSED:
                throw ClientError(.notRunning, "jarvisd is not running (nothing listens on \(socketPath)). Start it with `systemctl --user start jarvisd.socket`, or run `jarvisd` in a terminal.")
            case EACCES, EPERM:
                throw ClientError(.permissionDenied, "not allowed to connect to \(socketPath): it belongs to another user")
            default:
                throw ClientError(.io, "cannot connect to \(socketPath): \(String(cString: strerror(e)))")
            }
        }
    }

    deinit { close(fd) }

    /// Whether `body` fits in one request frame when sent next (`send` would refuse it
    /// otherwise); a text that does not fit is sent by path.
    public func fitsInFrame(_ body: Request.Body) -> Bool {
        ProtocolCodec.fitsInFrame(Request(id: .number(nextID), body))
    }

    /// Sends one request; returns the id it went out with.
    @discardableResult
    public func send(_ body: Request.Body, id: RequestID? = nil) throws -> RequestID {
        let rid = id ?? .number(nextID)
        nextID += 1
        try write(try Framing.frame(ProtocolCodec.encode(Request(id: rid, body))))
        return rid
    }

    /// Sends raw bytes as they are (for tests of bad input).
    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError(.io, "the connection to jarvisd broke: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// The next reply frame's payload, or nil when the daemon closed the connection.
    public func receiveFrame() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while pending.isEmpty {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError(.io, "reading from jarvisd failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return nil }
            do { pending += try decoder.append(buffer[0..<n]) } catch {
                throw ClientError(.io, "jarvisd sent a bad frame: \(error)")
            }
        }
        return pending.removeFirst()
    }

    /// The next reply.
    /// - Throws: `.disconnected` if the daemon closed the connection.
    public func receive() throws -> Reply {
        guard let payload = try receiveFrame() else {
            throw ClientError(.disconnected, "jarvisd closed the connection (it may be shutting down or have stopped)")
        }
        do {
            return try ProtocolCodec.decodeReply(payload)
        } catch {
            throw ClientError(.io, "jarvisd sent a reply this client cannot read: \(error)")
        }
    }

    /// Sends a request and waits for its result, passing `token` and `progress` events on.
    /// - Throws: `ClientError.server` carrying the daemon's error.
    public func call(_ body: Request.Body, onEvent: (Reply.Event) -> Void = { _ in }) throws -> Reply.Result {
        let id: RequestID
        do {
            id = try send(body)
        } catch {
            // The daemon may have refused the connection and closed it before the request went
            // out: its reason is already waiting to be read.
            if let reply = try? receive(), reply.id == nil, case .error(let e) = reply.event { throw Self.failure(e) }
            throw error
        }
        while true {
            let reply = try receive()
            // An error without an id is about the connection itself (a refused peer, broken framing).
            if reply.id == nil, case .error(let e) = reply.event { throw Self.failure(e) }
            guard reply.id == id else { continue }
            switch reply.event {
            case .done(let result): return result
            case .error(let e): throw Self.failure(e)
            case .token, .progress: onEvent(reply.event)
            }
        }
    }

    /// Every entry, in id order, read a page of `pageSize` at a time (so that no one reply,
    /// and no one pause of the daemon, grows with the store).
    public func allEntries(pageSize: Int = 1000) throws -> [EntryInfo] {
        var all: [EntryInfo] = [], after: UInt64?
        repeat {
            guard case .entries(let page, let next, _) = try call(.list(.init(limit: pageSize, after: after))) else {
                throw ClientError(.io, "jarvisd answered list with something other than entries")
            }
            all += page
            after = next
        } while after != nil
        return all
    }

    private static func failure(_ e: ProtocolError) -> ClientError { ClientError(.server(e.code), e.message, protocolError: e) }

    /// `hello`: checks the protocol version and returns the daemon's identity.
    public func hello(client: String) throws -> HelloResult {
        guard case .hello(let h) = try call(.hello(.init(protocol: ProtocolCodec.version, client: client))) else {
            throw ClientError(.io, "jarvisd answered hello with something else")
        }
        return h
    }
}
