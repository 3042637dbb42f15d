// The JupyterProtocol module: the Jupyter messaging wire formats as pure functions over byte buffers.
// No I/O, no JSON trees. See docs/architecture.md for its place in the layers.
//
// Inbound hot path (client WebSocket -> kernel), all on the kernel's loop thread:
//   let layout = try LegacyWebSocketCodec.decode(text: frame)      // or decode(binary:) / V1WebSocketCodec.decode
//   authorize layout.channel + layout.headerFields.msgType          // JSONScanner(frame).string(token, equals: "...")
//   let h = try HeaderRewriter.replaceUsername(in: frame, fields: layout.headerFields, with: user, into: &scratch)
//   var parts = layout.parts(in: frame); parts.header = <scratch[h]>
//   let signature = try signer.sign(parts)                           // HMACSigner, one per kernel
//   ZMQFrames.forEachFrame(identities: EmptyCollection(), signature: signature, parts: parts) { zmq_send }
//
// Outbound (kernel -> client): ZMQFrameLayout.parse(frames), signer.verify(...), HeaderFields.scan(parent)
// for routing, then LegacyWebSocketCodec.encode / V1WebSocketCodec.encode into a reusable [UInt8].
