// A textbook Double implementation of the recurrent stack (one sequence at a time, no packing,
// no SIMD, no BLAS): the oracle for the fast Float kernels. Equations as in PyTorch's docs.
import Foundation
@testable import RNNEngine

struct NaiveStack {
    var cell: CellKind, E: Int, H: Int, L: Int, D: Int
    /// PyTorch-named tensors, flattened row-major.
    var w: [String: [Double]]

    func name(_ base: String, _ k: Int, _ d: Int) -> String { "rnn.\(base)_l\(k)\(d == 0 ? "" : "_reverse")" }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// One cell step: returns (h', c').
    func step(_ x: [Double], _ h: [Double], _ c: [Double], k: Int, d: Int) -> ([Double], [Double]) {
        let wih = w[name("weight_ih", k, d)]!, whh = w[name("weight_hh", k, d)]!
        let bih = w[name("bias_ih", k, d)]!, bhh = w[name("bias_hh", k, d)]!
        let G = cell.gates, inDim = x.count
        var gi = [Double](repeating: 0, count: G * H), gh = [Double](repeating: 0, count: G * H)
        for r in 0 ..< G * H {
            var s = bih[r]; for j in 0 ..< inDim { s += wih[r * inDim + j] * x[j] }; gi[r] = s
            var u = bhh[r]; for j in 0 ..< H { u += whh[r * H + j] * h[j] }; gh[r] = u
        }
        var hn = [Double](repeating: 0, count: H), cn = c
        for j in 0 ..< H {
            switch cell {
            case .rnn:
                hn[j] = tanh(gi[j] + gh[j])
            case .lstm:
                let i = Self.sigmoid(gi[j] + gh[j]), f = Self.sigmoid(gi[H + j] + gh[H + j])
                let g = tanh(gi[2 * H + j] + gh[2 * H + j]), o = Self.sigmoid(gi[3 * H + j] + gh[3 * H + j])
                cn[j] = f * c[j] + i * g
                hn[j] = o * tanh(cn[j])
            case .gru:
                let r = Self.sigmoid(gi[j] + gh[j]), z = Self.sigmoid(gi[H + j] + gh[H + j])
                let n = tanh(gi[2 * H + j] + r * gh[2 * H + j])
                hn[j] = (1 - z) * n + z * h[j]
            }
        }
        return (hn, cn)
    }

    /// xs[i] = sequence i as [len][E]; h0/c0 [L*D][B][H]. Returns outputs of the last layer
    /// [B][len][D*H] and the final states [L*D][B][H].
    func forward(_ xs: [[[Double]]], h0: [[[Double]]], c0: [[[Double]]]) -> (out: [[[Double]]], hn: [[[Double]]], cn: [[[Double]]]) {
        var input = xs
        var hn = h0, cn = c0
        for k in 0 ..< L {
            var next: [[[Double]]] = []
            for (b, seq) in input.enumerated() {
                let T = seq.count
                var o = [[Double]](repeating: [Double](repeating: 0, count: D * H), count: T)
                for d in 0 ..< D {
                    var h = h0[k * D + d][b], c = c0[k * D + d][b]
                    let ts = d == 0 ? Array(0 ..< T) : Array((0 ..< T).reversed())
                    for t in ts {
                        (h, c) = step(seq[t], h, c, k: k, d: d)
                        for j in 0 ..< H { o[t][d * H + j] = h[j] }
                    }
                    hn[k * D + d][b] = h; cn[k * D + d][b] = c
                }
                next.append(o)
            }
            input = next
        }
        return (input, hn, cn)
    }
}
