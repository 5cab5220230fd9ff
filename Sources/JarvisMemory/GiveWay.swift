/// How a long remember lets other model work through without losing its own: between parts,
/// and between the tokens of a metadata draft, it asks whether anything is `waiting` and, if
/// so, hands the model over to `run` it, then goes on where it was.
public struct GiveWay {
    /// Whether other work waits for the model.
    public let waiting: () -> Bool
    /// Runs the waiting work, on the calling thread.
    public let run: () -> Void

    public init(waiting: @escaping () -> Bool, run: @escaping () -> Void) {
        self.waiting = waiting
        self.run = run
    }
}
