import JarvisEngine
import JarvisImage
import JarvisMemory
import JarvisProtocol
import JarvisStore

/// An error inside the daemon. `code` is one of the protocol's codes, so every failure has a
/// stable answer on the wire; the message says what happened and, where it can, what to do.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public let code: ProtocolError.Code
    public let message: String

    public init(_ code: ProtocolError.Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The reply for this error.
    public var protocolError: ProtocolError { ProtocolError(code, message) }

    /// Any error the daemon's parts throw, as a daemon error.
    public init(_ error: any Error) {
        switch error {
        case let e as DaemonError:
            self = e
        case let e as ProtocolError:
            self.init(e.code, e.message)
        case let e as StoreError:
            switch e.code {
            case .notFound: self.init(.notFound, e.message)
            case .nameTaken: self.init(.nameTaken, e.message)
            case .invalidArgument: self.init(.badRequest, e.message)
            case .badPath: self.init(.badPath, e.message)
            case .noSpace: self.init(.noSpace, e.message)
            default: self.init(.storeError, e.message)
            }
        case let e as MemoryError:
            switch e.code {
            case .cancelled: self.init(.cancelled, e.message)
            case .notFound: self.init(.notFound, e.message)
            case .invalidArgument: self.init(.badRequest, e.message)
            case .unknownSession: self.init(.unknownSession, e.message)
            case .sessionFull: self.init(.sessionFull, e.message)
            default: self.init(.modelError, e.message)
            }
        case let e as ImageError:
            self.init(e.code == .io ? .badPath : .badImage, e.message)
        case let e as EngineError:
            switch e.code {
            case .cancelled: self.init(.cancelled, e.message)
            case .invalidArgument: self.init(.badRequest, e.message)
            default: self.init(.modelError, e.message)
            }
        default:
            self.init(.internalError, String(describing: error))
        }
    }
}
