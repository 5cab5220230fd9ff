/// Small helpers the benchmarks print their tables with.

/// The median of `xs` (the upper one for an even count); `xs` must not be empty.
func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// `s` padded with spaces to `n` characters, and at least one space after it.
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
