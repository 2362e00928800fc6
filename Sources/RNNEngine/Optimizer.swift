// Adam and gradient-norm clipping as flat loops over the parameter arena.
//
// Adam follows torch.optim.Adam (foreach=False single-tensor path) operation by operation:
//   g = grad + wd * p
//   m = beta1*m + (1-beta1)*g           (torch: m.lerp_(g, 1-beta1))
//   v = beta2*v + (1-beta2)*g*g
//   p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)

/// Adam exactly as torch.optim.Adam (L2 weight decay added to the gradient, bias correction,
/// eps outside the sqrt). Skips embedding.weight when frozen; the padding row's gradient is always 0.
public struct Adam {
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Steps taken so far (t of the bias correction).
    public var step: Int
    /// First and second moments, mirroring the parameter arena (saved for --resume).
    public var m: [Float], v: [Float]

    /// Zero moments for an arena of `count` floats.
    public init(count: Int, lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        step = 0
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// One optimizer step over every tensor not named in `frozen`.
    public mutating func update(_ params: Parameters, frozen: Set<String> = []) {
        precondition(m.count == params.count && v.count == params.count, "Adam state does not match the parameters")
        step += 1
        // torch computes the bias corrections in Python doubles, then the kernels use Float.
        let t = Double(step)
        let bc1 = 1 - _pow(Double(beta1), t)
        let bc2 = 1 - _pow(Double(beta2), t)
        let stepSize = Float(Double(lr) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let b1 = beta1, b2 = beta2, wd = weightDecay, eps = eps
        let p = params.mutableValues.baseAddress!, g = params.grads.baseAddress!   // (bumps params.version)
        let live = params.entries.filter { !frozen.contains($0.name) }
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                let mp = mb.baseAddress!, vp = vb.baseAddress!
                // element-wise: any cut of the arena over the threads gives the same bits
                params.forEachBlock { block, _ in
                    for e in live {
                        let r = (e.offset ..< e.offset + e.count).clamped(to: block)
                        if r.isEmpty { continue }
                        adamRange(p + r.lowerBound, g + r.lowerBound, mp + r.lowerBound, vp + r.lowerBound, r.count,
                                  b1: b1, b2: b2, wd: wd, eps: eps, stepSize: stepSize, bc2Sqrt: bc2Sqrt)
                    }
                }
            }
        }
    }
}

/// One Adam update over n contiguous floats (8 lanes at a time; same operation order as the
/// scalar tail, so results do not depend on alignment).
@inline(__always)
private func adamRange(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, _ n: Int, b1: Float, b2: Float, wd: Float, eps: Float,
                       stepSize: Float, bc2Sqrt: Float) {
    @inline(__always) func body(_ pv: F8, _ gv: F8, _ mv: F8, _ vv: F8) -> (F8, F8, F8) {
        var gi = gv
        if wd != 0 { gi = gi.addingProduct(wd, pv) }
        let m2 = mv + (1 - b1) * (gi - mv)
        let v2 = vv * b2 + (1 - b2) * gi * gi
        let denom = v2.squareRoot() / bc2Sqrt + eps
        return (pv - stepSize * (m2 / denom), m2, v2)
    }
    var i = 0
    while i + 8 <= n {
        let (pn, mn, vn) = body(load8(p + i), load8(g + i), load8(m + i), load8(v + i))
        store8(pn, p + i); store8(mn, m + i); store8(vn, v + i)
        i += 8
    }
    while i < n {
        let (pn, mn, vn) = body(F8(repeating: p[i]), F8(repeating: g[i]), F8(repeating: m[i]), F8(repeating: v[i]))
        p[i] = pn[0]; m[i] = mn[0]; v[i] = vn[0]
        i += 1
    }
}

/// torch.nn.utils.clip_grad_norm_: scales all grads so the global L2 norm <= maxNorm; returns the norm before clipping.
@discardableResult public func clipGradNorm(_ params: Parameters, maxNorm: Float) -> Float {
    // torch: norm of the per-tensor norms (each accumulated in Float; Double here is at least as
    // exact). The sum of squares is taken per fixed block of the arena (alignment gaps hold 0) and
    // the block sums are added in block order, so any thread count gives the same bits.
    let g = params.grads.baseAddress!
    var sums = [Double](repeating: 0, count: Parameters.blocks)
    sums.withUnsafeMutableBufferPointer { sp in
        let s = sp.baseAddress!
        params.forEachBlock { r, b in s[b] = sumOfSquares(g + r.lowerBound, r.count) }
    }
    let norm = Float(sums.reduce(0, +).squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        params.forEachBlock { r, _ in
            let p = g + r.lowerBound, c = F8(repeating: coef)
            var i = 0
            while i + 8 <= r.count { store8(load8(p + i) * c, p + i); i += 8 }
            while i < r.count { p[i] *= coef; i += 1 }
        }
    }
    return norm
}

/// Sum of x^2 in Double over n floats (four 4-lane Double accumulators, combined in a fixed order).
private func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    typealias D4 = SIMD4<Double>
    var a0 = D4(), a1 = D4(), a2 = D4(), a3 = D4()
    var i = 0
    while i + 16 <= n {
        let v0 = D4(load8(x + i).lowHalf), v1 = D4(load8(x + i).highHalf)
        let v2 = D4(load8(x + i + 8).lowHalf), v3 = D4(load8(x + i + 8).highHalf)
        a0 = a0.addingProduct(v0, v0); a1 = a1.addingProduct(v1, v1)
        a2 = a2.addingProduct(v2, v2); a3 = a3.addingProduct(v3, v3)
        i += 16
    }
    let a = (a0 + a1) + (a2 + a3)
    var s = (a[0] + a[1]) + (a[2] + a[3])
    while i < n { let v = Double(x[i]); s += v * v; i += 1 }
    return s
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
#endif
