/// What a reader (a user with read but not execute access to a kernel) may send on its channels. Readers may ask
/// only questions that reveal nothing beyond what the kernel broadcasts (docs/authorization.md), but a large or
/// rapid question still occupies the kernel: one 40 kB `complete_request` once kept the owner's next cell waiting
/// 38 s. The size bound is per message; the rate is per user on a kernel (all their connections together).
package struct ReaderLimits: Sendable, Equatable {
    /// Largest WebSocket message a reader may send, in bytes (the default fits any real read-level request).
    package var maxMessageBytes: Int
    /// Sustained messages per second a reader's connection may send.
    package var messagesPerSecond: Int
    /// Messages a reader's connection may send at once before the rate applies.
    package var burst: Int

    package init(maxMessageBytes: Int = 16 << 10, messagesPerSecond: Int = 10, burst: Int = 20) {
        self.maxMessageBytes = maxMessageBytes
        self.messagesPerSecond = max(1, messagesPerSecond)
        self.burst = max(1, burst)
    }
}
