import AsyncHTTPClient
import Foundation
import MouthpieceCore
import NIOCore

/// Decides which hosts a URL input may reach: only public addresses, unless the host:port is on
/// the operator's allow-list. Every address a name resolves to is checked (a name with one
/// private address is refused).
struct URLGuard: Sendable {
    /// `host:port` entries let through whatever they resolve to (say, a receiver on loopback).
    let allowlist: Set<String>
    /// Name -> addresses (the system resolver; tests give their own).
    var resolver: @Sendable (String) -> [[UInt8]] = URLGuard.resolve

    /// Where a checked URL may be reached: the name as the URL has it, and the one address that
    /// was checked, to connect to (nil for an allow-listed host:port, reached as it resolves).
    struct Pin: Sendable {
        let host: String
        let address: String?
    }

    /// Refuses `url` unless it is http(s) to a public address (or allow-listed); the address to
    /// connect to. The name is resolved once, here: the connection goes to the address checked,
    /// never to a second answer of the name (DNS rebinding).
    func check(_ url: URL, field: String) async throws -> Pin {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host,
            !host.isEmpty
        else {
            throw MouthpieceError(.urlNotAllowed, "\(field) must be an http(s) URL or a data: URI.", field: field)
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if allowlist.contains("\(bare.lowercased()):\(port)") { return Pin(host: bare, address: nil) }
        // A name server that never answers must not outlast the fetch's deadline.
        let addresses = try await Offload.abandonable { [resolver] in resolver(bare) }
        guard let first = addresses.first else {
            throw MouthpieceError(.inputNotFound, "The host of \(field) (\(bare)) does not resolve.", field: field)
        }
        for address in addresses where !Self.isPublic(address) {
            throw MouthpieceError(
                .urlNotAllowed,
                "\(field) points at a private, loopback, link-local or otherwise internal address; not fetched.",
                field: field)
        }
        return Pin(host: bare, address: Self.text(first))
    }

    /// An address in its usual text form (dotted IPv4, IPv6 without brackets).
    static func text(_ address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = address.count == 4 ? AF_INET : AF_INET6
        _ = address.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(cString: buffer)
    }

    /// Every address of `host` (IPv4 as 4 bytes, IPv6 as 16).
    static func resolve(_ host: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            if let address = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        out.append(withUnsafeBytes(of: v4.pointee.sin_addr) { Array($0) })
                    }
                } else if entry.pointee.ai_family == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        out.append(withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) })
                    }
                }
            }
            node = entry.pointee.ai_next
        }
        return out
    }

    /// Whether an address is an ordinary public unicast one.
    static func isPublic(_ a: [UInt8]) -> Bool {
        if a.count == 4 {
            let (b0, b1) = (a[0], a[1])
            switch b0 {
            case 0, 10, 127: return false  // "this network", private, loopback
            case 100 where (64...127).contains(b1): return false  // carrier-grade NAT
            case 169 where b1 == 254: return false  // link-local, cloud metadata
            case 172 where (16...31).contains(b1): return false
            case 192 where b1 == 168: return false
            case 192 where b1 == 0 && a[2] == 0: return false  // IETF protocol assignments
            case 198 where b1 == 18 || b1 == 19: return false  // benchmarking
            case 224...255: return false  // multicast, reserved, broadcast
            default: return true
            }
        }
        guard a.count == 16 else { return false }
        if a.allSatisfy({ $0 == 0 }) { return false }  // ::
        if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return false }  // ::1
        if a[0] == 0xff { return false }  // multicast
        if a[0] & 0xfe == 0xfc { return false }  // unique local fc00::/7
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 { return false }  // link-local fe80::/10
        // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96): judge the IPv4 inside.
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xff && a[11] == 0xff { return isPublic(Array(a[12...])) }
        if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b { return isPublic(Array(a[12...])) }
        // IPv4-compatible (::a.b.c.d, deprecated), and the discard prefix 100::/64: never public.
        if a[0..<12].allSatisfy({ $0 == 0 }) { return false }
        if a[0] == 0x01 && a[1..<8].allSatisfy({ $0 == 0 }) { return false }
        // 6to4 (2002:a.b.c.d::/48): judge the IPv4 inside. Documentation 2001:db8::/32: not public.
        if a[0] == 0x20 && a[1] == 0x02 { return isPublic(Array(a[2..<6])) }
        if a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8 { return false }
        return true
    }
}

/// Outbound HTTP through the guard: each request goes to the one address the guard checked, by
/// a client made for it (AsyncHTTPClient's `dnsOverride` keeps the name for the Host header, SNI
/// and the certificate check, and connects to the pinned address). No redirects are followed by
/// the client; callers follow them by hand, each hop checked again.
struct OutboundHTTP: Sendable {
    let guardrail: URLGuard
    var connectTimeout: TimeAmount = .seconds(5)
    var readTimeout: TimeAmount = .seconds(20)

    /// A client configuration that connects to the pinned address whatever the name resolves to
    /// later, and follows no redirect.
    func configuration(for pin: URLGuard.Pin) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: connectTimeout, read: readTimeout))
        if let address = pin.address {
            configuration.dnsOverride[pin.host] = address
            configuration.dnsOverride[pin.host.lowercased()] = address
        }
        return configuration
    }

    /// Checks `url` and runs `body` with a client that reaches only the checked address.
    func withClient<T: Sendable>(
        for url: URL, field: String, _ body: (HTTPClient) async throws -> T
    ) async throws -> T {
        let pin = try await guardrail.check(url, field: field)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(for: pin))
        do {
            let value = try await body(client)
            try? await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// Runs `body`, giving up after `seconds` in all: a server that trickles must not hold a task
/// longer than its limit. The work is cancelled at the deadline.
func withDeadline<T: Sendable>(
    seconds: Double, _ onTimeout: @autoclosure () -> any Error, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let timedOut = onTimeout()
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw timedOut }
        return value
    }
}

/// Fetches URL inputs: http(s) only, through `URLGuard` at every hop (redirects are followed by
/// hand, each re-checked and pinned), within a size limit and one overall time limit. What
/// arrives is sniffed later by the decoders, never trusted by its content type.
struct URLFetcher: Sendable {
    let http: OutboundHTTP
    /// For the whole fetch: every redirect, the headers and the body.
    var timeout: Double = 30
    var maxRedirects = 5

    var guardrail: URLGuard { http.guardrail }

    func fetch(_ text: String, field: String, maxBytes: Int) async throws -> [UInt8] {
        guard let start = URL(string: text) else {
            throw MouthpieceError(.invalidParameter, "\(field) is not a valid URL.", field: field)
        }
        let timeout = timeout
        return try await withDeadline(
            seconds: timeout,
            MouthpieceError(
                .inputNotFound, "\(field) was not fetched within \(Int(timeout)) s.", field: field)
        ) { [self] in
            var url = start
            for _ in 0...maxRedirects {
                let hop = try await http.withClient(for: url, field: field) { client in
                    try await fetchOnce(url, client: client, field: field, maxBytes: maxBytes)
                }
                switch hop {
                case .body(let bytes): return bytes
                case .redirect(let next): url = next
                }
            }
            throw MouthpieceError(.inputNotFound, "\(field) redirects more than \(maxRedirects) times.", field: field)
        }
    }

    private enum Hop: Sendable {
        case body([UInt8])
        case redirect(URL)
    }

    private func fetchOnce(_ url: URL, client: HTTPClient, field: String, maxBytes: Int) async throws -> Hop {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "User-Agent", value: "Mouthpiece")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
        } catch {
            // Coarse on purpose: the message is shown to the caller, and must not tell open ports
            // from closed ones, or say how far a connection got.
            throw MouthpieceError(
                .inputNotFound, "\(field) could not be fetched: no answer from its server.", field: field)
        }
        if (300..<400).contains(response.status.code), let location = response.headers.first(name: "location") {
            guard let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                throw MouthpieceError(.inputNotFound, "\(field) redirects to an invalid URL.", field: field)
            }
            return .redirect(next)
        }
        guard (200..<300).contains(response.status.code) else {
            throw MouthpieceError(.inputNotFound, "\(field) answered HTTP \(response.status.code).", field: field)
        }
        let tooLarge = MouthpieceError(
            .payloadTooLarge, "\(field) is over \(maxBytes / 1_048_576) MB.", field: field)
        if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBytes {
            throw tooLarge
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in response.body {
                bytes += chunk.readableBytesView
                if bytes.count > maxBytes { throw tooLarge }
            }
        } catch let error as MouthpieceError {
            throw error
        } catch {
            throw MouthpieceError(.inputNotFound, "\(field) could not be read to its end.", field: field)
        }
        return .body(bytes)
    }
}

/// A URL input: a data: URI decoded in place, or an http(s) URL fetched through the guard.
struct InputLoader: Sendable {
    let fetcher: URLFetcher

    func load(_ text: String, field: String, maxBytes: Int) async throws -> [UInt8] {
        if text.hasPrefix("data:") { return try DataURI.decode(text, field: field, maxBytes: maxBytes) }
        return try await fetcher.fetch(text, field: field, maxBytes: maxBytes)
    }
}
