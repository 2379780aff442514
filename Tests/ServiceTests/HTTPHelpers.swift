import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// HTTP as the service tests speak it: JSON requests with a key, multipart uploads, answers as objects.
extension XCTestCase {
    /// A consent attestation, as an avatar of a real person needs.
    var consentJSON: [String: Any] { ["attested_by": "Test Suite", "relation": "rights_holder", "accepted": true] }

    func request(
        _ method: String, _ url: String, key: String? = nil, json: [String: Any]? = nil, headers: [String: String] = [:]
    ) async throws -> (Data, Int, [AnyHashable: Any]) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (data, http.statusCode, http.allHeaderFields)
    }

    /// A multipart/form-data POST: text fields and files (name, filename, content type, bytes).
    func upload(
        _ url: String, key: String, fields: [String: String], files: [(String, String, String, Data)]
    ) async throws -> (Data, Int) {
        let boundary = "mp-test-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (name, filename, type, bytes) in files {
            body += Data(
                ("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
                    + "Content-Type: \(type)\r\n\r\n").utf8)
            body += bytes + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        return (data, (response as! HTTPURLResponse).statusCode)
    }

    func request(_ method: String, _ url: String) async throws -> (Data, Int) {
        let (data, status, _) = try await request(method, url, key: nil)
        return (data, status)
    }

    /// Polls a video until it ends (two minutes at most); its last state.
    func waitForVideo(_ base: String, _ id: String, key: String) async throws -> [String: Any] {
        var job: [String: Any] = [:]
        for _ in 0..<600 {
            let (data, _, _) = try await request("GET", base + "/v1/videos/\(id)", key: key)
            job = try object(data)
            if ["completed", "failed", "canceled"].contains(job["status"] as? String ?? "") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return job
    }

    func object(_ data: Data) throws -> [String: Any] {
        try XCTUnwrap(
            try JSONSerialization.jsonObject(with: data) as? [String: Any], String(decoding: data, as: UTF8.self))
    }

    /// Waits up to `seconds` for a process to exit; one that does not (a shutdown that hangs) is
    /// a test failure, and is killed so that the run goes on.
    func waitForExit(_ process: Process, seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) {
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(20_000) }
        if process.isRunning {
            XCTFail(
                "\(process.executableURL?.lastPathComponent ?? "the process") did not exit within \(Int(seconds)) s",
                file: file, line: line)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// Waits up to 20 s for a server at `base` to answer `/healthz`; whether it did.
    func waitUntilUp(_ base: String) async throws -> Bool {
        for _ in 0..<100 {
            if let (_, status) = try? await request("GET", base + "/healthz"), status == 200 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}
