@testable import Shared
import TestSupport
import Testing

@Suite("Token counting machine")
struct TokenCountingMachineTests {
    /// The estimator's rule written run by run, as it was before the four-byte machine replaced it.
    private func countByRuns(_ bytes: [UInt8]) -> Int {
        var tokens = 0
        var wordRun = 0
        var punctuationRun = 0
        func endRuns() {
            tokens += (wordRun + 3) / 4 + (punctuationRun + 1) / 2
            wordRun = 0
            punctuationRun = 0
        }
        for byte in bytes {
            let isWord = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x5F
            if byte >= 0x80 {
                endRuns()
                if byte & 0xC0 != 0x80 { tokens += 1 }
            } else if isWord {
                tokens += (punctuationRun + 1) / 2
                punctuationRun = 0
                wordRun += 1
            } else if byte == 0x20 || byte == 0x09 {
                endRuns()
            } else {
                tokens += (wordRun + 3) / 4
                wordRun = 0
                punctuationRun += 1
            }
        }
        endRuns()
        return tokens
    }

    @Test("agrees with the run-by-run rule on random text of every length, split in two chains or not")
    func agreesWithRunRule() {
        var random = SplitMix64(seed: 0x70C3)
        let alphabet = Array("aZ9_ .,{}\"\n\t-".utf8) + [0xC3, 0xA9, 0xE4, 0xBD, 0xA0, 0xF0, 0x9F, 0x8E, 0x89, 0xFF]
        for _ in 0..<5_000 {
            let length = Int(random.next() % 700)
            // Long runs of one class sometimes, to cross several four-byte blocks in the same state, and long
            // stretches without a space, so that the halves are not always split.
            let runLength = [1, 9, 300][Int(random.next() % 3)]
            var bytes: [UInt8] = []
            while bytes.count < length {
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                bytes.append(contentsOf: repeatElement(byte, count: Int(random.next() % UInt64(runLength)) + 1))
            }
            let counted = bytes.withUnsafeBufferPointer { TokenCountingMachine.count($0) }
            #expect(counted == countByRuns(bytes), "\(bytes)")
        }
    }
}
