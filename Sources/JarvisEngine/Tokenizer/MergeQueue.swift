/// A binary heap of candidate merges for the BPE tokenizers: `pop` gives the element that
/// `Element.<` puts first (each tokenizer's order of merging).
struct MergeQueue<Element: Comparable> {
    private var heap: [Element] = []

    mutating func push(_ e: Element) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i] < heap[parent] else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var first = i
                if l < heap.count, heap[l] < heap[first] { first = l }
                if r < heap.count, heap[r] < heap[first] { first = r }
                if first == i { break }
                heap.swapAt(i, first)
                i = first
            }
        }
        return top
    }
}
