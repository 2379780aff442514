import ArgumentParser
import Foundation
import Logging
import Media
import MouthpieceCore
import Service
import Store

/// `mouthpiece serve`: the HTTP API with its embedded store and render workers.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (with render workers in the same process unless --workers 0).",
        discussion: "Without --database: the embedded SQLite store and blobs under --data-dir, one machine. With "
            + "--database postgres://... and a --blob-dir every machine shares: any number of API nodes (--workers 0) "
            + "and `mouthpiece worker` processes. Each option can also be set by an environment variable: "
            + "MOUTHPIECE_HOST, MOUTHPIECE_PORT, MOUTHPIECE_DATA_DIR, MOUTHPIECE_DATABASE, MOUTHPIECE_BLOB_DIR, "
            + "MOUTHPIECE_WORKERS, MOUTHPIECE_URL_ALLOWLIST, MOUTHPIECE_PUBLIC_URL, MOUTHPIECE_LOG_FORMAT, "
            + "MOUTHPIECE_METRICS_TOKEN, MOUTHPIECE_TLS_CERT, MOUTHPIECE_TLS_KEY. Stops gracefully on SIGTERM or SIGINT."
    )

    @Option(help: "Address to listen on (env MOUTHPIECE_HOST).")
    var host: String?

    @Option(help: "Port to listen on (env MOUTHPIECE_PORT).")
    var port: Int?

    @OptionGroup var storage: StorageOptions

    @OptionGroup var plans: PlanOptions

    @OptionGroup var rendering: WorkerFlags

    @Option(
        name: .customLong("url-allowlist"),
        help: "host:port,... that URL inputs may reach even on internal addresses (env MOUTHPIECE_URL_ALLOWLIST).")
    var urlAllowlist: String?

    @OptionGroup var node: NodeOptions

    @Option(name: .customLong("tls-cert"), help: "PEM certificate (chain): serve HTTPS (env MOUTHPIECE_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (env MOUTHPIECE_TLS_KEY).")
    var tlsKey: String?

    @Option(
        name: .customLong("metrics-token"),
        help: "Require `Authorization: Bearer <token>` on /metrics (env MOUTHPIECE_METRICS_TOKEN).")
    var metricsToken: String?

    @Option(
        name: .customLong("retention-days"),
        help:
            "Delete finished videos (inputs, result, captions) this many days after they end; usage still counts them. Default: keep (env MOUTHPIECE_RETENTION_DAYS)."
    )
    var retentionDays: Double?

    @Option(
        name: .customLong("link-ttl-hours"),
        help: "How long a signed /files link works after it is handed out (default 168; env MOUTHPIECE_LINK_TTL_HOURS)."
    )
    var linkTTLHours: Double?

    @Option(
        name: .customLong("fetch-timeout"),
        help:
            "Seconds a URL input may take to fetch, redirects and body included (default 30; env MOUTHPIECE_FETCH_TIMEOUT)."
    )
    var fetchTimeout: Double?

    @Option(
        name: .customLong("queue-cap"),
        help:
            "Videos one key may have queued or rendering; more get 429 queue_full (default 1000; env MOUTHPIECE_QUEUE_CAP)."
    )
    var queueCap: Int?

    @Flag(
        name: .customLong("no-consent-required"),
        help:
            "Let avatars be made and used without a consent attestation (your own install and people only; logged at every start; env MOUTHPIECE_CONSENT_REQUIRED=false)."
    )
    var noConsentRequired = false

    @Option(
        name: .customLong("live-sessions"),
        help:
            "Live sessions (WebSocket streams) this server runs at once; more get 429 concurrency_limit (default: two a core; env MOUTHPIECE_LIVE_SESSIONS)."
    )
    var liveSessions: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerConfiguration()
        if let count = liveSessions ?? environment["MOUTHPIECE_LIVE_SESSIONS"].flatMap(Int.init) {
            guard count >= 0 else { throw ValidationError("live-sessions must be 0 or more.") }
            configuration.liveSessions = count
        }
        if let cap = queueCap ?? environment["MOUTHPIECE_QUEUE_CAP"].flatMap(Int.init) {
            guard cap >= 1 else { throw ValidationError("queue-cap must be 1 or more.") }
            configuration.queueCap = cap
        }
        configuration.consentRequired =
            !noConsentRequired && environment["MOUTHPIECE_CONSENT_REQUIRED"]?.lowercased() != "false"
        if let seconds = fetchTimeout ?? environment["MOUTHPIECE_FETCH_TIMEOUT"].flatMap(Double.init) {
            guard seconds.isFinite, (1...600).contains(seconds) else {
                throw ValidationError("fetch-timeout must be between 1 and 600 seconds.")
            }
            configuration.fetchTimeout = seconds
        }
        if let days = retentionDays ?? environment["MOUTHPIECE_RETENTION_DAYS"].flatMap(Double.init) {
            guard days.isFinite, days > 0 else { throw ValidationError("retention-days must be above 0.") }
            configuration.retention = days * 86400
        }
        if let hours = linkTTLHours ?? environment["MOUTHPIECE_LINK_TTL_HOURS"].flatMap(Double.init) {
            guard hours.isFinite, hours >= 1, hours <= 87_600 else {
                throw ValidationError("link-ttl-hours must be from 1 to 87600 (ten years).")
            }
            configuration.linkLifetime = hours * 3600
        }
        try node.apply(to: &configuration)
        if let host = host ?? environment["MOUTHPIECE_HOST"] { configuration.host = host }
        if let port = port ?? environment["MOUTHPIECE_PORT"].flatMap(Int.init) { configuration.port = port }
        try storage.apply(to: &configuration)
        try plans.apply(to: &configuration)
        try rendering.apply(to: &configuration)
        if let list = urlAllowlist ?? environment["MOUTHPIECE_URL_ALLOWLIST"] {
            configuration.urlAllowlist = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        configuration.metricsToken = metricsToken ?? environment["MOUTHPIECE_METRICS_TOKEN"]
        switch (tlsCert ?? environment["MOUTHPIECE_TLS_CERT"], tlsKey ?? environment["MOUTHPIECE_TLS_KEY"]) {
        case (let cert?, let key?): configuration.tls = (cert, key)
        case (nil, nil): break
        default: throw ValidationError("--tls-cert and --tls-key go together.")
        }
        guard (1...65535).contains(configuration.port) else {
            throw ValidationError("port must be between 1 and 65535.")
        }
        try await MouthpieceServer.run(configuration)
    }
}

/// What every long-running node (serve, worker) takes: how clients reach the API, how to log.
struct NodeOptions: ParsableArguments {
    @Option(
        name: .customLong("public-url"),
        help: "How clients reach the API, for links in answers and webhooks (env MOUTHPIECE_PUBLIC_URL).")
    var publicURL: String?

    @Option(
        name: .customLong("log-format"),
        help: "text (key=value) or json (one object per line) (env MOUTHPIECE_LOG_FORMAT).")
    var logFormat: String?

    /// Starts logging in the chosen format (text: key=value, json: one object per line, on
    /// stderr) and sets the public URL, which must be http(s).
    func apply(to configuration: inout ServerConfiguration) throws {
        let environment = ProcessInfo.processInfo.environment
        switch logFormat ?? environment["MOUTHPIECE_LOG_FORMAT"] ?? "text" {
        case "text": break
        case "json": LoggingSystem.bootstrap(JSONLogHandler.init)
        case let other: throw ValidationError("log-format must be text or json, not \(other).")
        }
        if let url = publicURL ?? environment["MOUTHPIECE_PUBLIC_URL"] {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil
            else { throw ValidationError("public-url must be an http(s) URL, like https://avatars.example.com.") }
            configuration.publicURL = url
        }
    }
}

/// Where a deployment keeps its data: the store and the blobs.
/// The operator's plans and the watermark their free tiers carry.
struct PlanOptions: ParsableArguments {
    @Option(
        name: .customLong("plans"),
        help: "A JSON file of plans, {\"plans\": [...]} (default: the example free and pro; env MOUTHPIECE_PLANS).")
    var plansFile: String?

    @Option(
        name: .customLong("watermark-text"),
        help: "The watermark of plans that have one (default \"Made with Mouthpiece\").")
    var watermarkText: String?

    @Option(name: .customLong("watermark-image"), help: "A PNG watermark instead of text.")
    var watermarkImage: String?

    @Option(
        name: .customLong("watermark-corner"),
        help:
            "bottom-right (default), bottom-left, top-right or top-left; another corner is used if it would cover the face."
    )
    var watermarkCorner: String?

    @Option(name: .customLong("watermark-opacity"), help: "0.05 ... 1 (default 0.6).")
    var watermarkOpacity: Double?

    func apply(to configuration: inout ServerConfiguration) throws {
        if let path = plansFile ?? ProcessInfo.processInfo.environment["MOUTHPIECE_PLANS"], !path.isEmpty {
            configuration.plans = try PlanBook.load(path: path)
        }
        guard watermarkText != nil || watermarkImage != nil || watermarkCorner != nil || watermarkOpacity != nil else {
            return
        }
        if watermarkText != nil && watermarkImage != nil {
            throw ValidationError("Give --watermark-text or --watermark-image, not both.")
        }
        let corner = try watermarkCorner.map { name in
            guard let corner = Watermark.Corner(rawValue: name) else {
                throw ValidationError("watermark-corner must be bottom-right, bottom-left, top-right or top-left.")
            }
            return corner
        }
        let base = ServerConfiguration.defaultWatermark
        configuration.watermark = try Watermark(
            watermarkImage.map { .image(path: $0) } ?? watermarkText.map { .text($0) } ?? base.mark,
            corner: corner ?? base.corner, opacity: watermarkOpacity ?? base.opacity)
    }
}

/// `mouthpiece plans`: the plans keys can be created on.
struct PlansCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plans", abstract: "List the plans keys can be created on (credits, limits, watermark, priority).")

    @OptionGroup var plans: PlanOptions

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func run() throws {
        try Terminal.run(json: json) {
            var configuration = ServerConfiguration()
            try plans.apply(to: &configuration)
            let list = configuration.plans.sorted
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(["plans": list]), as: UTF8.self))
                return
            }
            for plan in list {
                let credits = plan.monthlyCreditSeconds.map { "\($0.formatted(0)) s/month" } ?? "unlimited"
                print(
                    "\(plan.name): \(credits), up to \(plan.maxResolution ?? "1080p") and "
                        + "\(plan.maxDurationSeconds.map { "\($0.formatted(0)) s" } ?? "any length"), "
                        + "\(plan.watermark ? "watermarked" : "no watermark"), priority \(plan.priority), "
                        + "\(plan.concurrency) at once, \(plan.queueCap.map(String.init) ?? "server's") queued")
            }
        }
    }
}

struct StorageOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: "Where the SQLite database and files live when there is no --database (env MOUTHPIECE_DATA_DIR).")
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            "PostgreSQL URL shared by every node, e.g. postgres://user:pass@db:5432/mouthpiece?sslmode=require (env MOUTHPIECE_DATABASE).",
            valueName: "url"))
    var database: String?

    @Option(
        name: .customLong("blob-dir"),
        help:
            "Directory for inputs and videos; with --database, a filesystem every node mounts at this path (env MOUTHPIECE_BLOB_DIR)."
    )
    var blobDir: String?

    /// `needsBlobs`: false for commands that touch only the database (keys, migrate).
    func apply(to configuration: inout ServerConfiguration, needsBlobs: Bool = true) throws {
        let environment = ProcessInfo.processInfo.environment
        if let dir = dataDir ?? environment["MOUTHPIECE_DATA_DIR"] { configuration.dataDirectory = dir }
        if let url = database ?? environment["MOUTHPIECE_DATABASE"], !url.isEmpty {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw ValidationError("database must be a postgres:// URL (without it, SQLite in --data-dir is used).")
            }
            configuration.database = url
            guard let blobs = blobDir ?? environment["MOUTHPIECE_BLOB_DIR"] else {
                if !needsBlobs { return }
                throw ValidationError(
                    "--database needs --blob-dir: a directory every node mounts at the same path (shared filesystem).")
            }
            configuration.blobDir = blobs
        } else if let blobs = blobDir ?? environment["MOUTHPIECE_BLOB_DIR"] {
            configuration.blobDir = blobs
        }
    }
}

/// How a process renders.
struct WorkerFlags: ParsableArguments {
    @Option(help: "Render workers in this process; 0 for an API-only node (env MOUTHPIECE_WORKERS).")
    var workers: Int?

    @Option(
        name: .customLong("scratch-dir"),
        help: "Local directory renders are written to before they move into the blob dir (env MOUTHPIECE_SCRATCH_DIR).")
    var scratchDir: String?

    @Option(
        name: .customLong("max-attempts"),
        help:
            "Claims of one job (crashed workers, full disks...) before it is marked failed (env MOUTHPIECE_MAX_ATTEMPTS)."
    )
    var maxAttempts: Int?

    @Option(
        name: .customLong("min-free-mb"),
        help: "Free space (MB) the render disk needs before this process claims a job (env MOUTHPIECE_MIN_FREE_MB).")
    var minFreeMB: Int?

    func apply(to configuration: inout ServerConfiguration) throws {
        let environment = ProcessInfo.processInfo.environment
        if let count = workers ?? environment["MOUTHPIECE_WORKERS"].flatMap(Int.init) { configuration.workers = count }
        guard configuration.workers >= 0 else { throw ValidationError("workers must be 0 or more.") }
        configuration.scratchDirectory = scratchDir ?? environment["MOUTHPIECE_SCRATCH_DIR"]
        if let attempts = maxAttempts ?? environment["MOUTHPIECE_MAX_ATTEMPTS"].flatMap(Int.init) {
            guard attempts >= 1 else { throw ValidationError("max-attempts must be 1 or more.") }
            configuration.maxAttempts = attempts
        }
        if let megabytes = minFreeMB ?? environment["MOUTHPIECE_MIN_FREE_MB"].flatMap(Int.init) {
            guard megabytes >= 0 else { throw ValidationError("min-free-mb must be 0 or more.") }
            configuration.minimumFreeBytes = Int64(megabytes) << 20
        }
    }
}

/// `mouthpiece worker`: renders jobs from a shared store; any number, on any machines.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Render jobs from the shared store (no HTTP): add these to add capacity.",
        discussion: "Typically `mouthpiece worker --database postgres://... --blob-dir /mnt/mouthpiece-blobs`. "
            + "Each worker claims one job at a time with a lease it renews every second; if the process dies, another "
            + "worker takes the job over once the lease (10 s) runs out. One worker per core is the most a machine "
            + "uses well. Stops gracefully on SIGTERM or SIGINT, handing jobs in flight back to the queue."
    )

    @OptionGroup var storage: StorageOptions

    @OptionGroup var plans: PlanOptions

    @OptionGroup var rendering: WorkerFlags

    @OptionGroup var node: NodeOptions

    func run() async throws {
        var configuration = ServerConfiguration()
        try node.apply(to: &configuration)
        configuration.workers = ProcessInfo.processInfo.activeProcessorCount
        try storage.apply(to: &configuration)
        try plans.apply(to: &configuration)
        try rendering.apply(to: &configuration)
        guard configuration.workers >= 1 else { throw ValidationError("a worker needs --workers 1 or more.") }
        try await MouthpieceServer.runWorker(configuration)
    }
}

/// `mouthpiece migrate`: brings the store's schema up to this version.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the store's schema migrations (serve and worker also do this when they start).")

    @OptionGroup var storage: StorageOptions

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func run() async throws {
        var configuration = ServerConfiguration()
        try storage.apply(to: &configuration, needsBlobs: false)
        try await Terminal.run(json: json) {
            let store = try await configuration.openStore(logger: Logger(label: "mouthpiece.migrate"))
            let applied = try await store.appliedMigrations()
            let kind = configuration.database == nil ? "sqlite" : "postgresql"
            if json {
                Terminal.printJSON(["store": kind, "migrations": applied])
            } else {
                print("\(kind) schema up to date: \(applied.joined(separator: ", "))")
            }
        }
    }
}

/// `mouthpiece keys create`: API keys, shown once and stored hashed.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys.", subcommands: [CreateKey.self])

    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an API key; prints it and its webhook signing secret once.")

        @Option(help: "A name for the key (who or what uses it).")
        var name: String

        @OptionGroup var storage: StorageOptions

        @Option(name: .customLong("quota-seconds"), help: "Output seconds this key may render in all.")
        var quotaSeconds: Double?

        @Option(help: "Videos this key may have rendering at once (default: its plan's, or 2).")
        var concurrency: Int?

        @Option(help: "The plan the key is on (credits, limits, watermark, priority): see `mouthpiece plans`.")
        var plan: String?

        @OptionGroup var plans: PlanOptions

        @Flag(help: "Print JSON on stdout.")
        var json = false

        func run() async throws {
            var configuration = ServerConfiguration()
            try storage.apply(to: &configuration, needsBlobs: false)
            try await Terminal.run(json: json) {
                try plans.apply(to: &configuration)
                guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw MouthpieceError(.invalidParameter, "name must not be empty.", field: "name")
                }
                let onPlan = try plan.map { name in
                    guard let found = configuration.plans.plan(named: name) else {
                        throw MouthpieceError(
                            .invalidParameter,
                            "No plan \(name): the plans are \(configuration.plans.sorted.map(\.name).joined(separator: ", ")).",
                            field: "plan")
                    }
                    return found
                }
                let concurrency = concurrency ?? onPlan?.concurrency ?? 2
                guard concurrency >= 1 else {
                    throw MouthpieceError(.invalidParameter, "concurrency must be 1 or more.", field: "concurrency")
                }
                let store = try await configuration.openStore(logger: Logger(label: "mouthpiece.keys"))
                let (key, secret) = try await store.createKey(
                    name: name, quotaSeconds: quotaSeconds, concurrency: concurrency, plan: onPlan?.name)
                if json {
                    Terminal.printJSON([
                        "id": key.id, "name": key.name, "key": secret, "webhook_secret": key.webhookSecret,
                        "quota_seconds": key.quotaSeconds as Any? ?? NSNull(), "concurrency": key.concurrency,
                        "plan": key.plan as Any? ?? NSNull(),
                    ])
                } else {
                    print("key:            \(secret)")
                    print("webhook secret: \(key.webhookSecret)")
                    print("(shown once; only a hash of the key is stored)")
                }
            }
        }
    }
}
