import CHTTPParser

/// The C callbacks http_parser invokes during `http_parser_execute`, and the per-message
/// bookkeeping they drive.
///
/// Audit of the unsafe parts: `parser.data` holds an unretained pointer to the owning
/// `HTTPRequestParser`, set once in `init`. Callbacks run only synchronously inside
/// `http_parser_execute`, which only `feed`/`finish` call while `self` is alive, so the
/// `takeUnretainedValue()` below never sees a dangling pointer. The `at` pointers are valid only
/// for the duration of the callback and are copied immediately.
extension HTTPRequestParser {
    static func installCallbacks(_ settings: UnsafeMutablePointer<http_parser_settings>) {
        settings.pointee.on_message_begin = { parser in
            guard let owner = HTTPRequestParser.owner(of: parser) else { return 1 }
            owner.beginMessage()
            return 0
        }
        settings.pointee.on_url = { parser, at, length in
            guard let owner = HTTPRequestParser.owner(of: parser), let at else { return 1 }
            return owner.appendURL(UnsafeRawBufferPointer(start: at, count: length))
        }
        settings.pointee.on_header_field = { parser, at, length in
            guard let owner = HTTPRequestParser.owner(of: parser), let at else { return 1 }
            return owner.appendFieldName(UnsafeRawBufferPointer(start: at, count: length))
        }
        settings.pointee.on_header_value = { parser, at, length in
            guard let owner = HTTPRequestParser.owner(of: parser) else { return 1 }
            // An empty value may arrive with a zero length; `at` is still set, but be lenient.
            let bytes = at.map { UnsafeRawBufferPointer(start: $0, count: length) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            return owner.appendFieldValue(bytes)
        }
        settings.pointee.on_headers_complete = { parser in
            guard let parser, let owner = HTTPRequestParser.owner(of: parser) else { return -1 }
            return owner.completeHeaders(parser)
        }
        settings.pointee.on_body = { parser, at, length in
            guard let owner = HTTPRequestParser.owner(of: parser), let at else { return 1 }
            return owner.appendBody(UnsafeRawBufferPointer(start: at, count: length))
        }
        settings.pointee.on_message_complete = { parser in
            guard let parser, let owner = HTTPRequestParser.owner(of: parser) else { return 1 }
            return owner.completeMessage(parser)
        }
    }

    private static func owner(of parser: UnsafeMutablePointer<http_parser>?) -> HTTPRequestParser? {
        guard let data = parser?.pointee.data else { return nil }
        return Unmanaged<HTTPRequestParser>.fromOpaque(data).takeUnretainedValue()
    }

    private func fail(_ code: HTTPParseError.Code, _ detail: String) -> Int32 {
        if callbackError == nil { callbackError = HTTPParseError(code, detail: detail) }
        // Not 1: from on_headers_complete, 1 means "this message has no body" to http_parser, not an error.
        return -1
    }

    func beginMessage() {
        // `feed` already counted a request whose first bytes were blank lines; a pipelined one starts here.
        if progress.stage == .waiting { beginStage(.head, newRequest: true) }
        head = nil
        rejection = nil
        bodyLimit = limits.maxBodyBytes
        url.removeAll(keepingCapacity: true)
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        fieldValueStarted = false
        headers = HTTPHeaders()
        headersComplete = false
        headerBytes = 0
        body = []
    }

    func appendURL(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        url.append(contentsOf: bytes)
        headerBytes += bytes.count
        if url.count > limits.maxURLLength { return fail(.uriTooLong, "request target longer than \(limits.maxURLLength) bytes") }
        if headerBytes > limits.maxHeaderBytes { return fail(.headersTooLarge, "header section larger than \(limits.maxHeaderBytes) bytes") }
        return 0
    }

    func appendFieldName(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        // A name callback after a value starts a new field: http_parser may split one name or
        // value over several callbacks, but never interleaves them within a field.
        if fieldValueStarted { commitField() }
        if fieldName.isEmpty { headerBytes += 4 }
        fieldName.append(contentsOf: bytes)
        headerBytes += bytes.count
        if headerBytes > limits.maxHeaderBytes { return fail(.headersTooLarge, "header section larger than \(limits.maxHeaderBytes) bytes") }
        return 0
    }

    func appendFieldValue(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        fieldValueStarted = true
        fieldValue.append(contentsOf: bytes)
        headerBytes += bytes.count
        if headerBytes > limits.maxHeaderBytes { return fail(.headersTooLarge, "header section larger than \(limits.maxHeaderBytes) bytes") }
        return 0
    }

    private func commitField() {
        // Trailer fields of a chunked body arrive after the head; they count towards the limit
        // but are not exposed (nothing in the Jupyter API uses trailers).
        if !headersComplete {
            headers.add(name: String(decoding: fieldName, as: UTF8.self), value: String(decoding: fieldValue, as: UTF8.self))
        }
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        fieldValueStarted = false
    }

    /// The head is complete: build the request, let `decideHead` judge it, then check the declared body
    /// against the bound it chose. Nothing of the body has been read at this point.
    func completeHeaders(_ parser: UnsafeMutablePointer<http_parser>) -> Int32 {
        if fieldValueStarted || !fieldName.isEmpty { commitField() }
        headersComplete = true
        guard parser.pointee.http_major == 1 else {
            // http_parser accepts any single-digit version; only HTTP/1.x framing is understood here.
            return fail(.badRequest, "unsupported HTTP version \(parser.pointee.http_major).\(parser.pointee.http_minor)")
        }
        let methodValue = http_method(rawValue: parser.pointee.method)
        let request: HTTPRequest
        do throws(HTTPParseError) {
            request = try makeRequest(
                method: HTTPMethod(rawValue: String(cString: http_method_str(methodValue))),
                isConnect: methodValue == HTTP_CONNECT,
                version: HTTPVersion(major: Int(parser.pointee.http_major), minor: Int(parser.pointee.http_minor)),
                keepAlive: http_should_keep_alive(parser) != 0,
                isUpgrade: parser.pointee.upgrade == 1)
        } catch {
            return fail(error.code, error.detail)
        }
        // content_length is all-ones when no Content-Length was sent (then a request has no body unless
        // chunked); chunked bodies are checked as they arrive in appendBody.
        let declaredLength = parser.pointee.content_length
        let declared = declaredLength != UInt64.max && declaredLength > 0
        let hasBody = declared || parser.pointee.flags & F_CHUNKED.rawValue != 0
        switch decideHead?(request) ?? .proceed {
        case .reject(let response):
            guard hasBody else {
                // Nothing to skip: the refusal is reported in order when the message completes.
                head = request
                rejection = response
                return 0
            }
            var refused = request
            refused.keepAlive = false
            pending.append(.rejected(refused, response: response))
            beginStage(.waiting)
            stopRequested = true
            http_parser_pause(parser, 1)
            return 0
        case .proceed(let bound):
            if let bound { bodyLimit = min(max(0, bound), limits.maxBodyBytes) }
        }
        if declared && declaredLength > UInt64(bodyLimit) {
            return fail(.bodyTooLarge, "declared body of \(declaredLength) bytes exceeds \(bodyLimit)")
        }
        head = request
        if hasBody { beginStage(.body) }
        // Memory follows the bytes that arrive, not the declared length (a slow client cannot reserve it all).
        if declared { body.reserveCapacity(min(Int(declaredLength), 64 * 1024)) }
        return 0
    }

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        if body.count + bytes.count > bodyLimit {
            return fail(.bodyTooLarge, "body exceeds \(bodyLimit) bytes")
        }
        body.append(contentsOf: bytes)
        return 0
    }

    func completeMessage(_ parser: UnsafeMutablePointer<http_parser>) -> Int32 {
        // Trailers end with the message; drop any half-committed trailer field.
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        fieldValueStarted = false
        beginStage(.waiting)
        guard var request = head else { return fail(.badRequest, "request completed without a head") }
        head = nil
        request.body = body
        body = []
        // Recomputed: a trailer field may have added `Connection: close`.
        request.keepAlive = http_should_keep_alive(parser) != 0
        if let response = rejection {
            rejection = nil
            // A refused upgrade ends the connection: the peer may already be sending the new protocol.
            if request.isUpgrade { request.keepAlive = false }
            pending.append(.rejected(request, response: response))
        } else if request.isUpgrade {
            // http_parser returns right after this callback; feed() fills in the remainder.
            pending.append(.upgrade(request, remainder: []))
            return 0
        } else {
            pending.append(.request(request))
        }
        if !request.keepAlive {
            stopRequested = true
            http_parser_pause(parser, 1)
        }
        return 0
    }

    private func makeRequest(
        method: HTTPMethod, isConnect: Bool, version: HTTPVersion, keepAlive: Bool, isUpgrade: Bool
    ) throws(HTTPParseError) -> HTTPRequest {
        guard UTF8Validator.isValid(url) else {
            throw HTTPParseError(.badRequest, detail: "request target is not valid UTF-8")
        }
        var parsed = http_parser_url()
        http_parser_url_init(&parsed)
        let status = url.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                http_parser_parse_url(chars.baseAddress, chars.count, isConnect ? 1 : 0, &parsed)
            }
        }
        guard status == 0 else { throw HTTPParseError(.badRequest, detail: "invalid request target") }
        let target = String(decoding: url, as: UTF8.self)
        let path = field(UF_PATH, of: parsed) ?? "/"
        let query = field(UF_QUERY, of: parsed)
        return HTTPRequest(
            method: method, target: target, path: path,
            pathComponents: try PercentDecoding.pathComponents(of: path),
            rawQuery: query,
            queryItems: try query.map { q throws(HTTPParseError) in try PercentDecoding.queryItems(of: q) } ?? [],
            headers: headers, body: body, version: version, keepAlive: keepAlive, isUpgrade: isUpgrade)
    }

    private func field(_ which: http_parser_url_fields, of parsed: http_parser_url) -> String? {
        let index = Int(which.rawValue)
        guard parsed.field_set & (1 << UInt16(index)) != 0 else { return nil }
        // Layout: uint16_t field_set, uint16_t port, then { uint16_t off; uint16_t len; }[UF_MAX].
        // The anonymous struct array is not imported into Swift, so read it by offset.
        let (offset, length) = withUnsafeBytes(of: parsed) { raw -> (Int, Int) in
            (Int(raw.load(fromByteOffset: 4 + index * 4, as: UInt16.self)),
             Int(raw.load(fromByteOffset: 4 + index * 4 + 2, as: UInt16.self)))
        }
        guard offset + length <= url.count else { return nil }
        return String(decoding: url[offset..<(offset + length)], as: UTF8.self)
    }
}
