import Shared
import Testing

/// `Double(plainDecimal:)` reads every text exactly as `Double(_:)` does, bit for bit, on its own path or not.
@Suite("Plain decimal numbers")
struct PlainDecimalTests {
    private func expectSameAsStandard(_ text: String) {
        let standard = Double(text)
        let plain = Double(plainDecimal: text)
        #expect(plain?.bitPattern == standard?.bitPattern,
                "\(text): \(String(describing: plain)) against \(String(describing: standard))")
    }

    @Test("reads the upstream's figures and odd texts as Double(_:) does", arguments: [
        "11.382867", "33011.382867", "9999000", "0", "0.0", "00012", "1.", ".5", "999999999999999", "0.000000000000001",
        "123456789012345", "1234567890123456", "12345678901234567890", "1e3", "-1", "+1", " 1", "1 ", "", ".", "..",
        "1.2.3", "0x10", "inf", "nan", "1,5", "٣",
    ])
    func fixed(_ text: String) {
        expectSameAsStandard(text)
    }

    @Test("reads 20,000 random plain decimals as Double(_:) does")
    func random() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...17, using: &generator)
            var text = String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            if Bool.random(using: &generator) {
                let point = Int.random(in: 0...digits, using: &generator)
                text.insert(".", at: text.index(text.startIndex, offsetBy: point))
            }
            expectSameAsStandard(text)
        }
    }
}
