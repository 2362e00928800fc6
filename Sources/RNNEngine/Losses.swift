// Losses on logits, each returning the loss and writing d loss / d logits.
//
// Glossary: R rows (batch or positions), O outputs (classes / vocabulary).
//   logits [R, O]; labels [R]; dlogits [R, O]
// Mean over rows, as PyTorch's default reduction. Computed per row in Double for stability.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// BCEWithLogits over R independent logits (a binary head: R = B; a multi-label head: R = B*O
/// with 0/1 targets, PyTorch's BCEWithLogitsLoss mean over every element):
/// l = max(x,0) - x*y + log(1 + exp(-|x|)); d = (sigmoid(x) - y) / R.
func bceWithLogits(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, R: Int, dlogits: FPtr?) -> Float {
    var total: Double = 0
    for r in 0 ..< R {
        let x = Double(logits[r]), y = Double(labels[r])
        total += max(x, 0) - x * y + log1p(exp(-abs(x)))
        if let dlogits {
            let s = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
            dlogits[r] = Float((s - y) / Double(R))
        }
    }
    return Float(total / Double(R))
}

/// Softmax cross-entropy per row: losses[r] = logsumexp(x_r) - x_r[label]; optional
/// dlogits = (softmax - onehot) * scale. Returns the sum of the row losses.
@discardableResult
func softmaxCrossEntropy(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, R: Int, O: Int,
                         losses: FPtr?, dlogits: FPtr?, scale: Float) -> Double {
    var total: Double = 0
    for r in 0 ..< R {
        let x = logits + r * O
        let y = Int(labels[r])
        precondition(y >= 0 && y < O, "label \(y) outside 0..<\(O)")
        var mx = x[0]
        for j in 1 ..< max(O, 1) where x[j] > mx { mx = x[j] }
        var sum: Double = 0
        if let dlogits {
            let d = dlogits + r * O
            for j in 0 ..< O { let e = exp(Double(x[j] - mx)); d[j] = Float(e); sum += e }
            let inv = 1 / sum
            for j in 0 ..< O { d[j] = Float(Double(d[j]) * inv) * scale }
            d[y] -= scale
        } else {
            for j in 0 ..< O { sum += exp(Double(x[j] - mx)) }
        }
        let l = log(sum) + Double(mx) - Double(x[y])
        losses?[r] = Float(l)
        total += l
    }
    return total
}
