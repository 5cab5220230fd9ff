/// The feed-forward half of an encoder layer: up-projection, GELU, down-projection.
struct MLP {
    /// width → hidden, and hidden → width.
    let up: Linear, down: Linear
    let activation: GELU

    init(up: Linear, down: Linear, activation: GELU) {
        precondition(up.outputs == down.inputs && up.inputs == down.outputs, "MLP: projections do not chain")
        self.up = up; self.down = down; self.activation = activation
    }

    /// `rows × width` from x, `rows × width`.
    func callAsFunction(_ x: [Float]) -> [Float] {
        var hidden = up(x)
        activation(&hidden)
        return down(hidden)
    }
}
