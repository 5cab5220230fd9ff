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

/// A file of JSON lines, one object per answer (`--dump`), for looking at a run's answers
/// afterwards.
final class JSONLines {
    private let handle: FileHandle

    /// Creates (or empties) the file at `path`.
    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw ValidationError("cannot write \(path)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    /// Appends `object` as one line, keys sorted.
    func write(_ object: [String: Any]) throws {
        handle.write(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) + Data("\n".utf8))
    }

    deinit { try? handle.close() }
}
