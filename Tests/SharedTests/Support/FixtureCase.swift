import Foundation
import Shared

/// One golden-fixture directory under `Tests/Fixtures/<case>/`.
struct FixtureCase: Sendable {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static var updating: Bool { ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" }

    static func all() throws -> [FixtureCase] {
        try FileManager.default.contentsOfDirectory(atPath: root.path).sorted().compactMap { name in
            var isDirectory: ObjCBool = false
            let url = root.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { return nil }
            return FixtureCase(name: name, directory: url)
        }
    }

    let name: String
    let directory: URL

    func url(_ file: String) -> URL { directory.appendingPathComponent(file) }

    func bytes(_ file: String) -> [UInt8]? {
        (try? Data(contentsOf: url(file))).map { [UInt8]($0) }
    }

    func json(_ file: String) throws -> JSONValue? {
        guard let bytes = bytes(file) else { return nil }
        return try JSONParser.parse(bytes)
    }

    /// `case.json`: per-case configuration of the translator.
    var settings: JSONValue { (try? json("case.json")) ?? .object(JSONObject()) }

    var options: TranslationOptions {
        TranslationOptions(
            promptTuning: settings["prompt_tuning"]?.boolValue ?? false,
            maxOutputTokensClamp: settings["output_clamp"]?.intValue,
            unsupportedMediaPlaceholder: settings["media_placeholder"]?.stringValue)
    }

    var catalog: ModelCatalog {
        var catalog = ModelCatalog()
        if let rules = settings["model_rules"]?.arrayValue {
            catalog.rules = rules.compactMap { pair in
                guard let items = pair.arrayValue, items.count == 2, let pattern = items[0].stringValue,
                    let target = items[1].stringValue
                else { return nil }
                return ModelCatalog.Rule(pattern: pattern, target: target)
            }
        }
        if settings["vision"]?.boolValue == true {
            for name in catalog.profiles.keys { catalog.profiles[name]?.supportsVision = true }
        }
        return catalog
    }

    /// Compares `actual` with the golden file, or rewrites it under `UPDATE_GOLDEN=1`. Returns a mismatch message.
    func check(_ file: String, actual: String) -> String? {
        let target = url(file)
        if Self.updating {
            try? actual.write(to: target, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOf: target, encoding: .utf8) else {
            return "\(name)/\(file) is missing (run with UPDATE_GOLDEN=1 and review the diff)"
        }
        return expected == actual ? nil : "\(name)/\(file) differs:\n--- expected\n\(expected)\n--- actual\n\(actual)"
    }
}
