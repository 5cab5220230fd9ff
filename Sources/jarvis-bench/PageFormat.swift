import ArgumentParser
import JarvisMemory
import JarvisStore

/// `--dtype fp16|q8|q4`: a page format by its name. A wrapper rather than a conformance of
/// `KVPageDType` itself: ArgumentParser prints an enumeration's raw value (1, 2, 3) as its
/// default, where this prints the name.
struct PageFormat: ExpressibleByArgument, CustomStringConvertible {
    let dtype: KVPageDType

    init(_ dtype: KVPageDType) { self.dtype = dtype }
    init?(argument: String) {
        guard let dtype = KVPageDType(name: argument) else { return nil }
        self.dtype = dtype
    }

    /// The daemon's default page format.
    static var daemonDefault: PageFormat { PageFormat(PersonalMemory.Options().dtype) }

    static var allValueStrings: [String] { KVPageDType.allCases.map(\.name) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    var defaultValueDescription: String { dtype.name }
    var description: String { dtype.name }
}
