/// The header fields of an upstream response as its transfer keeps them (`UpstreamTransfer.keptName`): lowercased
/// names, in the order they came.
extension Array where Element == (name: String, value: String) {
    /// The value of the first field named `name` (lowercased). Lengths are compared first: most of the fields passed
    /// over differ from `name` in length, which settles them without comparing bytes, and a name made with
    /// `UpstreamTransfer.storedName` is the very string a matching field holds, which `==` recognises at once.
    func firstValue(named name: String) -> String? {
        let length = name.utf8.count
        return first { $0.name.utf8.count == length && $0.name == name }?.value
    }
}
