import Foundation
import MouthpieceCore
import Render

/// What an operator sells (or gives): monthly credits, the largest output, the longest video, a
/// watermark or not, queue priority, renders at once and the queue cap. Keys are created on a
/// plan (`mouthpiece keys create --plan free`).
public struct Plan: Codable, Equatable, Sendable {
    public var name: String
    /// Output seconds a key may render per calendar month (UTC); nil: no limit.
    public var monthlyCreditSeconds: Double?
    /// Larger resolutions asked for are rendered at this one.
    public var maxResolution: String?
    /// The longest video, in seconds (longer audio is refused at submission, a longer script when
    /// spoken).
    public var maxDurationSeconds: Double?
    /// Whether outputs carry the server's watermark.
    public var watermark = false
    /// Higher goes first in the queue.
    public var priority = 0
    /// Renders at once for a key created on this plan.
    public var concurrency = 2
    /// Videos a key may have queued or rendering; nil: the server's cap.
    public var queueCap: Int?

    enum CodingKeys: String, CodingKey {
        case name, watermark, priority, concurrency
        case monthlyCreditSeconds = "monthly_credit_seconds"
        case maxResolution = "max_resolution"
        case maxDurationSeconds = "max_duration_seconds"
        case queueCap = "queue_cap"
    }

    public init(
        name: String, monthlyCreditSeconds: Double? = nil, maxResolution: String? = nil,
        maxDurationSeconds: Double? = nil, watermark: Bool = false, priority: Int = 0, concurrency: Int = 2,
        queueCap: Int? = nil
    ) {
        self.name = name
        self.monthlyCreditSeconds = monthlyCreditSeconds
        self.maxResolution = maxResolution
        self.maxDurationSeconds = maxDurationSeconds
        self.watermark = watermark
        self.priority = priority
        self.concurrency = concurrency
        self.queueCap = queueCap
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        monthlyCreditSeconds = try c.decodeIfPresent(Double.self, forKey: .monthlyCreditSeconds)
        maxResolution = try c.decodeIfPresent(String.self, forKey: .maxResolution)
        maxDurationSeconds = try c.decodeIfPresent(Double.self, forKey: .maxDurationSeconds)
        watermark = try c.decodeIfPresent(Bool.self, forKey: .watermark) ?? false
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? 2
        queueCap = try c.decodeIfPresent(Int.self, forKey: .queueCap)
    }

    /// The largest resolution as a value (checked when the plans are loaded).
    var resolutionLimit: Resolution? { maxResolution.flatMap { Resolution(rawValue: $0.lowercased()) } }

    /// `resolution`, or the plan's largest if it asks for more.
    func capped(_ resolution: Resolution) -> Resolution {
        guard let limit = resolutionLimit, resolution.shortSide > limit.shortSide else { return resolution }
        return limit
    }
}

/// The plans an operator defines, by name.
public struct PlanBook: Sendable {
    public private(set) var plans: [String: Plan]

    public init(_ plans: [Plan]) throws {
        var byName: [String: Plan] = [:]
        for plan in plans {
            guard !plan.name.isEmpty, byName[plan.name] == nil else {
                throw MouthpieceError(
                    .invalidParameter, "Plan names must be given and unique (\(plan.name)).", field: "plans")
            }
            if let resolution = plan.maxResolution, Resolution(rawValue: resolution.lowercased()) == nil {
                throw MouthpieceError(
                    .invalidParameter,
                    "Plan \(plan.name): max_resolution must be one of \(Resolution.allCases.map(\.rawValue).joined(separator: ", ")).",
                    field: "plans")
            }
            guard plan.concurrency >= 1, (plan.queueCap ?? 1) >= 1, (plan.monthlyCreditSeconds ?? 0) >= 0,
                (plan.maxDurationSeconds ?? 1) > 0
            else {
                throw MouthpieceError(
                    .invalidParameter,
                    "Plan \(plan.name): concurrency and queue_cap must be 1 or more, credits and durations positive.",
                    field: "plans")
            }
            byName[plan.name] = plan
        }
        self.plans = byName
    }

    /// The two example plans that ship: "free" (5 minutes a month, 720p, 60 s videos,
    /// watermarked, one render at a time, 20 queued) and "pro" (10 hours a month, 1080p, 10-minute
    /// videos, no watermark, first in the queue, four at a time).
    public static let examples = try! PlanBook([
        Plan(
            name: "free", monthlyCreditSeconds: 300, maxResolution: "720p", maxDurationSeconds: 60, watermark: true,
            priority: 0, concurrency: 1, queueCap: 20),
        Plan(
            name: "pro", monthlyCreditSeconds: 36_000, maxResolution: "1080p", maxDurationSeconds: 600,
            watermark: false, priority: 10, concurrency: 4, queueCap: 1000),
    ])

    /// Plans from a JSON file: `{"plans": [{"name": "free", ...}, ...]}`.
    public static func load(path: String) throws -> PlanBook {
        struct File: Decodable { let plans: [Plan] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MouthpieceError(.inputNotFound, "No plans file at \(path).", field: "plans")
        }
        do {
            return try PlanBook(try JSONDecoder().decode(File.self, from: data).plans)
        } catch let error as MouthpieceError {
            throw error
        } catch {
            throw MouthpieceError(
                .invalidParameter, "The plans file \(path) is not {\"plans\": [{\"name\", ...}]}: \(error).",
                field: "plans")
        }
    }

    public func plan(named name: String) -> Plan? { plans[name] }

    /// The plans, by name.
    public var sorted: [Plan] { plans.values.sorted { $0.name < $1.name } }
}
