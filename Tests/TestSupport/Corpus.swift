import Foundation
import MouthpieceCore

/// The committed malformed-input corpus, `Tests/Corpus/{image,audio,json}` (written by
/// `scripts/make-corpus.py`), and the byte mutations the corpus runners apply to its seeds.
public enum Corpus {
    public static let directory = TestFiles.packageRoot.appendingPathComponent("Tests/Corpus")

    /// The path of one seed.
    public static func path(_ kind: String, _ name: String) -> String {
        directory.appendingPathComponent(kind).appendingPathComponent(name).path
    }

    /// The seeds of one kind, by name.
    public static func seeds(_ kind: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = directory.appendingPathComponent(kind)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
            ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0))))
        }
    }

    /// Every seed of `kind`, each followed by `perSeed` mutations of it (the same ones each run).
    public static func cases(_ kind: String, perSeed: Int) throws -> [(name: String, bytes: [UInt8])] {
        var random = SeededRandom(seed: 15)
        var all: [(String, [UInt8])] = []
        for seed in try seeds(kind) {
            all.append(seed)
            for n in 0..<perSeed { all.append(("\(seed.name) mutation \(n)", mutate(seed.bytes, random: &random))) }
        }
        return all
    }

    /// Radamsa-style byte mutations, one to four of: a bit flip, a boundary byte, a boundary
    /// 32-bit word, truncation, a repeated slice, a dropped slice, inserted random bytes.
    public static func mutate(_ input: [UInt8], random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int(random.next() % 4 + 1) {
            guard !bytes.isEmpty else { return [UInt8(truncatingIfNeeded: random.next())] }
            let at = Int(random.next() % UInt64(bytes.count))
            let end = min(bytes.count, at + Int(random.next() % 64) + 1)
            switch random.next() % 7 {
            case 0: bytes[at] ^= 1 << UInt8(random.next() % 8)
            case 1: bytes[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01][Int(random.next() % 5)]
            case 2:
                let words: [[UInt8]] = [
                    [0xFF, 0xFF, 0xFF, 0xFF], [0x7F, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0x80, 0, 0, 0],
                ]
                for (offset, byte) in words[Int(random.next() % 4)].enumerated() where at + offset < bytes.count {
                    bytes[at + offset] = byte
                }
            case 3: bytes.removeSubrange(at...)
            case 4:
                let copies = Array(repeating: bytes[at..<end], count: Int(random.next() % 8 + 2)).joined()
                bytes.insert(contentsOf: copies, at: at)
            case 5: bytes.removeSubrange(at..<end)
            default:
                let noise = (0..<Int(random.next() % 16 + 1)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                bytes.insert(contentsOf: noise, at: at)
            }
        }
        return bytes
    }
}
