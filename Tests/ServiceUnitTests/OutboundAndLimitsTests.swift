import AsyncHTTPClient
import Foundation
import MouthpieceCore
import NIOCore
import TestSupport
import XCTest

@testable import Media
@testable import Service

/// The service's guards, one at a time, without a server process: where outbound requests go,
/// how bodies and links are checked.
final class OutboundAndLimitsTests: XCTestCase {
    /// A name that answers a public address first and loopback afterwards (DNS rebinding).
    final class RebindingResolver: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var calls = 0

        func resolve(_ host: String) -> [[UInt8]] {
            lock.withLock {
                calls += 1
                return calls == 1 ? [[93, 184, 216, 34]] : [[127, 0, 0, 1]]
            }
        }
    }

    func testARebindingNameIsResolvedOnceAndTheConnectionPinnedToTheCheckedAddress() async throws {
        let resolver = RebindingResolver()
        var guardrail = URLGuard(allowlist: [])
        guardrail.resolver = { resolver.resolve($0) }
        let http = OutboundHTTP(guardrail: guardrail)
        let pin = try await guardrail.check(URL(string: "http://rebind.example:8080/face.jpg")!, field: "image_url")
        XCTAssertEqual(pin.address, "93.184.216.34")
        XCTAssertEqual(resolver.calls, 1, "the name is resolved once, by the guard")
        let configuration = http.configuration(for: pin)
        XCTAssertEqual(configuration.dnsOverride["rebind.example"], "93.184.216.34")
        // The second answer (loopback) would be refused had anyone asked again.
        do {
            _ = try await guardrail.check(URL(string: "http://rebind.example:8080/face.jpg")!, field: "image_url")
            XCTFail("the second, loopback answer passed the guard")
        } catch let error as MouthpieceError {
            XCTAssertEqual(error.code, .urlNotAllowed)
        }
    }

    /// A spooled body left by a killed upload is swept once stale; a live one is kept.
    func testStaleSpooledBodiesAreSweptAndLiveOnesKept() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let stale = directory + "/" + BodyReader.spoolPrefix + "stale-\(UUID().uuidString)"
        let live = directory + "/" + BodyReader.spoolPrefix + "live-\(UUID().uuidString)"
        for path in [stale, live] { FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        defer { try? FileManager.default.removeItem(atPath: live) }
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: stale)
        XCTAssertGreaterThanOrEqual(BodyReader.sweepSpools(olderThan: 900), 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
    }

    /// A name server that never answers does not hold a fetch past its deadline: the lookup is
    /// given up on (its thread finishes by itself later).
    func testASilentNameServerDoesNotOutlastTheFetchDeadline() async throws {
        var guardrail = URLGuard(allowlist: [])
        guardrail.resolver = { _ in
            Thread.sleep(forTimeInterval: 6)
            return [[93, 184, 216, 34]]
        }
        var fetcher = URLFetcher(http: OutboundHTTP(guardrail: guardrail))
        fetcher.timeout = 1
        let started = ContinuousClock.now
        do {
            _ = try await fetcher.fetch("http://silent.example/face.jpg", field: "image_url", maxBytes: 1 << 20)
            XCTFail("fetched through a name server that never answered")
        } catch let error as MouthpieceError {
            XCTAssertEqual(error.code, .inputNotFound, "\(error)")
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3), "the deadline waited for the lookup")
    }

    /// The pin is what the client really connects to: a name that resolves nowhere reaches a
    /// server on the pinned address (here a local one, so no traffic leaves the machine).
    func testThePinnedClientConnectsToThePinnedAddressNotTheName() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try Data("pinned".utf8).write(to: URL(fileURLWithPath: dir + "/hello.txt"))
        let port = Int.random(in: 30_000...39_999)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir]
        server.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        server.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try server.run()
        defer { server.stop() }
        let http = OutboundHTTP(guardrail: URLGuard(allowlist: []))
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: http.configuration(for: URLGuard.Pin(host: "pinned.invalid", address: "127.0.0.1")))
        defer { _ = client.shutdown() }
        var body = ""
        for _ in 0..<50 where body.isEmpty {
            if let response = try? await client.execute(
                HTTPClientRequest(url: "http://pinned.invalid:\(port)/hello.txt"), timeout: .seconds(5))
            {
                body = String(buffer: try await response.body.collect(upTo: 1024))
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        XCTAssertEqual(body, "pinned")
    }

    func testInternalAddressesInEveryDisguiseAreNotPublic() {
        func v6(_ text: String) -> [UInt8] {
            var address = in6_addr()
            XCTAssertEqual(inet_pton(AF_INET6, text, &address), 1, text)
            return withUnsafeBytes(of: address) { Array($0) }
        }
        for hidden in [
            "::127.0.0.1", "::10.0.0.1", "::ffff:127.0.0.1", "::1", "::", "fe80::1", "fd00::1",
            "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "100::1", "2001:db8::1", "ff02::1",
        ] {
            XCTAssertFalse(URLGuard.isPublic(v6(hidden)), hidden)
        }
        for outside in ["2606:4700::1111", "2002:5db8:d822::", "::ffff:93.184.216.34"] {
            XCTAssertTrue(URLGuard.isPublic(v6(outside)), outside)
        }
        XCTAssertFalse(URLGuard.isPublic([127, 0, 0, 1]))
        XCTAssertFalse(URLGuard.isPublic([169, 254, 169, 254]))
        XCTAssertTrue(URLGuard.isPublic([93, 184, 216, 34]))
    }

    func testSignedLinksExpireAndCannotBeStretched() {
        var links = FileLinks(secret: Array(repeating: 7, count: 32))
        links.lifetime = 3600
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let path = links.path("vid_1", now: now)
        let capability = String(path.split(separator: "/")[2])
        XCTAssertTrue(links.isValid(capability, for: "vid_1", now: now))
        XCTAssertTrue(links.isValid(capability, for: "vid_1", now: now.addingTimeInterval(3500)))
        XCTAssertFalse(links.isValid(capability, for: "vid_1", now: now.addingTimeInterval(3 * 3600)))
        XCTAssertFalse(links.isValid(capability, for: "vid_2", now: now))
        // A later expiry with the old token: refused.
        let token = capability.split(separator: "-")[1]
        XCTAssertFalse(links.isValid("1900000000-\(token)", for: "vid_1", now: now))
        // The old form (no expiry) never works again.
        XCTAssertFalse(links.isValid(String(token), for: "vid_1", now: now))
    }

    func testMultipartBoundariesAreCountedInOnePass() {
        let boundary = Array("--xyz".utf8)
        var text = ""
        for n in 0..<20_000 { text += "--xyz\r\nContent-Disposition: form-data; name=\"f\(n)\"\r\n\r\nv\r\n" }
        text += "--xyz--\r\n"
        let started = ContinuousClock.now
        XCTAssertEqual(BodyReader.occurrences(of: boundary, in: ByteBuffer(string: text)), 20_001)
        XCTAssertLessThan(started.duration(to: .now), .seconds(1))
        XCTAssertEqual(BodyReader.occurrences(of: boundary, in: ByteBuffer(string: "--x--xy--xyz")), 1)
        XCTAssertEqual(BodyReader.occurrences(of: boundary, in: ByteBuffer()), 0)
    }

    func testPerKeySlotsRefuseBeyondTheLimitAndFreeOnExit() async throws {
        let slots = PerKeySlots(limit: 1, what: "uploads")
        try await slots.withSlot("k") {
            do {
                try await slots.withSlot("k") { XCTFail("a second slot was given") }
            } catch let refusal as RetryLater {
                XCTAssertEqual(refusal.error.code, .concurrencyLimit)
            }
            try await slots.withSlot("other") {}
        }
        try await slots.withSlot("k") {}
    }

    func testImageSizesAreReadFromHeadersOfEveryFormat() throws {
        // PNG: IHDR.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        png += [0, 0, 0x3E, 0x80, 0, 0, 0x3E, 0x80, 16, 6, 0, 0, 0]
        XCTAssertEqual(ImageHeader.dimensions(png, format: .png)?.width, 16000)
        XCTAssertThrowsError(try ImageDecoder.checkHeader(bytes: png)) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .imageTooLarge)
            XCTAssertTrue("\(error)".contains("256.0 megapixels"), "\(error)")
        }
        // JPEG: an APP0 segment, then SOF2 (progressive) 640x480.
        let jpeg: [UInt8] =
            [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC2, 0, 11, 8, 0x01, 0xE0, 0x02, 0x80, 3, 0, 0, 0]
        XCTAssertEqual(ImageHeader.dimensions(jpeg, format: .jpeg)?.width, 640)
        XCTAssertEqual(ImageHeader.dimensions(jpeg, format: .jpeg)?.height, 480)
        // WebP VP8X canvas 7000x7000 (49 megapixels).
        var webp = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8X".utf8) + [10, 0, 0, 0, 0, 0, 0, 0]
        webp += [0x57, 0x1B, 0x00, 0x57, 0x1B, 0x00]
        XCTAssertEqual(ImageHeader.dimensions(webp, format: .webp)?.width, 7000)
        XCTAssertThrowsError(try ImageDecoder.checkHeader(bytes: webp))
        // The limit's own size passes.
        XCTAssertNoThrow(try ImageDecoder.checkPixels(width: 8000, height: 5000, limits: .init()))
        XCTAssertThrowsError(try ImageDecoder.checkPixels(width: 6400, height: 6400, limits: .init())) { error in
            XCTAssertTrue("\(error)".contains("41.0 megapixels"), "\(error)")
        }
    }
}
