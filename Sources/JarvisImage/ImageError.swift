/// An error from reading or writing an image. `code` is stable; `message` names the file and
/// says what is wrong.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        /// The file could not be opened, read or written.
        case io
        /// Not a JPEG or PNG, corrupt, or an unsupported kind (CMYK).
        case invalidImage = "invalid_image"
        /// Beyond a size limit (bytes, pixels), refused before any large allocation.
        case tooLarge = "too_large"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
