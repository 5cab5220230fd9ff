import Foundation
import XCTest
@testable import JarvisEngine

/// Path of the shipped model, found the way the product finds it (`ModelFiles`).
/// - Throws: the product's error, which says to run scripts/setup, when it is missing.
func shippedModelPath() throws -> String {
    try ModelFiles.path(of: ModelFiles.defaultLanguageModel)
}

/// A fresh temporary directory for one test; remove it in a `defer`.
func makeTempDir(_ label: String = "test") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
