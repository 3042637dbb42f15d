import Basics
import EventLoop
import Foundation

/// The REST control path: start and delete kernels with the blocking HTTP client. Thread-safe (stateless).
enum KernelREST {
    struct Started: Sendable {
        let id: String
        let token: String?
        /// Wall time of the POST, nanoseconds.
        let latency: UInt64
    }

    /// `POST /api/kernels {"name": NAME}`; expects 201 (Jupyter Server) or 200/201 (Kernel Gateway) with an id.
    static func start(_ url: GatewayURL, name: String, token: String?) throws(BlockingHTTPClient.Failure) -> Started {
        let begin = Monotonic.now
        var body: [UInt8] = []
        JSONEscaper.appendQuoted(name, to: &body)
        let response = try BlockingHTTPClient.request("POST", url, "api/kernels", token: token,
                                                      body: "{\"name\":" + String(decoding: body, as: UTF8.self) + "}")
        let latency = Monotonic.now &- begin
        guard response.status == 201 || response.status == 200 else {
            throw BlockingHTTPClient.Failure(message: "POST api/kernels: HTTP \(response.status): \(response.text.prefix(300))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let id = object["id"] as? String, !id.isEmpty
        else {
            throw BlockingHTTPClient.Failure(message: "POST api/kernels: no id in \(response.text.prefix(300))")
        }
        return Started(id: id, token: token, latency: latency)
    }

    /// `DELETE /api/kernels/ID`; 204 (or 404 if it is already gone) is success.
    static func delete(_ url: GatewayURL, id: String, token: String?) throws(BlockingHTTPClient.Failure) {
        let response = try BlockingHTTPClient.request("DELETE", url, "api/kernels/\(id)", token: token)
        guard response.status == 204 || response.status == 200 || response.status == 404 else {
            throw BlockingHTTPClient.Failure(message: "DELETE api/kernels/\(id): HTTP \(response.status)")
        }
    }

    /// Starts `count` kernels, `parallel` at a time on their own threads; kernel `i` uses `token(i)`.
    /// Returns the kernels started and the errors (both possibly non-empty).
    static func startMany(_ url: GatewayURL, name: String, count: Int, parallel: Int,
                          token: @escaping @Sendable (Int) -> String?) -> (started: [Started?], errors: [String]) {
        let results = ParallelRunner.run(count: count, parallel: parallel) { i -> Result<Started, BlockingHTTPClient.Failure> in
            do throws(BlockingHTTPClient.Failure) { return .success(try start(url, name: name, token: token(i))) } catch { return .failure(error) }
        }
        var started: [Started?] = []
        var errors: [String] = []
        for result in results {
            switch result {
            case .success(let s): started.append(s)
            case .failure(let e):
                started.append(nil)
                errors.append(e.message)
            }
        }
        return (started, errors)
    }

    /// Deletes every kernel in `kernels` (in parallel); returns the error messages.
    @discardableResult
    static func deleteAll(_ url: GatewayURL, _ kernels: [Started]) -> [String] {
        let results = ParallelRunner.run(count: kernels.count, parallel: 16) { i -> String? in
            do throws(BlockingHTTPClient.Failure) {
                try delete(url, id: kernels[i].id, token: kernels[i].token)
                return nil
            } catch {
                return error.message
            }
        }
        return results.compactMap { $0 }
    }
}
