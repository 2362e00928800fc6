// Vector loops over the parameter arena and other flat buffers: Adam, gradient clipping, sums.
// Callers cut the work into blocks (Parameters.forEachBlock); every element's arithmetic is fixed,
// so any cut gives the same bits.
import RNNKernelABI

/// One Adam update over n contiguous floats (8 lanes at a time; same operation order as the scalar
/// tail, so results do not depend on alignment). The equations are in RNNEngine/Optimizer.swift.
func adamRange(_ p: FPtr, _ g: FPtr, _ m: FPtr, _ v: FPtr, _ n: Int, _ s: AdamStep) {
    let b1 = s.b1, b2 = s.b2, wd = s.wd, eps = s.eps, stepSize = s.stepSize, bc2Sqrt = s.bc2Sqrt
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

/// x[0..<n] *= s
func scaleRange(_ x: FPtr, _ n: Int, _ s: Float) {
    let c = F8(repeating: s)
    var i = 0
    while i + 8 <= n { store8(load8(x + i) * c, x + i); i += 8 }
    while i < n { x[i] *= s; i += 1 }
}

/// Sum of x^2 in Double over n floats (four 4-lane Double accumulators, combined in a fixed order).
func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
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

/// y[0..<n] += x[0..<n]
func addInPlace(_ y: FPtr, _ x: UnsafePointer<Float>, _ n: Int) {
    var j = 0
    while j + 8 <= n { store8(load8(y + j) + load8(x + j), y + j); j += 8 }
    while j < n { y[j] += x[j]; j += 1 }
}

/// out[0..<n] += column sums of the rows x[r*ld ..< r*ld+n], r in 0..<rows (vector accumulators).
func addColumnSums(_ out: FPtr, _ x: UnsafePointer<Float>, rows: Int, cols n: Int, ld: Int) {
    var j = 0
    while j + 32 <= n {
        var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
        var p = x + j
        for _ in 0 ..< rows {
            a0 += load8(p); a1 += load8(p + 8); a2 += load8(p + 16); a3 += load8(p + 24)
            p += ld
        }
        store8(load8(out + j) + a0, out + j); store8(load8(out + j + 8) + a1, out + j + 8)
        store8(load8(out + j + 16) + a2, out + j + 16); store8(load8(out + j + 24) + a3, out + j + 24)
        j += 32
    }
    while j < n {
        var s: Float = 0
        for r in 0 ..< rows { s += x[r * ld + j] }
        out[j] += s
        j += 1
    }
}

/// y[0..<n] = f(x[0..<n]) with the gate math's functions (FV lanes, the scalar versions for the tail).
func vectorFunction(_ f: VectorFunction, _ x: UnsafePointer<Float>, _ y: FPtr, _ n: Int) {
    @inline(__always) func apply(_ v: FV) -> FV {
        switch f {
        case .exp: return expV(v)
        case .sigmoid: return sigmoidV(v)
        case .tanh: return tanhV(v)
        }
    }
    var i = 0
    while i + FV.scalarCount <= n { storeV(apply(loadV(x + i)), y + i); i += FV.scalarCount }
    while i < n { y[i] = apply(FV(repeating: x[i]))[0]; i += 1 }
}
