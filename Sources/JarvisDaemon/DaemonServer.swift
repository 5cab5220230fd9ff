import Foundation
import JarvisProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The socket server: accepts clients on a Unix socket, serves each in its own task, and on
/// graceful shutdown stops accepting, cancels what runs and closes every connection once its
/// last reply is written.
///
/// Only processes of the daemon's own user are served (SO_PEERCRED), whatever the socket's
/// file mode says. Requests on one connection may be pipelined; each runs in its own task, and
/// model work queues in the handler.
public final class DaemonServer: Service, Sendable {
    /// Where to listen.
    public enum Listener: Sendable {
        /// Bind this path (its directory is created 0700, the socket is 0600).
        case path(String)
        /// A listening socket passed in by systemd.
        case activated(Int32)
    }

    let handler: any RequestHandler
    let listener: Listener
    let logger: Logger
    let maxFrame: Int
    let onListening: @Sendable () -> Void
    let onShutdown: @Sendable () -> Void
    let ownerUID = getuid()
    private let sessions = Mutex<[ObjectIdentifier: ClientSession]>([:])
    private let shuttingDown = Mutex(false)

    /// - Parameters:
    ///   - onListening: called once the socket accepts connections.
    ///   - onShutdown: called when graceful shutdown begins.
    public init(handler: any RequestHandler, listener: Listener, logger: Logger,
                maxFrame: Int = Framing.defaultMaxFrame, onListening: @escaping @Sendable () -> Void = {},
                onShutdown: @escaping @Sendable () -> Void = {}) {
        self.handler = handler
        self.listener = listener
        self.logger = logger
        self.maxFrame = maxFrame
        self.onListening = onListening
        self.onShutdown = onShutdown
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await bind(group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        onListening()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
            server.channel.close(promise: nil)
        }
        try await group.shutdownGracefully()
    }

    /// Takes no new work: cancels every request and closes each connection after its replies.
    func beginShutdown() {
        shuttingDown.withLock { $0 = true }
        onShutdown()
        logger.notice("shutting down: cancelling running requests")
        for s in sessions.withLock({ Array($0.values) }) { s.closeWhenIdle(.shutdown) }
    }

    // MARK: - Binding

    private func bind(_ group: MultiThreadedEventLoopGroup) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
        let makeChild: @Sendable (Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel(wrappingChannelSynchronously: channel) }
        }
        switch listener {
        case .activated(let fd):
            logger.info("serving the socket systemd passed in (fd \(fd))")
            return try await bootstrap.bind(fd, childChannelInitializer: makeChild)
        case .path(let path):
            try Self.prepare(socketPath: path)
            // No moment where the socket exists with a wider mode than 0600.
            let old = umask(0o177)
            defer { umask(old) }
            let server = try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: makeChild)
            chmod(path, 0o600)
            logger.info("listening on \(path)")
            return server
        }
    }

    /// Creates the socket's directory (0700) and removes a stale socket a crashed daemon left.
    /// - Throws: `DaemonError` if another jarvisd serves the path, or the path or its directory
    ///   is unsafe to use (someone else's, or writable by others).
    static func prepare(socketPath path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        var st = stat()
        if stat(dir, &st) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw DaemonError(.internalError, "cannot create the socket directory \(dir): \(error.localizedDescription)")
            }
        } else {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw DaemonError(.internalError, "\(dir) is not a directory") }
            guard st.st_uid == getuid() || (st.st_mode & S_ISVTX) != 0 else {
                throw DaemonError(.internalError, "the socket directory \(dir) belongs to uid \(st.st_uid), not to this user")
            }
            if (st.st_mode & 0o022) != 0 && (st.st_mode & S_ISVTX) == 0 {
                throw DaemonError(.internalError, "the socket directory \(dir) is writable by other users; use a private directory")
            }
        }
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw DaemonError(.internalError, "\(path) exists and is not a socket; remove it or choose another --socket")
            }
            if Self.someoneListens(on: path) {
                throw DaemonError(.internalError, "another jarvisd is already serving on \(path)")
            }
            unlink(path)
        }
    }

    static func someoneListens(on path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return SocketLocation.withAddress(path) { connect(fd, $0, $1) } == 0
    }

    // MARK: - Connections

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let session = ClientSession()
        let key = ObjectIdentifier(session)
        let late = sessions.withLock { s -> Bool in
            s[key] = session
            return shuttingDown.withLock { $0 }
        }
        defer { _ = sessions.withLock { $0.removeValue(forKey: key) } }
        if late { session.closeWhenIdle(.shutdown) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                let channel = connection.channel
                async let written: Void = Self.write(session.outgoing, to: outbound, closing: channel)
                let peer = try? await PeerCredentials.of(channel)
                if let peer, peer.uid == ownerUID {
                    await read(inbound, session)
                } else {
                    logger.warning("refused a connection from uid \(peer.map { String($0.uid) } ?? "unknown") (pid \(peer.map { String($0.pid) } ?? "?"))")
                    session.send(Reply(id: nil, .error(ProtocolError(.permissionDenied, "jarvisd serves only its own user (uid \(ownerUID))"))))
                    session.closeAfterPending()
                }
                session.finish()
                await written
            }
        } catch {
            logger.debug("connection ended: \(error)")
        }
    }

    /// Reads frames until the client leaves (or the connection is closed), running each
    /// request in its own task; returns when every request of the connection has ended.
    private func read(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, _ session: ClientSession) async {
        await withDiscardingTaskGroup { requests in
            var decoder = FrameDecoder(maxFrame: maxFrame)
            do {
                reading: for try await chunk in inbound {
                    let frames: [[UInt8]]
                    do {
                        frames = try decoder.append(chunk.readableBytesView)
                    } catch {
                        // The stream cannot be trusted past a bad length: say so and close.
                        session.send(Reply(id: nil, .error(error as? ProtocolError ?? ProtocolError(.frameTooLarge, "\(error)"))))
                        session.closeAfterPending()
                        break reading
                    }
                    for payload in frames {
                        switch ProtocolCodec.decodeRequest(payload) {
                        case .failure(let f): session.send(Reply(id: f.id, .error(f.error)))
                        case .success(let request): dispatch(request, session, &requests)
                        }
                    }
                }
            } catch {
                logger.debug("read failed: \(error)")
            }
            // The client left (or we closed): nobody will read the rest of the answers.
            session.cancelAll(.clientLeft)
        }
    }

    private func dispatch(_ request: Request, _ session: ClientSession, _ requests: inout DiscardingTaskGroup) {
        let id = request.id
        if case .cancel(let c) = request.body {
            if session.cancel(c.target, .request) {
                session.send(Reply(id: id, .done(.cancel(cancelled: true))))
            } else {
                session.send(Reply(id: id, .error(ProtocolError(.notFound, "no request with id \(c.target) is running on this connection"))))
            }
            return
        }
        if shuttingDown.withLock({ $0 }) || session.isClosing {
            session.send(Reply(id: id, .error(ProtocolError(.shuttingDown, "jarvisd is shutting down and takes no new work"))))
            return
        }
        guard let token = session.begin(id) else {
            session.send(Reply(id: id, .error(ProtocolError(.badRequest, "a request with id \(id) is already running on this connection"))))
            return
        }
        let handler = self.handler, logger = self.logger
        requests.addTask {
            let started = ContinuousClock.now
            do {
                let result = try await handler.handle(request.body, token: token) { session.send(Reply(id: id, $0)) }
                session.end(id, with: Reply(id: id, .done(result)))
                logger.debug("\(request.body.op) done", metadata: ["id": "\(id)", "ms": "\((ContinuousClock.now - started).milliseconds)"])
            } catch {
                var e = DaemonError(error)
                if e.code == .cancelled, let reason = token.reason { e = DaemonError(.cancelled, "\(request.body.op) was cancelled: \(reason.rawValue)") }
                session.end(id, with: Reply(id: id, .error(e.protocolError)))
                let level: Logger.Level = e.code == .internalError || e.code == .storeError ? .error : .info
                logger.log(level: level, "\(request.body.op) failed: \(e.code.rawValue): \(e.message)", metadata: ["id": "\(id)"])
            }
        }
    }

    /// Writes replies in order until told to close (or the replies end).
    private static func write(_ outgoing: AsyncStream<ClientSession.Outgoing>, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                              closing channel: any Channel) async {
        for await next in outgoing {
            switch next {
            case .reply(let reply):
                let bytes: [UInt8]
                do {
                    bytes = try Framing.frame(ProtocolCodec.encode(reply))
                } catch {
                    let e = Reply(id: reply.id, .error(ProtocolError(.internalError, "the reply is larger than the 16 MiB frame limit")))
                    bytes = (try? Framing.frame(ProtocolCodec.encode(e))) ?? []
                }
                // A client that has gone cannot be written to; the rest is drained and dropped.
                try? await outbound.write(ByteBuffer(bytes: bytes))
            case .close:
                try? await channel.close()
                return
            }
        }
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
