// Vectorised transcendental functions for the gate math: FV lanes, 16 (zmm) in the v4 kernel set,
// 8 otherwise (ymm in v3; two xmm halves and software FMA in baseline); the same polynomials and
// operations per lane either way, so the bits do not change.
//
// glibc expf/tanhf in scalar loops cost more than the recurrent GEMM (PLATFORM.md), so the cells
// use these. Accuracy (checked by FastMathTests against Double): exp and sigmoid max relative error
// ~1.2e-7, tanh ~1.5e-7 (a polynomial near 0 keeps the relative error small for tiny inputs).

typealias F8 = SIMD8<Float>
#if RNN_KERNELS_V4
typealias FV = SIMD16<Float>
typealias UV = SIMD16<UInt32>
#else
typealias FV = SIMD8<Float>
typealias UV = SIMD8<UInt32>
#endif

/// exp(x), Cephes-style: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, 2^n from the exponent bits.
@inline(always)
func expV(_ xIn: FV) -> FV {
    var x = xIn
    x = x.replacing(with: 88.3762626647949, where: x .> 88.3762626647949)
    x = x.replacing(with: -87.3365447505531, where: x .< -87.3365447505531)
    // n = round(x / ln2) by the 1.5*2^23 trick; adding 127 puts the biased exponent in the low bits.
    let magic: FV = FV(repeating: 12_582_912.0 + 127.0)
    let t = magic.addingProduct(x, FV(repeating: 1.44269504088896341))
    let n = t - magic   // n - 127 + 127 ... = n as float (t - magic is exact)
    var r = x.addingProduct(n, FV(repeating: -0.693359375))
    r = r.addingProduct(n, FV(repeating: 2.12194440e-4))
    var p = FV(repeating: 1.9875691500e-4)
    p = FV(repeating: 1.3981999507e-3).addingProduct(p, r)
    p = FV(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = FV(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = FV(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = FV(repeating: 5.0000001201e-1).addingProduct(p, r)
    let r2 = r * r
    p = (r + 1).addingProduct(p, r2)
    let bits = unsafeBitCast(t, to: UV.self) &<< 23
    return p * unsafeBitCast(bits, to: FV.self)
}

/// Logistic sigmoid 1 / (1 + exp(-x)).
@inline(always)
func sigmoidV(_ x: FV) -> FV {
    1 / (1 + expV(-x))
}

/// tanh(x): odd polynomial for |x| < 0.625 (no cancellation), 1 - 2/(exp(2|x|)+1) above.
@inline(always)
func tanhV(_ x: FV) -> FV {
    let ax = x.replacing(with: -x, where: x .< 0)
    // large branch
    let e = expV(ax + ax)
    var big = 1 - 2 / (e + 1)
    big = big.replacing(with: -big, where: x .< 0)
    // small branch: x * P(x^2)
    let u = x * x
    var p = FV(repeating: 0.0021422128193080425)
    p = FV(repeating: -0.008176140487194061).addingProduct(p, u)
    p = FV(repeating: 0.02169988863170147).addingProduct(p, u)
    p = FV(repeating: -0.05394650623202324).addingProduct(p, u)
    p = FV(repeating: 0.1333320140838623).addingProduct(p, u)
    p = FV(repeating: -0.3333333134651184).addingProduct(p, u)
    let small = x.addingProduct(x * u, p)
    return big.replacing(with: small, where: ax .< 0.625)
}

/// Scalar versions (same polynomials; lane 0 of the vector code) for row tails.
@inline(always) func expS(_ x: Float) -> Float { expV(FV(repeating: x))[0] }
@inline(always) func sigmoidS(_ x: Float) -> Float { sigmoidV(FV(repeating: x))[0] }
@inline(always) func tanhS(_ x: Float) -> Float { tanhV(FV(repeating: x))[0] }

// Unaligned 8-float load/store. Written as eight scalar loads (and a 32-byte copy) because LLVM
// turns those into one vmovups, while `loadUnaligned`/`storeBytes` stayed out-of-line calls once
// the kernels around them were force-inlined.
@inline(always) func load8(_ p: UnsafePointer<Float>) -> F8 {
    F8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])
}
@inline(always) func load8(_ p: UnsafeMutablePointer<Float>) -> F8 {
    F8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])
}
@inline(always) func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
    var v = v
    withUnsafeBytes(of: &v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: 32) }
}

/// Unaligned FV-lane load/store, written like load8/store8 (scalar loads, a byte copy) so that
/// LLVM emits one vmovups; SIMD16's lowHalf/highHalf stayed out-of-line calls.
@inline(always) func loadV(_ p: UnsafePointer<Float>) -> FV {
    #if RNN_KERNELS_V4
    FV(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15])
    #else
    load8(p)
    #endif
}
@inline(always) func loadV(_ p: UnsafeMutablePointer<Float>) -> FV { loadV(UnsafePointer(p)) }
@inline(always) func storeV(_ v: FV, _ p: UnsafeMutablePointer<Float>) {
    var v = v
    withUnsafeBytes(of: &v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: MemoryLayout<FV>.size) }
}
