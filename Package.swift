// swift-tools-version: 6.0
import PackageDescription

// Hot pixel and signal loops stay optimised even in debug builds, so that tests that render real
// clips finish in seconds. Those are unsafe flags, which SwiftPM allows only in a root (or local)
// package: checked out as another package's versioned dependency, the engine builds with the
// dependent's own settings instead (its release builds optimise everything anyway).
let isCheckedOutDependency = Context.packageDirectory.contains("/checkouts/")
let optimised: [SwiftSetting] =
    isCheckedOutDependency ? [] : [.unsafeFlags(["-O", "-enforce-exclusivity=unchecked"])]
let optimisedCxx: [CXXSetting] = isCheckedOutDependency ? [] : [.unsafeFlags(["-O2"])]
let optimisedC: [CSetting] = isCheckedOutDependency ? [] : [.unsafeFlags(["-O2"])]

let package = Package(
    name: "Mouthpiece",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mouthpiece", targets: ["MouthpieceCLI"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "MouthpieceClient", targets: ["MouthpieceClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // C layers: headers and one small C++ shim, nothing else.
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg"),
        .systemLibrary(name: "CEspeak", path: "Sources/CEspeak"),
        .systemLibrary(name: "CMeCab", path: "Sources/CMeCab"),
        .target(
            name: "CDlibFace",
            path: "Sources/CDlibFace",
            cxxSettings: optimisedCxx,
            linkerSettings: [
                .linkedLibrary("dlib"), .linkedLibrary("blas"), .linkedLibrary("lapack"),
                .linkedLibrary("stdc++"),
            ]
        ),

        // The renderer's innermost loop in C: AVX2 gathers where the CPU has them (Swift has no
        // portable way to them), the plain loop elsewhere; the same bytes either way.
        .target(name: "CWarpKernel", path: "Sources/CWarpKernel", cSettings: optimisedC),

        // Shared value types: errors with stable codes, images, geometry.
        .target(name: "MouthpieceCore", swiftSettings: optimised),
        // Media in and out: the one Swift wrapper around FFmpeg.
        .target(name: "Media", dependencies: ["CFFmpeg", "MouthpieceCore"], swiftSettings: optimised),
        // Face analysis: the one Swift wrapper around dlib.
        .target(name: "Face", dependencies: ["CDlibFace", "Media", "MouthpieceCore"], swiftSettings: optimised),
        // Voice analysis: audio -> per-frame features.
        .target(name: "Voice", dependencies: ["Media", "MouthpieceCore"], swiftSettings: optimised),
        // Speech from text: the one Swift wrapper around espeak-ng (and MeCab, for Japanese).
        .target(
            name: "Speech", dependencies: ["CEspeak", "CMeCab", "Media", "MouthpieceCore"], swiftSettings: optimised),
        // Motion: features -> mouth-shape track, blinks.
        .target(name: "Motion", dependencies: ["Voice", "MouthpieceCore"], swiftSettings: optimised),
        // Render: rig (mesh) and per-frame warp, mouth interior, framing.
        .target(
            name: "Render", dependencies: ["CWarpKernel", "Face", "Media", "Motion", "MouthpieceCore"],
            swiftSettings: optimised),
        // Provenance: a signed manifest of every output (Ed25519), embedded in the MP4 and checked.
        .target(
            name: "Provenance",
            dependencies: ["MouthpieceCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Pipeline: joins the stages into one render job.
        .target(
            name: "Pipeline",
            dependencies: ["Media", "Face", "Voice", "Speech", "Motion", "Render", "Provenance", "MouthpieceCore"],
            swiftSettings: optimised
        ),
        // The job store: keys, avatars, videos, leases, webhook outbox; SQLite (GRDB, embedded) or
        // PostgreSQL (postgres-nio, many machines) behind one protocol.
        .target(
            name: "Store",
            dependencies: [
                "MouthpieceCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP service: the API, authentication, in-process render workers.
        .target(
            name: "Service",
            dependencies: [
                "Store", "Pipeline", "Render", "Speech", "Media", "Provenance", "MouthpieceCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The web studio: plain HTML, CSS and JavaScript modules, and the stock portraits.
            resources: [.copy("Web")]
        ),
        // The Swift client of the native API (depends on nothing of the server).
        .target(
            name: "MouthpieceClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "MouthpieceCLI",
            dependencies: [
                "Pipeline", "Media", "Face", "Render", "Speech", "MouthpieceCore", "Service", "Store", "Provenance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "MediaTests", dependencies: ["Media", "MouthpieceCore", "TestSupport"]),
        .testTarget(name: "FaceTests", dependencies: ["Face", "Media", "MouthpieceCore", "TestSupport"]),
        .testTarget(name: "VoiceTests", dependencies: ["Voice", "Speech", "Motion", "Media", "TestSupport"]),
        .testTarget(
            name: "RenderTests",
            dependencies: ["CWarpKernel", "Render", "Face", "Motion", "MouthpieceCore", "TestSupport"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["Pipeline", "Media", "Face", "Speech", "Motion", "Render", "Voice", "MouthpieceCore", "TestSupport"],
            // Faces found once by dlib, read by path (`EngineSeamTests`).
            exclude: ["Recorded"]
        ),
        .testTarget(
            name: "ServiceTests", dependencies: ["Media", "MouthpieceCore", "TestSupport", "MouthpieceClient"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(
            name: "ServiceUnitTests",
            dependencies: [
                "Service", "Store", "Speech", "Media", "Pipeline", "MouthpieceCore", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Media", "MouthpieceCore"], path: "Tests/TestSupport"),
    ],
    cxxLanguageStandard: .cxx17
)
