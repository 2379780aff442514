import ArgumentParser
import Foundation
import Logging
import MouthpieceCore
import Service
import Store

/// `mouthpiece serve`: the HTTP API with its embedded store and render workers.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (SQLite store, file blobs and render workers in one process).",
        discussion: "Each option can also be set by an environment variable: MOUTHPIECE_HOST, MOUTHPIECE_PORT, "
            + "MOUTHPIECE_DATA_DIR, MOUTHPIECE_WORKERS, MOUTHPIECE_URL_ALLOWLIST, MOUTHPIECE_PUBLIC_URL, MOUTHPIECE_LOG_FORMAT, MOUTHPIECE_METRICS_TOKEN, MOUTHPIECE_TLS_CERT, MOUTHPIECE_TLS_KEY. Stops gracefully on SIGTERM or SIGINT."
    )

    @Option(help: "Address to listen on (env MOUTHPIECE_HOST).")
    var host: String?

    @Option(help: "Port to listen on (env MOUTHPIECE_PORT).")
    var port: Int?

    @Option(name: .customLong("data-dir"), help: "Where the database and files live (env MOUTHPIECE_DATA_DIR).")
    var dataDir: String?

    @Option(help: "Render workers in this process; 0 serves the API only (env MOUTHPIECE_WORKERS).")
    var workers: Int?

    @Option(
        name: .customLong("url-allowlist"),
        help: "host:port,... that URL inputs may reach even on internal addresses (env MOUTHPIECE_URL_ALLOWLIST).")
    var urlAllowlist: String?

    @Option(
        name: .customLong("public-url"),
        help: "How clients reach this server, for links in answers and webhooks (env MOUTHPIECE_PUBLIC_URL).")
    var publicURL: String?

    @Option(
        name: .customLong("log-format"),
        help: "text (key=value) or json (one object per line) (env MOUTHPIECE_LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate (chain): serve HTTPS (env MOUTHPIECE_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (env MOUTHPIECE_TLS_KEY).")
    var tlsKey: String?

    @Option(
        name: .customLong("metrics-token"),
        help: "Require `Authorization: Bearer <token>` on /metrics (env MOUTHPIECE_METRICS_TOKEN).")
    var metricsToken: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        switch logFormat ?? environment["MOUTHPIECE_LOG_FORMAT"] ?? "text" {
        case "text": break
        case "json": LoggingSystem.bootstrap(JSONLogHandler.init)
        case let other: throw ValidationError("log-format must be text or json, not \(other).")
        }
        var configuration = ServerConfiguration()
        if let host = host ?? environment["MOUTHPIECE_HOST"] { configuration.host = host }
        if let port = port ?? environment["MOUTHPIECE_PORT"].flatMap(Int.init) { configuration.port = port }
        if let dir = dataDir ?? environment["MOUTHPIECE_DATA_DIR"] { configuration.dataDirectory = dir }
        if let count = workers ?? environment["MOUTHPIECE_WORKERS"].flatMap(Int.init) { configuration.workers = count }
        if let list = urlAllowlist ?? environment["MOUTHPIECE_URL_ALLOWLIST"] {
            configuration.urlAllowlist = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        if let url = publicURL ?? environment["MOUTHPIECE_PUBLIC_URL"] {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil
            else { throw ValidationError("public-url must be an http(s) URL, like https://avatars.example.com.") }
            configuration.publicURL = url
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
        guard configuration.workers >= 0 else { throw ValidationError("workers must be 0 or more.") }
        try await MouthpieceServer.run(configuration)
    }
}

/// `mouthpiece keys create`: API keys, shown once and stored hashed.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys.", subcommands: [CreateKey.self])

    struct CreateKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an API key; prints it and its webhook signing secret once.")

        @Option(help: "A name for the key (who or what uses it).")
        var name: String

        @Option(name: .customLong("data-dir"), help: "The server's data directory (env MOUTHPIECE_DATA_DIR).")
        var dataDir: String?

        @Option(name: .customLong("quota-seconds"), help: "Output seconds this key may render in all.")
        var quotaSeconds: Double?

        @Option(help: "Videos this key may have rendering at once.")
        var concurrency: Int = 2

        @Flag(help: "Print JSON on stdout.")
        var json = false

        func run() throws {
            try Terminal.run(json: json) {
                var configuration = ServerConfiguration()
                if let dir = dataDir ?? ProcessInfo.processInfo.environment["MOUTHPIECE_DATA_DIR"] {
                    configuration.dataDirectory = dir
                }
                guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw MouthpieceError(.invalidParameter, "name must not be empty.", field: "name")
                }
                guard concurrency >= 1 else {
                    throw MouthpieceError(.invalidParameter, "concurrency must be 1 or more.", field: "concurrency")
                }
                try FileManager.default.createDirectory(
                    atPath: configuration.dataDirectory, withIntermediateDirectories: true)
                let store = try SQLiteStore(path: configuration.databasePath)
                let (key, secret) = try store.createKey(
                    name: name, quotaSeconds: quotaSeconds, concurrency: concurrency)
                if json {
                    Terminal.printJSON([
                        "id": key.id, "name": key.name, "key": secret, "webhook_secret": key.webhookSecret,
                        "quota_seconds": key.quotaSeconds as Any? ?? NSNull(), "concurrency": key.concurrency,
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
