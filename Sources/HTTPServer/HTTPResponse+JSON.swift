import Foundation

/// JSON bodies from `Encodable` values. Uses Foundation's `JSONEncoder`: fine for REST handlers,
/// not meant for the per-message WebSocket path.
extension HTTPResponse {
    /// A JSON response encoding `value`. Throws whatever `JSONEncoder.encode` throws.
    public static func json<Value: Encodable>(_ status: HTTPStatus = .ok, encoding value: Value, encoder: JSONEncoder = JSONEncoder()) throws -> HTTPResponse {
        let data = try encoder.encode(value)
        return json(status, body: [UInt8](data))
    }
}
