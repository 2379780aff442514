import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import Media
import MouthpieceCore
import NIOSSL
import Provenance
import ServiceLifecycle
import Store

/// How `mouthpiece serve` runs: from flags and `MOUTHPIECE_*` environment variables.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./mouthpiece-data"
    /// Render workers in this process; 0 serves the API only.
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    public var limits = InputLimits()
    /// `host:port` entries URL inputs may reach even when they resolve to internal addresses.
    public var urlAllowlist: [String] = []
    /// How clients reach this server (`https://avatars.example.com`), for the links in answers
    /// and webhooks; empty leaves them relative.
    public var publicURL = ""
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    public var tls: (certificate: String, key: String)?
    /// `postgres://...`: the shared PostgreSQL store; nil: SQLite in the data directory.
    public var database: String?
    /// The blob directory (shared between machines with PostgreSQL); nil: `blobs` in the data directory.
    public var blobDir: String?
    /// Where workers write renders before moving them into the blob store; nil: straight in.
    public var scratchDirectory: String?
    /// Claims of one job before it is marked failed with its last error.
    public var maxAttempts = 3
    /// Free space the render disk needs before a worker claims a job.
    public var minimumFreeBytes: Int64 = 64 << 20
    /// Finished videos older than this are deleted (files and listing); nil keeps them.
    public var retention: TimeInterval?
    /// Seconds a URL input may take to fetch in all (every redirect, the headers and the body).
    public var fetchTimeout: Double = 30
    /// How long a signed `/files` link works after it is handed out.
    public var linkLifetime: TimeInterval = 7 * 86400
    /// Jobs one key may have queued or rendering (a batch waits in the queue; the key's
    /// concurrency says how many of them render at once).
    public var queueCap = ServerConfiguration.defaultQueueCap
    /// Whether avatars need a consent attestation for the person shown (off only by the operator's
    /// choice, which the server logs at every start).
    public var consentRequired = true
    /// The operator's plans (`--plans plans.json`); the example "free" and "pro" by default.
    public var plans = PlanBook.examples
    /// The mark on outputs of plans with a watermark.
    public var watermark = ServerConfiguration.defaultWatermark
    public static let defaultWatermark = try! Watermark(
        .text("Made with Mouthpiece"), corner: .bottomRight, opacity: 0.6)
    public static let defaultQueueCap = 1000
    /// Live sessions at once (each renders and encodes on about half a core at 720p25); 0: none.
    public var liveSessions = 2 * ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    public var databasePath: String { dataDirectory + "/mouthpiece.sqlite" }
    public var blobDirectory: String { blobDir ?? dataDirectory + "/blobs" }

    /// The store this configuration names (PostgreSQL, or SQLite in the data directory),
    /// migrated to this version.
    public func openStore(logger: Logger) async throws -> any DataStore {
        try await Store.openStore(database: database, dataDirectory: dataDirectory, logger: logger).store
    }

    var workerOptions: WorkerOptions {
        var options = WorkerOptions(count: workers)
        options.maxAttempts = maxAttempts
        options.scratchDirectory = scratchDirectory
        options.minimumFreeBytes = minimumFreeBytes
        options.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        options.watermark = watermark
        return options
    }
}

/// The whole product on one machine: the HTTP API, the SQLite store, the blob directory and the
/// render workers, in one process that shuts down gracefully on SIGTERM or SIGINT.
public enum MouthpieceServer {
    public static func run(_ configuration: ServerConfiguration) async throws {
        let logger = Self.logger("mouthpiece")
        let (store, pool, blobs, links, signer) = try await open(configuration, logger: logger)
        let metrics = ServiceMetrics()
        metrics.bootstrap()
        let http = OutboundHTTP(guardrail: URLGuard(allowlist: Set(configuration.urlAllowlist.map { $0.lowercased() })))
        let live = LiveSessions(limit: configuration.liveSessions)
        let router = Self.router(
            configuration, store: store, blobs: blobs, links: links, http: http, metrics: metrics, signer: signer,
            live: live, logger: logger)
        // The store's pool first: a service group stops its services in reverse order, so the pool
        // is the last to go.
        var services: [any Service] = pool.map { [$0] } ?? []
        services += [
            WebhookDispatcher(store: store, http: http, logger: logger),
            Maintenance(
                store: store, blobs: blobs, retention: configuration.retention, logger: logger,
                // Often enough that a short retention is kept to within half of itself.
                interval: .seconds(min(60, max(1, (configuration.retention ?? 120) / 2)))),
        ]
        if configuration.workers > 0 {
            services.append(
                RenderWorkers(
                    store: store, blobs: blobs, options: configuration.workerOptions, metrics: metrics, links: links,
                    signer: signer, logger: logger))
        }
        // HTTP/1.1, upgraded to a WebSocket for a live session that presents its token.
        let http1 = HTTPServerBuilder.http1WebSocketUpgrade(
            configuration: .init(ws: WebSocketServerConfiguration(maxFrameSize: 1 << 20))
        ) { request, _, _ in live.upgrade(request, logger: logger) }
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map {
                    NIOSSLCertificateSource.certificate($0)
                }
                let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
                server = try .tls(
                    http1,
                    tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
            } catch {
                throw MouthpieceError(
                    .invalidParameter, "The TLS certificate or key could not be read (PEM expected): \(error).",
                    field: "tls-cert")
            }
        } else {
            server = http1
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "mouthpiece"),
            services: services,
            onServerRunning: { _ in
                if Self.studioDirectory() == nil {
                    logger.warning(
                        "the web studio's files were not found beside the binary (Mouthpiece_Service.resources) or in MOUTHPIECE_WEB_DIR: serving the API only"
                    )
                }
                if !configuration.consentRequired {
                    logger.warning(
                        "consent attestations are NOT required: avatars of real people can be made and used without one (--no-consent-required)"
                    )
                }
                logger.info(
                    "listening",
                    metadata: [
                        "address": .string(
                            "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(configuration.port)"
                        ),
                        "store": .string(configuration.database == nil ? "sqlite" : "postgresql"),
                        "blob_dir": .string(configuration.blobDirectory),
                        "workers": .stringConvertible(configuration.workers),
                    ])
            },
            logger: logger)
        try await app.runService()
    }

    /// Every route of the API over one store and blob directory, with its middleware: what `run`
    /// serves, and what tests drive in-process.
    static func router(
        _ configuration: ServerConfiguration, store: any DataStore, blobs: any BlobStorage, links: FileLinks,
        http: OutboundHTTP, metrics: ServiceMetrics?, signer: ProvenanceSigner?, live: LiveSessions? = nil,
        logger: Logger
    ) -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.add(middleware: LogRequestsMiddleware(.info))
        if metrics != nil { router.add(middleware: MetricsMiddleware()) }
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: BodyLimitMiddleware())
        router.get("healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
        // The web studio, served from the package's own files: nothing from anywhere else.
        if let web = Self.studioDirectory() {
            router.add(
                middleware: FileMiddleware(
                    web, urlBasePath: "/studio", cacheControl: .init([(MediaType(type: .any), [.noCache])]),
                    searchForIndexHtml: true, logger: logger))
            router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/studio/"]) }
            // The live page: a talking avatar answering the microphone or a typed text.
            router.get("live") { _, context in
                Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                    body: try await FileIO().loadFile(path: web + "/live.html", context: context))
            }
        }
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPISpec.yaml)))
        }
        // Aggregate counts only, nothing of any key's work: served without an API key, like the
        // probes, or behind its own token (`--metrics-token`).
        if let metrics {
            router.get("metrics") { request, _ in
                if let token = configuration.metricsToken, request.headers[.authorization] != "Bearer \(token)" {
                    throw MouthpieceError(.unauthorized, "/metrics needs `Authorization: Bearer <metrics token>`.")
                }
                return await Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try metrics.scrape(store: store))))
            }
        }
        // The key every output's provenance record is signed with (`mouthpiece verify --public-key`).
        if let signer {
            router.get(".well-known/mouthpiece-provenance") { _, _ in
                JSONResponse.make(
                    ["algorithm": "Ed25519", "public_key": signer.publicKeyBase64, "key_id": signer.keyID])
            }
        }
        router.get("readyz") { _, _ in
            _ = try await store.processingCount(keyID: "")
            // A node whose blob disk is full cannot take uploads: not ready (503), say why.
            if let free = BlobStore.freeBytes(configuration.blobDirectory), free < configuration.minimumFreeBytes {
                return JSONResponse.make(
                    ["status": "not_ready", "reason": "the blob storage is almost full"], status: .serviceUnavailable)
            }
            return JSONResponse.make(["status": "ready"])
        }
        let auth = AuthMiddleware(store: store)
        let v1 = router.group("v1").add(middleware: auth)
        var fetcher = URLFetcher(http: http)
        fetcher.timeout = configuration.fetchTimeout
        let loader = InputLoader(fetcher: fetcher)
        let publicURL =
            configuration.publicURL.hasSuffix("/")
            ? String(configuration.publicURL.dropLast()) : configuration.publicURL
        let core = Videos(
            store: store, blobs: blobs, limits: configuration.limits, loader: loader, logger: logger,
            queueCap: configuration.queueCap, consentRequired: configuration.consentRequired, plans: configuration.plans
        )
        var videos = VideoRoutes(videos: core, publicURL: publicURL)
        videos.tls = configuration.tls != nil
        videos.add(to: v1)
        FalRoutes(videos: videos, links: links).add(to: router, auth: auth)
        TalksRoutes(videos: videos, links: links).add(to: router, auth: auth)
        SyncRoutes(videos: videos, links: links).add(to: router, auth: auth)
        links.add(to: router, store: store, blobs: blobs)
        AvatarRoutes(
            store: store, blobs: blobs, limits: configuration.limits, loader: loader,
            consentRequired: configuration.consentRequired
        ).add(to: v1)
        WebhookRoutes(store: store).add(to: v1)
        LexiconRoutes(store: store).add(to: v1)
        LiveRoutes(videos: core, sessions: live ?? LiveSessions(limit: configuration.liveSessions), logger: logger)
            .add(to: v1, router: router)
        return router
    }

    /// Where the studio's files are: `MOUTHPIECE_WEB_DIR`, else the resource folder SwiftPM puts
    /// beside the binary. Not `Bundle.module`, which stops the process when a binary was copied
    /// without its resources: such a server serves the API without the studio (and says so).
    static func studioDirectory() -> String? {
        let environment = ProcessInfo.processInfo.environment["MOUTHPIECE_WEB_DIR"]
        let beside = Bundle.main.bundleURL.appendingPathComponent("Mouthpiece_Service.resources/Web").path
        for candidate in [environment, beside].compactMap({ $0 }) {
            if FileManager.default.fileExists(atPath: candidate + "/index.html") { return candidate }
        }
        return nil
    }

    /// Render only: claims jobs from the shared store, renders, records results. No HTTP, no
    /// webhooks (API nodes send those from the outbox). Stops gracefully on SIGTERM or SIGINT,
    /// handing its jobs in flight back to the queue.
    public static func runWorker(_ configuration: ServerConfiguration) async throws {
        let logger = Self.logger("mouthpiece.worker")
        let (store, pool, blobs, links, signer) = try await open(configuration, logger: logger)
        logger.info(
            "worker started",
            metadata: [
                "workers": .stringConvertible(configuration.workers),
                "store": .string(configuration.database == nil ? "sqlite" : "postgresql"),
                "blob_dir": .string(configuration.blobDirectory),
            ])
        let workers = RenderWorkers(
            store: store, blobs: blobs, options: configuration.workerOptions, metrics: nil, links: links,
            signer: signer, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: (pool.map { [$0] } ?? []).map { .init(service: $0) } + [.init(service: workers)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// A logger at info level.
    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .info
        return logger
    }

    /// The store (and its pool, for the service group to run), the blob directory (temporary
    /// files of crashed writers swept) and the shared file-link secret.
    static func open(_ configuration: ServerConfiguration, logger: Logger) async throws -> (
        any DataStore, (any Service)?, any BlobStorage, FileLinks, ProvenanceSigner
    ) {
        let (store, pool) = try await Store.openStore(
            database: configuration.database, dataDirectory: configuration.dataDirectory, logger: logger,
            pool: .serviceGroup)
        let blobs = try BlobStore(directory: configuration.blobDirectory)
        let swept = blobs.sweepPartials()
        if swept > 0 { logger.info("removed \(swept) temporary files left by an earlier crash") }
        var links = try await FileLinks.shared(
            store: store,
            legacyFile: configuration.database == nil ? configuration.dataDirectory + "/links.secret" : nil)
        links.lifetime = configuration.linkLifetime
        // One signing key for the deployment: the first node to start makes it, every node uses it.
        let signer = try ProvenanceSigner(
            privateKeyBase64: try await store.sharedSecret(
                "provenance_signing_key", proposed: ProvenanceSigner.newPrivateKeyBase64()))
        return (store, pool, blobs, links, signer)
    }
}
