import Foundation
import MouthpieceCore
import Store

/// A consent attestation for the person an avatar shows: who attests, their relation to the
/// person, the statement they accepted, and (added here) when and from which key. Stored with
/// the avatar and returned with it; an avatar without one cannot make videos while the install
/// asks for consent (`consent_required`).
struct Consent: Codable, Equatable, Sendable {
    /// What the attester accepts, word for word, and its version.
    static let statement =
        "I confirm that the person shown has given their explicit consent to be shown speaking words they did not "
        + "say in videos made from this picture or video, or that I am legally entitled to give that consent for "
        + "them, and that the videos will be disclosed as synthetic."
    static let statementVersion = "2026-12"
    /// Who may attest, relative to the person shown.
    static let relations = ["self", "authorized_representative", "parent_or_guardian", "rights_holder"]

    var attestedBy: String
    var relation: String
    var statement: String
    var statementVersion: String
    var acceptedAt: String
    var keyID: String

    enum CodingKeys: String, CodingKey {
        case relation, statement
        case attestedBy = "attested_by"
        case statementVersion = "statement_version"
        case acceptedAt = "accepted_at"
        case keyID = "key_id"
    }

    /// What a client sends: `{attested_by, relation, accepted: true}` (JSON, or
    /// `consent[attested_by]`... as form fields).
    struct Request: Decodable, Sendable {
        var attested_by: String?
        var relation: String?
        var accepted: Bool?
    }

    /// The attestation a request makes, checked; `consent_required` when there is none or the
    /// statement was not accepted.
    init(_ request: Request?, key: APIKey, at date: Date = Date()) throws {
        guard let request, request.accepted == true else {
            throw MouthpieceError(
                .consentRequired,
                "An avatar of a real person needs a consent attestation: consent {attested_by, relation, accepted: "
                    + "true}, accepting: \"\(Self.statement)\"",
                field: "consent")
        }
        let name = (request.attested_by ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200 else {
            throw MouthpieceError(
                .invalidParameter, "consent.attested_by must name who attests (up to 200 characters).",
                field: "consent.attested_by")
        }
        guard let relation = request.relation, Self.relations.contains(relation) else {
            throw MouthpieceError(
                .invalidParameter, "consent.relation must be one of \(Self.relations.joined(separator: ", ")).",
                field: "consent.relation")
        }
        attestedBy = name
        self.relation = relation
        statement = Self.statement
        statementVersion = Self.statementVersion
        acceptedAt = iso(date)
        keyID = key.id
    }

    /// The attestation an avatar stored, if any.
    static func of(_ avatar: Avatar) -> Consent? { avatar.consent.flatMap { try? APIJSON.decode(Consent.self, $0) } }
}
