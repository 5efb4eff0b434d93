/// `TokenEstimator`'s byte rule as a five-state machine, stepped four bytes per table lookup.
///
/// The rule, per byte: a letter, digit or underscore starts a token at the 1st, 5th, 9th… byte of its run; a
/// punctuation byte at the 1st, 3rd… byte of its run; a non-ASCII lead byte is a token of its own; spaces, tabs
/// and UTF-8 continuation bytes end any run. That sums to ceil(n/4) per word run and ceil(n/2) per punctuation run.
/// Only the position in the run modulo 4 or 2 matters, hence five states. `step` is the rule; `blockTable` is
/// derived from it for every state and four-byte combination of classes, so the hot loop has one dependent load per
/// four bytes instead of a chain of unpredictable branches per byte.
enum TokenCountingMachine {
    enum ByteClass: UInt8, CaseIterable {
        case separator = 0, word, punctuation, scalarStart
    }

    enum State: UInt8, CaseIterable {
        /// Outside any run, or in a word run whose length is a multiple of 4: a word byte starts a token.
        case wordBoundary = 0
        case wordPlus1, wordPlus2, wordPlus3
        /// In a punctuation run of odd length: the next punctuation byte does not start a token.
        case punctuationOdd
    }

    static func step(_ state: State, _ byteClass: ByteClass) -> (next: State, startsToken: Bool) {
        switch byteClass {
        case .separator: return (.wordBoundary, false)
        case .scalarStart: return (.wordBoundary, true)
        case .punctuation: return state == .punctuationOdd ? (.wordBoundary, false) : (.punctuationOdd, true)
        case .word:
            switch state {
            case .wordBoundary, .punctuationOdd: return (.wordPlus1, true)
            case .wordPlus1: return (.wordPlus2, false)
            case .wordPlus2: return (.wordPlus3, false)
            case .wordPlus3: return (.wordBoundary, false)
            }
        }
    }

    static func byteClass(_ byte: UInt8) -> ByteClass {
        switch byte {
        case 0x80...: return byte & 0xC0 == 0x80 ? .separator : .scalarStart
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
            return .word
        case UInt8(ascii: " "), UInt8(ascii: "\t"): return .separator
        default: return .punctuation
        }
    }

    static func count(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        blockTable.withUnsafeBufferPointer { blockTable in
            positionedClasses.withUnsafeBufferPointer { positionedClasses in
                guard let base = bytes.baseAddress else { return 0 }
                func chain(_ range: Range<Int>) -> Chain {
                    Chain(base: base, range: range, blockTable: blockTable, positionedClasses: positionedClasses)
                }
                // Each block waits for the previous block's state, so a single chain is bound by load latency.
                // Two halves counted side by side double the throughput; the second half starts right after a
                // byte that sends the machine back to `.wordBoundary` from any state, so the split changes nothing.
                // Text without such a byte nearby (base64 data) is counted in one chain rather than searched.
                let middle = bytes.count / 2
                guard bytes.count >= 64,
                    let restart = bytes[middle..<min(middle + 256, bytes.count)].firstIndex(where: {
                        resetsState(byteClass($0))
                    })
                else {
                    var whole = chain(0..<bytes.count)
                    whole.finish()
                    return whole.tokens
                }
                var first = chain(0..<restart + 1)
                var second = chain(restart + 1..<bytes.count)
                while first.hasBlock, second.hasBlock {
                    first.stepBlock()
                    second.stepBlock()
                }
                first.finish()
                second.finish()
                return first.tokens + second.tokens
            }
        }
    }

    private static func resetsState(_ byteClass: ByteClass) -> Bool {
        byteClass == .separator || byteClass == .scalarStart
    }

    /// The machine run over one range of the bytes.
    private struct Chain {
        let base: UnsafePointer<UInt8>
        let end: Int
        let blockTable: UnsafeBufferPointer<UInt16>
        let positionedClasses: UnsafeBufferPointer<UInt8>
        var index: Int
        /// The current state `<< 8`: its row in `blockTable`.
        var row = 0
        var tokens = 0

        init(base: UnsafePointer<UInt8>, range: Range<Int>, blockTable: UnsafeBufferPointer<UInt16>,
             positionedClasses: UnsafeBufferPointer<UInt8>) {
            self.base = base
            self.end = range.upperBound
            self.blockTable = blockTable
            self.positionedClasses = positionedClasses
            self.index = range.lowerBound
        }

        var hasBlock: Bool { index &+ 4 <= end }

        @inline(__always)
        mutating func stepBlock() {
            let classes = positionedClasses[Int(truncatingIfNeeded: base[index])]
                | positionedClasses[256 | Int(truncatingIfNeeded: base[index &+ 1])]
                | positionedClasses[512 | Int(truncatingIfNeeded: base[index &+ 2])]
                | positionedClasses[768 | Int(truncatingIfNeeded: base[index &+ 3])]
            let entry = Int(blockTable[row | Int(classes)])
            tokens &+= entry & 0xFF
            row = entry & ~0xFF
            index &+= 4
        }

        /// The remaining blocks, then the last zero to three bytes one at a time.
        mutating func finish() {
            while hasBlock { stepBlock() }
            var state = State.allCases[row >> 8]
            while index < end {
                let (next, startsToken) = step(state, byteClass(base[index]))
                if startsToken { tokens &+= 1 }
                state = next
                index &+= 1
            }
        }
    }

    /// Entry `k << 8 | byte`: the byte's class shifted to its slot `k` in a four-byte index.
    private static let positionedClasses: [UInt8] = (0..<4).flatMap { slot in
        (0...255).map { byteClass(UInt8($0)).rawValue << (2 * slot) }
    }

    /// Entry `state << 8 | four classes`: the next state `<< 8` (the next row) plus the tokens started.
    private static let blockTable: [UInt16] = State.allCases.flatMap { start in
        (0...255).map { classes -> UInt16 in
            var state = start
            var tokens: UInt16 = 0
            for slot in 0..<4 {
                let (next, startsToken) = step(state, ByteClass.allCases[classes >> (2 * slot) & 3])
                state = next
                if startsToken { tokens += 1 }
            }
            return UInt16(state.rawValue) << 8 | tokens
        }
    }
}
