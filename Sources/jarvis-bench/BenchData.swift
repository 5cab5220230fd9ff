import ArgumentParser
import Foundation

/// A committed benchmark set, decoded from its JSON file.
/// - Throws: a usage error saying where to run from when the file is not there.
func readBenchData<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    guard let raw = FileManager.default.contents(atPath: path) else {
        throw ValidationError("cannot read \(path): run from the repository root or pass --data")
    }
    return try JSONDecoder().decode(type, from: raw)
}
