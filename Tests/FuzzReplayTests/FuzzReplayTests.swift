import Foundation
import FuzzChecks
import XCTest

/// Every input `scripts/fuzz.sh` seeds its corpora with or replays as a regression, run once through the fuzz
/// targets' own checks (`Fuzz/Sources/FuzzChecks`), in the ordinary test build without sanitizers. This keeps
/// the fuzz code compiling against `Sources/Shared` on every `swift test` and holds the golden fixtures to the
/// fuzzers' invariants (whole vs. cut feeding, the event grammar, re-parsing the SSE written, the chunk scanner
/// against the generic JSON path). A violated invariant aborts the test process with
/// `FUZZ INVARIANT VIOLATED (file:line)`; the line before it names the input.
final class FuzzReplayTests: XCTestCase {
    private static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    private static let fixtures = testsRoot.appendingPathComponent("Fixtures")
    private static let controlSeeds = testsRoot.deletingLastPathComponent().appendingPathComponent("Fuzz/seeds/control")
    private static let httpSeeds = testsRoot.deletingLastPathComponent().appendingPathComponent("Fuzz/seeds/http")

    func testRequestTargetAcceptsEveryFixtureRequest() throws {
        let inputs = try Self.fixtureFiles(named: ["anthropic.request.json"])
        XCTAssertGreaterThan(inputs.count, 25, "the golden fixtures were not found under \(Self.fixtures.path)")
        try Self.replay(inputs, through: fuzzRequest)
    }

    func testStreamTargetAcceptsEveryFixtureUpstreamBody() throws {
        let inputs = try Self.fixtureFiles(named: ["openai.stream.sse", "openai.response.json"])
        XCTAssertGreaterThan(inputs.count, 25, "the golden fixtures were not found under \(Self.fixtures.path)")
        XCTAssertTrue(inputs.contains { $0.path.contains("/fuzz-") }, "the fuzz regression inputs are missing")
        try Self.replay(inputs, through: fuzzStream)
    }

    func testControlTargetAcceptsEverySeedAndRegression() throws {
        let seeds = try FileManager.default.contentsOfDirectory(at: Self.controlSeeds, includingPropertiesForKeys: nil)
        let inputs = seeds + (try Self.fixtureFiles(named: ["control.lines"]))
        XCTAssertGreaterThan(seeds.count, 3, "the control seeds were not found under \(Self.controlSeeds.path)")
        XCTAssertTrue(inputs.contains { $0.path.contains("/fuzz-") }, "the fuzz regression inputs are missing")
        try Self.replay(inputs.sorted { $0.path < $1.path }, through: fuzzControl)
    }

    func testHTTPTargetAcceptsEverySeed() throws {
        let seeds = try FileManager.default.contentsOfDirectory(at: Self.httpSeeds, includingPropertiesForKeys: nil)
        let inputs = seeds + (try Self.fixtureFiles(named: ["client.http"]))
        XCTAssertGreaterThan(seeds.count, 2, "the HTTP seeds were not found under \(Self.httpSeeds.path)")
        try Self.replay(inputs.sorted { $0.path < $1.path }, through: fuzzHTTP)
    }

    private static func fixtureFiles(named names: Set<String>) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: fixtures, includingPropertiesForKeys: nil)
            .sorted { $0.path < $1.path }
            .flatMap { directory in names.sorted().map { directory.appendingPathComponent($0) } }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
    }

    private static func replay(_ inputs: [URL], through target: ([UInt8]) -> Void) throws {
        for input in inputs {
            let bytes = [UInt8](try Data(contentsOf: input))
            // Written before the run: an invariant violation aborts the process, and this names the input.
            FileHandle.standardError.write(Data("fuzz replay: \(input.path)\n".utf8))
            target(bytes)
        }
    }
}
