import Foundation
import XCTest
import JarvisProtocol

/// Every input that ever crashed `fuzz-protocol`, replayed the way the fuzzer feeds it.
final class FuzzRegressionTests: XCTestCase {
    func testProtocolRegressions() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/fuzz-protocol").path
        let inputs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "README" }
        for name in inputs {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            var decoder = FrameDecoder(maxFrame: 1 << 16)
            let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
            var frames = (try? decoder.append(bytes[..<cut])) ?? []
            frames += (try? decoder.append(bytes[cut...])) ?? []
            for f in frames {
                if case .success(let r) = ProtocolCodec.decodeRequest(f) {
                    XCTAssertEqual(try ProtocolCodec.decodeRequest(ProtocolCodec.encode(r)).get(), r, name)
                }
            }
            _ = ProtocolCodec.decodeRequest(bytes)
        }
    }
}
