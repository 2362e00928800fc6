// Embedding lookup into packed rows, and its backward (scatter-add into the gradient rows).
//
// Glossary: V vocabulary, E embedding dim, B batch, N real tokens.
//   table  [V, E]  embedding.weight (and its gradient)
//   tokens         the caller's sequences back to back (original order)
//   ids    [N]     token id of every packed row
//   x      [N, E]  packed embedded rows

/// Gathers the embedded rows in packed order (x nil: only the ids); writes each row's token id to ids.
func embeddingForward(x: FPtr?, ids: UnsafeMutablePointer<Int32>, tokens: UnsafeBufferPointer<Int32>,
                      layout: PackedLayout, originalLengths: [Int], table: UnsafePointer<Float>, V: Int, E: Int) {
    var starts = [Int](repeating: 0, count: originalLengths.count)
    var acc = 0
    for (i, l) in originalLengths.enumerated() { starts[i] = acc; acc += l }
    precondition(acc == tokens.count, "lengths add up to \(acc) but \(tokens.count) tokens were given")
    for i in 0 ..< layout.batch {
        let s = starts[layout.order[i]]
        for t in 0 ..< layout.lengths[i] {
            let row = layout.offsets[t] + i
            let tok = Int(tokens[s + t])
            precondition(tok >= 0 && tok < V, "token id \(tok) outside the vocabulary (0..<\(V))")
            ids[row] = Int32(tok)
            if let x { (x + row * E).update(from: table + tok * E, count: E) }
        }
    }
}

/// Rows of ids (packed) from a batch-major [B, T] matrix (language models: row t*B + b).
func embeddingForwardLM(x: FPtr?, ids: UnsafeMutablePointer<Int32>, inputs: UnsafeBufferPointer<Int32>,
                        batch B: Int, steps T: Int, table: UnsafePointer<Float>, V: Int, E: Int) {
    precondition(inputs.count >= B * T, "need batch*steps inputs")
    for b in 0 ..< B {
        for t in 0 ..< T {
            let row = t * B + b
            let tok = Int(inputs[b * T + t])
            precondition(tok >= 0 && tok < V, "token id \(tok) outside the vocabulary (0..<\(V))")
            ids[row] = Int32(tok)
            if let x { (x + row * E).update(from: table + tok * E, count: E) }
        }
    }
}

/// grad[ids[r]] += dx[r] for every row, except the padding row (like padding_idx in PyTorch).
func embeddingBackward(grad: FPtr, dx: UnsafePointer<Float>, ids: UnsafePointer<Int32>, N: Int, E: Int, paddingIndex: Int?) {
    let pad = Int32(paddingIndex ?? -1)
    for r in 0 ..< N {
        let tok = ids[r]
        if tok == pad { continue }
        addInPlace(grad + Int(tok) * E, dx + r * E, E)
    }
}
