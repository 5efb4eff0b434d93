import Foundation
import XCTest

@testable import Shared

/// The POSIX helpers that replaced Foundation in the gateway, checked against what Foundation gave.
final class PlatformTests: XCTestCase {
    func testRFC3339MatchesISO8601FormatWhenRoundingDown() {
        for seconds in [0, 1.7, 1_764_057_600.999, 1_795_593_600.5, 4_102_444_799.2] {
            XCTAssertEqual(RFC3339.format(seconds, rounding: .down),
                           Date(timeIntervalSince1970: seconds).ISO8601Format())
        }
    }

    func testRFC3339MatchesISO8601FormatOverManyInstants() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Int.random(in: 0...253_402_300_799, using: &generator)  // up to 9999-12-31T23:59:59Z
            let milliseconds = Int.random(in: 0...999, using: &generator)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000 + 0.0001)
            XCTAssertEqual(RFC3339.format(seconds: seconds, milliseconds: nil), date.ISO8601Format())
            XCTAssertEqual(RFC3339.format(seconds: seconds, milliseconds: milliseconds),
                           date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)) + "Z")
        }
    }

    func testRFC3339RoundsResetsUpAndPadsMilliseconds() {
        XCTAssertEqual(RFC3339.format(1_764_057_600.2, rounding: .up), "2025-11-25T08:00:01Z")
        XCTAssertEqual(RFC3339.format(seconds: 1_764_057_600, milliseconds: 7), "2025-11-25T08:00:00.007Z")
        XCTAssertEqual(RFC3339.format(seconds: 1_764_057_600, milliseconds: nil), "2025-11-25T08:00:00Z")
        XCTAssertEqual(RFC3339.format(seconds: 0, milliseconds: 0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(RFC3339.format(seconds: 253_402_300_799, milliseconds: 999), "9999-12-31T23:59:59.999Z")
    }

    /// `format(_:rounding:)` keeps the last seconds it wrote: a repeat must give that second's text, a change the new
    /// one's, whatever order the seconds come in and from however many threads.
    func testRFC3339RepeatsAndChangesOfTheSecondFromManyThreads() {
        let instants = [1_764_057_600.2, 1_764_057_600.9, 1_764_057_601.5, 1_764_057_600.0, 4_102_444_799.2, 0.5]
        for instant in instants + instants.reversed() + instants {
            XCTAssertEqual(RFC3339.format(instant, rounding: .up),
                           RFC3339.format(seconds: Int(instant.rounded(.up)), milliseconds: nil))
            XCTAssertEqual(RFC3339.format(instant, rounding: .down),
                           RFC3339.format(seconds: Int(instant.rounded(.down)), milliseconds: nil))
        }
        let mismatches = LockedBox(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for step in 0..<5_000 {
                let seconds = 1_764_057_600 + (step * 7 + thread) % 5
                if RFC3339.format(Double(seconds) + 0.25, rounding: .down)
                    != RFC3339.format(seconds: seconds, milliseconds: nil) {
                    mismatches.mutate { $0 += 1 }
                }
            }
        }
        XCTAssertEqual(mismatches.value, 0)
    }

    func testWallClockAgreesWithDate() {
        XCTAssertEqual(WallClock.now(), Date().timeIntervalSince1970, accuracy: 1)
    }

    func testEnvironmentMatchesProcessInfo() {
        XCTAssertEqual(ProcessEnvironment.current(), ProcessInfo.processInfo.environment)
    }

    func testHostNameMatchesProcessInfo() {
        XCTAssertEqual(HostName.current(), ProcessInfo.processInfo.hostName)
    }

    func testProcessorCountIsAtMostTheOnlineCPUs() {
        let count = ProcessorCount.available()
        XCTAssertGreaterThanOrEqual(count, 1)
        XCTAssertLessThanOrEqual(count, ProcessInfo.processInfo.processorCount)
    }

    func testCPUQuotaFromCgroupV2ElseV1() {
        func quota(_ v2: String?, _ v1Quota: String? = nil, _ v1Period: String? = nil) -> Int? {
            ProcessorCount.cpuQuota(cgroupV2CPUMax: v2, cgroupV1Quota: v1Quota, cgroupV1Period: v1Period)
        }
        XCTAssertEqual(quota("150000 100000\n"), 2)  // docker --cpus 1.5
        XCTAssertEqual(quota("100000 100000\n"), 1)
        XCTAssertEqual(quota("50000 100000\n"), 1)
        XCTAssertNil(quota("max 100000\n"))
        XCTAssertNil(quota("garbage"))
        // cgroup v2 present decides, even without a quota; v1 only when v2 is absent.
        XCTAssertNil(quota("max 100000\n", "300000\n", "100000\n"))
        XCTAssertEqual(quota(nil, "300000\n", "100000\n"), 3)
        XCTAssertEqual(quota(nil, "250000\n", "100000\n"), 3)
        XCTAssertNil(quota(nil, "-1\n", "100000\n"))
        XCTAssertNil(quota(nil, nil, nil))
    }

    func testTextFileReadsUTF8WithoutByteOrderMarkAndTellsMissingFromUnreadable() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("platform-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let withMark = directory.appendingPathComponent("mark.env").path
        let invalid = directory.appendingPathComponent("invalid.env").path
        let missing = directory.appendingPathComponent("missing.env").path
        FileManager.default.createFile(atPath: withMark, contents: Data([0xEF, 0xBB, 0xBF] + Array("A=1\n".utf8)))
        FileManager.default.createFile(atPath: invalid, contents: Data([0x41, 0x3D, 0xFF, 0x0A]))

        XCTAssertEqual(TextFile.contents(atPath: withMark), try String(contentsOfFile: withMark, encoding: .utf8))
        XCTAssertEqual(TextFile.contents(atPath: withMark), "A=1\n")
        XCTAssertNil(TextFile.contents(atPath: invalid))
        XCTAssertNil(TextFile.contents(atPath: directory.path))
        XCTAssertTrue(TextFile.exists(atPath: directory.path))
        XCTAssertFalse(TextFile.exists(atPath: missing))
        XCTAssertNil(TextFile.contents(atPath: missing))
    }

    func testDetachedThreadRunsNamed() {
        let done = expectation(description: "thread ran")
        DetachedThread.start(name: "platform-test") {
            XCTAssertEqual(try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8), "platform-test\n")
            done.fulfill()
        }
        wait(for: [done], timeout: 5)
    }

    func testFileDescriptorWriterWritesEverything() throws {
        var pair: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&pair), 0)
        defer { close(pair[0]) }
        let text = String(repeating: "ü", count: 10_000)
        FileDescriptorWriter.writeAll(text.utf8, to: pair[1])
        close(pair[1])
        let received = FileHandle(fileDescriptor: pair[0]).readDataToEndOfFile()
        XCTAssertEqual(String(decoding: received, as: UTF8.self), text)
    }
}
