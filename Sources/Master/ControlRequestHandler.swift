import Shared

/// Answers the rate-limit requests workers send over their control channel (embedded mode: `rl` and `rlc`).
///
/// HOOK FOR THE EMBEDDED LIMITER: `MasterHooks.make` picks the implementation. Called on the channel's event loop;
/// must not block. `reply` may be called from any thread, exactly once per `rateLimitAcquire` (answered with a
/// `rateLimitDecision` carrying the same id); `rateLimitCorrect` has no answer.
protocol ControlRequestHandler: Sendable {
    func handle(_ message: ControlMessage, reply: @escaping @Sendable (ControlMessage) -> Void)
}
