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

    /// Refuses `url` unless it is http(s) to a public address (or allow-listed).
    func check(_ url: URL, field: String) async throws {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host,
            !host.isEmpty
        else {
            throw MouthpieceError(.urlNotAllowed, "\(field) must be an http(s) URL or a data: URI.", field: field)
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if allowlist.contains("\(bare.lowercased()):\(port)") { return }
        let addresses = try await Offload.run { Self.resolve(bare) }
        guard !addresses.isEmpty else {
            throw MouthpieceError(.inputNotFound, "The host of \(field) (\(bare)) does not resolve.", field: field)
        }
        for address in addresses where !Self.isPublic(address) {
            throw MouthpieceError(
                .urlNotAllowed,
                "\(field) points at a private, loopback, link-local or otherwise internal address; not fetched.",
                field: field)
        }
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
        return true
    }
}

/// Fetches URL inputs: http(s) only, through `URLGuard` at every hop (redirects are followed by
/// hand, each re-checked), within a size and a time limit. What arrives is sniffed later by the
/// decoders, never trusted by its content type.
struct URLFetcher: Sendable {
    let client: HTTPClient
    let guardrail: URLGuard
    var timeout: TimeAmount = .seconds(30)
    var maxRedirects = 5

    func fetch(_ text: String, field: String, maxBytes: Int) async throws -> [UInt8] {
        guard var url = URL(string: text) else {
            throw MouthpieceError(.invalidParameter, "\(field) is not a valid URL.", field: field)
        }
        for _ in 0...maxRedirects {
            try await guardrail.check(url, field: field)
            var request = HTTPClientRequest(url: url.absoluteString)
            request.headers.add(name: "User-Agent", value: "Mouthpiece")
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: timeout)
            } catch {
                throw MouthpieceError(.inputNotFound, "\(field) could not be fetched (\(error)).", field: field)
            }
            if (300..<400).contains(response.status.code), let location = response.headers.first(name: "location") {
                guard let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw MouthpieceError(.inputNotFound, "\(field) redirects to an invalid URL.", field: field)
                }
                url = next
                continue
            }
            guard (200..<300).contains(response.status.code) else {
                throw MouthpieceError(
                    .inputNotFound, "\(field) answered HTTP \(response.status.code).", field: field)
            }
            if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBytes {
                throw MouthpieceError(.payloadTooLarge, "\(field) is over \(maxBytes / 1_048_576) MB.", field: field)
            }
            var bytes: [UInt8] = []
            for try await chunk in response.body {
                bytes += chunk.readableBytesView
                if bytes.count > maxBytes {
                    throw MouthpieceError(
                        .payloadTooLarge, "\(field) is over \(maxBytes / 1_048_576) MB.", field: field)
                }
            }
            return bytes
        }
        throw MouthpieceError(.inputNotFound, "\(field) redirects more than \(maxRedirects) times.", field: field)
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
