import CMeCab
import MouthpieceCore

/// Japanese as people write it (kanji with kana, digits) turned into the kana espeak-ng reads:
/// MeCab with the IPA dictionary splits the text into words and gives each word's pronunciation
/// (は as a particle is read "wa", 東京 "トーキョー"). Every position of the reading maps back to
/// the text, so that words and captions show the text as it was written. The one Swift wrapper
/// around MeCab.
struct JapaneseReading: Equatable {
    /// What espeak-ng is given.
    let reading: String
    /// For each Unicode scalar of `reading`, and one past its end: the position in the text's
    /// scalars it stands for (a word read aloud maps its first sound to the word's start and the
    /// rest to its end, so that spans of the reading map to whole words of the text).
    let toText: [Int]

    static func read(_ text: String) throws -> JapaneseReading {
        guard let tagger = mecab_new2("") else {
            // Kana alone espeak-ng reads as it is (a particle は as "ha"): MeCab is needed for kanji.
            if !text.unicodeScalars.contains(where: isKanji) {
                return JapaneseReading(reading: text, toText: Array(0...text.unicodeScalars.count))
            }
            throw MouthpieceError(
                .modelUnavailable,
                "Reading Japanese needs MeCab and its dictionary: install Debian's mecab and mecab-ipadic-utf8.")
        }
        defer { mecab_destroy(tagger) }
        let bytes = Array(text.utf8)
        // The scalar index at each byte offset that starts a scalar (and at the end).
        var scalarAt = [Int](repeating: -1, count: bytes.count + 1)
        var offset = 0
        for (index, scalar) in text.unicodeScalars.enumerated() {
            scalarAt[offset] = index
            offset += String(scalar).utf8.count
        }
        scalarAt[bytes.count] = text.unicodeScalars.count
        let scalars = Array(text.unicodeScalars)

        var tokens: [(start: Int, end: Int, pronunciation: String?)] = []
        try text.withCString { input in
            guard var node = mecab_sparse_tonode(tagger, input) else {
                throw MouthpieceError(.internalError, "MeCab could not read the text.")
            }
            while true {
                let stat = Int32(node.pointee.stat)
                if stat == Int32(MECAB_NOR_NODE) || stat == Int32(MECAB_UNK_NODE), node.pointee.length > 0,
                    let surface = node.pointee.surface
                {
                    let start = surface - input
                    let fields =
                        node.pointee.feature.map { String(cString: $0) }?.split(
                            separator: ",", omittingEmptySubsequences: false) ?? []
                    // IPADIC: part of speech, 3 subdivisions, inflection type and form, base form,
                    // reading, pronunciation; unknown words stop before the reading.
                    let pronunciation = [8, 7].lazy.compactMap { i in
                        i < fields.count && fields[i] != "*" && !fields[i].isEmpty ? String(fields[i]) : nil
                    }.first
                    let symbol = fields.first == "記号"
                    tokens.append((start, start + Int(node.pointee.length), symbol ? nil : pronunciation))
                }
                guard let next = node.pointee.next else { break }
                node = UnsafePointer(next)
            }
        }

        var reading = String.UnicodeScalarView()
        var toText: [Int] = []
        var cursor = 0
        func copy(_ from: Int, _ to: Int) {
            // Text between words (spaces) or a word read as written: one for one.
            guard let a = scalarAt[from] >= 0 ? scalarAt[from] : nil, let b = scalarAt[to] >= 0 ? scalarAt[to] : nil
            else { return }
            for i in a..<b {
                reading.append(scalars[i])
                toText.append(i)
            }
        }
        for token in tokens where token.start >= cursor && token.end <= bytes.count {
            copy(cursor, token.start)
            let written = String(decoding: bytes[token.start..<token.end], as: UTF8.self)
            if let spoken = token.pronunciation, spoken != written,
                let a = scalarAt[token.start] >= 0 ? scalarAt[token.start] : nil,
                let b = scalarAt[token.end] >= 0 ? scalarAt[token.end] : nil
            {
                for (k, scalar) in spoken.unicodeScalars.enumerated() {
                    reading.append(scalar)
                    toText.append(k == 0 ? a : b)
                }
            } else {
                copy(token.start, token.end)
            }
            cursor = token.end
        }
        copy(cursor, bytes.count)
        toText.append(scalars.count)
        if let unread = reading.first(where: isKanji) {
            throw MouthpieceError(
                .invalidParameter,
                "MeCab's dictionary has no reading for a word with \"\(Character(unread))\": write that word in kana.",
                field: "text")
        }
        return JapaneseReading(reading: String(reading), toText: toText)
    }

    /// A CJK ideograph (kanji), which espeak-ng would read as the English words "Chinese letter".
    static func isKanji(_ scalar: Unicode.Scalar) -> Bool {
        (0x3400...0x4DBF).contains(scalar.value) || (0x4E00...0x9FFF).contains(scalar.value)
            || (0xF900...0xFAFF).contains(scalar.value) || (0x20000...0x3134F).contains(scalar.value)
    }
}
