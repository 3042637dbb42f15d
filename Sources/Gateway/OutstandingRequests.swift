/// The number of a session's requests still waiting for replies; one object per session, shared by whichever
/// connection currently serves it. Loop-bound like the hub.
final class OutstandingRequests {
    var count = 0
}
