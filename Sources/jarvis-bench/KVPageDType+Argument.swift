import ArgumentParser
import JarvisStore

/// `--dtype fp16|q8|q4`: a page format by its name.
extension KVPageDType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let match = Self.allCases.first(where: { "\($0)" == argument }) else { return nil }
        self = match
    }

    public static var allValueStrings: [String] { allCases.map { "\($0)" } }
    public var defaultValueDescription: String { "\(self)" }
}
