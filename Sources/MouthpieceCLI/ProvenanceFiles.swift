import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline
import Provenance

/// The command line's own signing key and the sidecar beside each output.
enum CommandLineProvenance {
    /// `MOUTHPIECE_PROVENANCE_KEY` names the key file; otherwise `~/.config/mouthpiece/provenance.key`
    /// (made on first use, readable by its owner only).
    static var keyPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["MOUTHPIECE_PROVENANCE_KEY"], !path.isEmpty { return path }
        let config =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.config")
        return config + "/mouthpiece/provenance.key"
    }

    static func stamp() throws -> ProvenanceStamp { ProvenanceStamp(signer: try ProvenanceSigner.local(at: keyPath)) }

    /// `clip.mp4` -> `clip.provenance.json`.
    static func sidecarPath(besides output: String) -> String {
        (output as NSString).deletingPathExtension + ".provenance.json"
    }

    /// Writes the record beside the output; returns the sidecar's path.
    @discardableResult
    static func writeSidecar(_ record: SignedProvenance?, besides output: String) throws -> String? {
        guard let record else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let path = sidecarPath(besides: output)
        try AtomicFile.write([UInt8](try encoder.encode(record)), to: path)
        return path
    }
}

/// `mouthpiece verify out.mp4`: checks the provenance record an output carries.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an output's signed provenance record: exit 0 when intact, 1 with the reason when not.")

    @Argument(help: "An MP4 made by Mouthpiece.")
    var file: String

    @Option(
        name: .customLong("public-key"),
        help: "Also require this signer (base64 Ed25519 public key, as /.well-known/mouthpiece-provenance gives it).")
    var publicKey: String?

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else {
            try Terminal.report(MouthpieceError(.inputNotFound, "No file at \(file).", field: "file"), json: json)
            return
        }
        do {
            let checked = try MP4Provenance.verify(file, trustedKey: publicKey)
            let manifest = checked.manifest
            if json {
                Terminal.printJSON([
                    "valid": true, "key_id": checked.keyID, "manifest": checked.record.manifest,
                ])
            } else {
                print("intact: signed by key \(checked.keyID) (\(manifest.generator) \(manifest.version))")
                print(
                    "created \(manifest.createdAt); synthetic: \(manifest.synthetic); sha-256 \(manifest.mediaSHA256)")
                if let avatar = manifest.avatarID { print("avatar: \(avatar)") }
                if let consent = manifest.consent {
                    print("consent: \(consent.attestedBy) (\(consent.relation)), accepted \(consent.acceptedAt)")
                }
            }
        } catch let failure as MP4Provenance.Failure {
            if json { Terminal.printJSON(["valid": false, "reason": failure.description]) }
            Terminal.writeErr("not intact: \(failure.description)\n")
            throw ExitCode(1)
        }
    }
}
