// Adam and gradient-norm clipping as flat loops over the parameter arena (the loops themselves are
// kernels: RNNKernels/Vectors.swift).
import RNNKernelABI
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
        let coefficients = AdamStep(b1: beta1, b2: beta2, wd: weightDecay, eps: eps, stepSize: stepSize, bc2Sqrt: bc2Sqrt)
        let kernels = EngineKernels.table   // (RNNKernels/Vectors.swift: adamRange)
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
                        kernels.adam(p + r.lowerBound, g + r.lowerBound, mp + r.lowerBound, vp + r.lowerBound, r.count, coefficients)
                    }
                }
            }
        }
    }
}

/// torch.nn.utils.clip_grad_norm_: scales all grads so the global L2 norm <= maxNorm; returns the norm before clipping.
@discardableResult public func clipGradNorm(_ params: Parameters, maxNorm: Float) -> Float {
    // torch: norm of the per-tensor norms (each accumulated in Float; Double here is at least as
    // exact). The sum of squares is taken per fixed block of the arena (alignment gaps hold 0) and
    // the block sums are added in block order, so any thread count gives the same bits.
    let g = params.grads.baseAddress!
    let kernels = EngineKernels.table
    var sums = [Double](repeating: 0, count: Parameters.blocks)
    sums.withUnsafeMutableBufferPointer { sp in
        let s = sp.baseAddress!
        params.forEachBlock { r, b in s[b] = kernels.sumOfSquares(g + r.lowerBound, r.count) }
    }
    let norm = Float(sums.reduce(0, +).squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        params.forEachBlock { r, _ in kernels.scale(g + r.lowerBound, r.count, coef) }
    }
    return norm
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
#endif
