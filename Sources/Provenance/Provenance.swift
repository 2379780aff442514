import Crypto
import Foundation
import MouthpieceCore

/// What an output says about itself: made by Mouthpiece, synthetic, from which avatar under which
/// consent, when, and the SHA-256 of the media it travels with.
public struct ProvenanceManifest: Codable, Equatable, Sendable {
    /// The consent an avatar was made under, by reference.
    public struct ConsentReference: Codable, Equatable, Sendable {
        public var attestedBy: String
        public var relation: String
        public var statementVersion: String
        public var acceptedAt: String

        enum CodingKeys: String, CodingKey {
            case relation
            case attestedBy = "attested_by"
            case statementVersion = "statement_version"
            case acceptedAt = "accepted_at"
        }

        public init(attestedBy: String, relation: String, statementVersion: String, acceptedAt: String) {
            self.attestedBy = attestedBy
            self.relation = relation
            self.statementVersion = statementVersion
            self.acceptedAt = acceptedAt
        }
    }

    public var generator = "Mouthpiece"
    public var version: String
    /// Always true: the disclosure that the media is synthetic.
    public var synthetic = true
    public var createdAt: String
    /// SHA-256 (hex) of the file without its provenance box.
    public var mediaSHA256: String
    public var avatarID: String?
    public var consent: ConsentReference?
    /// The video job that made it, when the service did.
    public var jobID: String?

    enum CodingKeys: String, CodingKey {
        case generator, version, synthetic, consent
        case createdAt = "created_at"
        case mediaSHA256 = "media_sha256"
        case avatarID = "avatar_id"
        case jobID = "job_id"
    }

    /// This build's version, as manifests name it.
    public static let generatorVersion = "0.9.0"

    /// A manifest for an output made now; the hash is filled in when it is signed.
    public init(
        avatarID: String? = nil, consent: ConsentReference? = nil, jobID: String? = nil, createdAt: Date = Date()
    ) {
        version = Self.generatorVersion
        self.createdAt = createdAt.formatted(.iso8601)
        mediaSHA256 = ""
        self.avatarID = avatarID
        self.consent = consent
        self.jobID = jobID
    }
}

/// Who signs an output and what its manifest says: given to a render, applied to its file once
/// the file is complete and before it is moved into place.
public struct ProvenanceStamp: Sendable {
    public var signer: ProvenanceSigner
    public var manifest: ProvenanceManifest

    public init(signer: ProvenanceSigner, manifest: ProvenanceManifest = ProvenanceManifest()) {
        self.signer = signer
        self.manifest = manifest
    }

    public func apply(to path: String) throws -> SignedProvenance { try signer.stamp(path, manifest: manifest) }
}

/// A manifest and its Ed25519 signature: the record embedded in an MP4 (a top-level `uuid` box
/// after everything else, which players skip) and given as a sidecar. The signature covers the
/// manifest's bytes exactly as they are written here, so verifying never depends on how JSON is
/// re-encoded.
public struct SignedProvenance: Codable, Equatable, Sendable {
    public var algorithm = "Ed25519"
    /// The manifest, as signed (JSON text).
    public var manifest: String
    /// Base64 of the 64-byte signature.
    public var signature: String
    /// Base64 of the signer's 32-byte public key.
    public var publicKey: String

    enum CodingKeys: String, CodingKey {
        case algorithm, manifest, signature
        case publicKey = "public_key"
    }

    public func decodedManifest() throws -> ProvenanceManifest {
        try JSONDecoder().decode(ProvenanceManifest.self, from: Data(manifest.utf8))
    }
}

/// Signs outputs with one Ed25519 key (the server's, shared by its nodes, or the command line's
/// own) and checks them.
public struct ProvenanceSigner: Sendable {
    /// The private key's 32 raw bytes (the Crypto key type is not `Sendable`).
    let raw: Data
    var key: Curve25519.Signing.PrivateKey {
        // Checked when the signer was made.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// The key from its 32 raw bytes, base64.
    public init(privateKeyBase64: String) throws {
        guard let raw = Data(base64Encoded: privateKeyBase64),
            (try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)) != nil
        else {
            throw MouthpieceError(.internalError, "The provenance signing key is not a base64 Ed25519 key.")
        }
        self.raw = raw
    }

    /// A fresh key, base64 (for storing where every node finds it).
    public static func newPrivateKeyBase64() -> String {
        Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString()
    }

    /// The key in `path`, made there (readable by the owner only) on first use.
    public static func local(at path: String) throws -> ProvenanceSigner {
        if let stored = try? String(contentsOfFile: path, encoding: .utf8) {
            return try ProvenanceSigner(privateKeyBase64: stored.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fresh = newPrivateKeyBase64()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(fresh.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw MouthpieceError(.outputNotWritable, "Cannot write the provenance key to \(path).", field: "output")
        }
        return try ProvenanceSigner(privateKeyBase64: fresh)
    }

    public var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// A short name for the public key: the first 16 hex digits of its SHA-256.
    public var keyID: String { Self.keyID(publicKey: key.publicKey.rawRepresentation) }

    static func keyID(publicKey: Data) -> String {
        SHA256.hash(data: publicKey).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Signs `manifest` (its hash filled in from the file) and appends the record to the MP4 at
    /// `path`; returns the record (for the sidecar).
    @discardableResult
    public func stamp(_ path: String, manifest: ProvenanceManifest) throws -> SignedProvenance {
        var manifest = manifest
        manifest.mediaSHA256 = try MP4Provenance.sha256(of: path, upTo: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(manifest), as: UTF8.self)
        let signed = SignedProvenance(
            manifest: text, signature: try key.signature(for: Data(text.utf8)).base64EncodedString(),
            publicKey: publicKeyBase64)
        try MP4Provenance.append(signed, to: path)
        return signed
    }
}

/// Reads and writes the provenance box of an MP4, and checks a file against it.
public enum MP4Provenance {
    /// The box's type (`uuid`) and our extended type.
    static let extendedType: [UInt8] = [
        0x6d, 0x70, 0x2d, 0x70, 0x72, 0x6f, 0x76, 0x2d, 0x8f, 0x3c, 0x4e, 0x19, 0xa2, 0x55, 0x0b, 0x01,
    ]

    /// What checking a file found.
    public struct Verification: Sendable {
        public let record: SignedProvenance
        public let manifest: ProvenanceManifest
        public let keyID: String
    }

    /// Why a file does not check out.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    static func sha256(of path: String, upTo end: Int?) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MouthpieceError(.inputNotFound, "Cannot read \(path).", field: "input")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var left = end ?? Int.max
        while left > 0 {
            let chunk = handle.readData(ofLength: min(1 << 20, left))
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            left -= chunk.count
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func append(_ record: SignedProvenance, to path: String) throws {
        let payload = try JSONEncoder().encode(record)
        let size = UInt32(8 + 16 + payload.count)
        var box = Data(withUnsafeBytes(of: size.bigEndian) { Array($0) })
        box += Data("uuid".utf8) + Data(extendedType) + payload
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw MouthpieceError(.outputNotWritable, "Cannot write \(path).", field: "output")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: box)
    }

    /// The record embedded in the MP4 at `path`, unchecked (nil when it has none).
    public static func record(in path: String) throws -> SignedProvenance? { try find(in: path)?.record }

    /// The record and where its box starts, if the file's last top-level box is ours.
    static func find(in path: String) throws -> (record: SignedProvenance, offset: Int)? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MouthpieceError(.inputNotFound, "Cannot read \(path).", field: "input")
        }
        defer { try? handle.close() }
        let fileSize = Int(try handle.seekToEnd())
        var offset = 0
        var last: (type: String, offset: Int, size: Int)?
        // Walk the top-level boxes: size (32-bit, or 1 then a 64-bit size), type.
        while offset + 8 <= fileSize {
            try handle.seek(toOffset: UInt64(offset))
            let header = [UInt8](handle.readData(ofLength: 16))
            guard header.count >= 8 else { break }
            var size = Int(header[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if size == 1, header.count == 16 {
                size = Int(header[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            } else if size == 0 {
                size = fileSize - offset
            }
            guard size >= 8, offset + size <= fileSize else { return nil }
            last = (type, offset, size)
            offset += size
        }
        guard let last, last.type == "uuid", last.size > 24, offset == fileSize else { return nil }
        try handle.seek(toOffset: UInt64(last.offset + 8))
        let body = handle.readData(ofLength: last.size - 8)
        guard [UInt8](body.prefix(16)) == extendedType,
            let record = try? JSONDecoder().decode(SignedProvenance.self, from: body.dropFirst(16))
        else { return nil }
        return (record, last.offset)
    }

    /// The record embedded in the MP4 at `path`, checked: the signature holds for the manifest,
    /// the manifest's hash is the file's (without the record), and, when `trustedKey` (base64)
    /// is given, the signer is that key.
    public static func verify(_ path: String, trustedKey: String? = nil) throws -> Verification {
        guard let (record, offset) = try find(in: path) else {
            throw Failure(description: "no Mouthpiece provenance record at the end of the file")
        }
        guard record.algorithm == "Ed25519", let keyBytes = Data(base64Encoded: record.publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes),
            let signature = Data(base64Encoded: record.signature)
        else { throw Failure(description: "the provenance record is malformed") }
        guard key.isValidSignature(signature, for: Data(record.manifest.utf8)) else {
            throw Failure(description: "the signature does not match the manifest (the record was altered)")
        }
        let manifest: ProvenanceManifest
        do {
            manifest = try record.decodedManifest()
        } catch {
            throw Failure(description: "the manifest cannot be read")
        }
        guard try sha256(of: path, upTo: offset) == manifest.mediaSHA256 else {
            throw Failure(description: "the media does not match its manifest (the file was altered after signing)")
        }
        if let trustedKey, trustedKey != record.publicKey {
            throw Failure(description: "signed by another key (\(ProvenanceSigner.keyID(publicKey: keyBytes)))")
        }
        return Verification(record: record, manifest: manifest, keyID: ProvenanceSigner.keyID(publicKey: keyBytes))
    }
}
