import ArgumentParser
import JarvisStore

/// `--dtype fp16|q8|q4`: a page format by its name.
extension KVPageDType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public static var allValueStrings: [String] { allCases.map(\.name) }
    public var defaultValueDescription: String { name }
}
