// rnn-fit --bf16 (Model.bf16): the bfloat16 rounding, kernel and packing (CBFloat16/bf16.h,
// BFloat16.swift) against exact statements in Double, and training in bfloat16 against fp32
// training. Skipped, with the reason, where the CPU has no AVX512_BF16.
import XCTest
import CBFloat16
@testable import RNNEngine

final class BFloat16Tests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(EngineKernels.bf16Available, "no AVX512_BF16 on this CPU (or RNN_KERNELS is not v4): the bfloat16 kernel cannot run")
    }

    /// The bfloat16 nearest to x, ties to the even one, by comparing x with its two neighbours in
    /// Double (0 for fp32 subnormals, as the instruction flushes them; beyond the largest finite
    /// bfloat16 the upper neighbour is 2^128, i.e. infinity).
    private func nearestEven(_ x: Float) -> UInt16 {
        let bits = x.bitPattern, sign = UInt16(bits >> 16) & 0x8000
        if x.isSubnormal || x == 0 { return sign }
        if x.isInfinite { return UInt16(bits >> 16) }
        let low = UInt16(bits >> 16), high = low + 1
        func value(_ h: UInt16) -> Double {
            if h & 0x7f80 == 0x7f80 { return (h & 0x8000 != 0 ? -1 : 1) * 0x1p128 }
            return Double(Float(bitPattern: UInt32(h) << 16))
        }
        let dl = abs(Double(x) - value(low)), dh = abs(Double(x) - value(high))
        if dl != dh { return dl < dh ? low : high }
        return low & 1 == 0 ? low : high
    }

    func testRoundingIsToNearestEvenInTheScalarAndTheVectorCode() {
        var values: [Float] = [0, -0.0, 1, -1, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -(1 + 0x1p-8 + 0x1p-20), 3.14159, -2.71828,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, 1e-38, .leastNormalMagnitude,
                               .leastNonzeroMagnitude, -.leastNormalMagnitude / 2, 65504, 1e30]
        var rng = RNG(seed: 17)
        for _ in 0 ..< 2000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        var vector = [UInt16](repeating: 0xffff, count: values.count + 1)
        rnn_bf16_rows(values, values.count, 1, values.count, &vector)   // one row: the hardware's conversion
        for (i, x) in values.enumerated() {
            let scalar = rnn_bf16_round(x)
            if x.isNaN {
                XCTAssertTrue(Float(bitPattern: UInt32(scalar) << 16).isNaN && Float(bitPattern: UInt32(vector[i]) << 16).isNaN, "NaN stays NaN")
                continue
            }
            XCTAssertEqual(scalar, nearestEven(x), "rnn_bf16_round(\(x))")
            XCTAssertEqual(vector[i], scalar, "rnn_bf16_rows(\(x))")
        }
        XCTAssertEqual(vector[values.count], values.count % 2 == 1 ? 0 : 0xffff, "an odd row ends with a zero half pair, nothing more")
    }

    /// Every product shape of the engine (op(A) and op(B) plain or transposed, accumulating or not,
    /// K odd and across blocks of pairs, partial tiles and panels) equals the Double sum of the
    /// rounded operands within fp32 summation error, and differs from the fp32 product (the
    /// operands were rounded).
    func testProductsAreDoubleSumsOfTheRoundedOperands() {
        func rounded(_ x: Float) -> Double { Double(Float(bitPattern: UInt32(rnn_bf16_round(x)) << 16)) }
        var rng = RNG(seed: 5)
        var farFromFP32 = 0
        for (m, n, k) in [(1, 1, 1), (7, 17, 3), (9, 33, 20), (13, 37, 45), (5, 48, 301), (3, 70, 600), (16, 64, 256)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for accumulate in [false, true] {
                        let a = (0 ..< m * k).map { _ in rng.uniform(-1, 1) }, b = (0 ..< k * n).map { _ in rng.uniform(-1, 1) }
                        let c0 = (0 ..< m * n).map { _ in rng.uniform(-1, 1) }
                        // A [m, k] or A^T stored [k, m]; B [k, n] or B^T stored [n, k]
                        func av(_ i: Int, _ kk: Int) -> Float { transA ? a[kk * m + i] : a[i * k + kk] }
                        func bv(_ kk: Int, _ j: Int) -> Float { transB ? b[j * k + kk] : b[kk * n + j] }
                        var c = c0
                        // rows cut in two parts, as the threads do
                        for rows in [0 ..< m / 2, m / 2 ..< m] {
                            c.withUnsafeMutableBufferPointer {
                                bf16Product(transA: transA, transB: transB, rows: rows, n: n, k: k, a: a, lda: transA ? m : k, b: b,
                                            ldb: transB ? k : n, c: $0.baseAddress!, ldc: n, accumulate: accumulate,
                                            aBuffer: FloatBuffer(), bBuffer: FloatBuffer())
                            }
                        }
                        for i in 0 ..< m {
                            for j in 0 ..< n {
                                var exact = accumulate ? Double(c0[i * n + j]) : 0, size = abs(exact), fp32 = exact
                                for kk in 0 ..< k {
                                    exact += rounded(av(i, kk)) * rounded(bv(kk, j)); size += abs(rounded(av(i, kk)) * rounded(bv(kk, j)))
                                    fp32 += Double(av(i, kk)) * Double(bv(kk, j))
                                }
                                let bound = Double(k + 2) * 0x1p-24 * size
                                let got = Double(c[i * n + j])
                                XCTAssertLessThanOrEqual(abs(got - exact), bound,
                                                         "m \(m) n \(n) k \(k) transA \(transA) transB \(transB) acc \(accumulate) (\(i), \(j))")
                                if abs(got - fp32) > 10 * bound { farFromFP32 += 1 }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(farFromFP32, 1000, "the products should be those of rounded operands, not of the fp32 ones")
    }

    private func lmConfig(_ cell: CellKind) -> ModelConfig {
        var c = ModelConfig(cell: cell, task: .languageModel, vocabSize: 30, embedDim: 7, hidden: 21, layers: 2, bidirectional: false,
                            dropout: 0.1, headDropout: 0.1, outputs: 30, paddingIndex: nil, freezeEmbedding: false)
        c.weightDrop = 0.2
        return c
    }
    private func clsConfig(_ cell: CellKind) -> ModelConfig {
        ModelConfig(cell: cell, task: .classifier, vocabSize: 40, embedDim: 9, hidden: 21, layers: 2, bidirectional: true,
                    dropout: 0.1, headDropout: 0.1, outputs: 3, paddingIndex: 1, freezeEmbedding: false)
    }

    /// Six Adam steps; the losses, the parameters and the validation loss / logits after them.
    private func train(_ cfg: ModelConfig, bf16: Bool, threads: Int) -> (losses: [Float], params: [Float], eval: [Float]) {
        let model = Model(config: cfg, seed: 11)
        model.threads = threads
        model.bf16 = bf16
        var data = RNG(seed: 3), rng = RNG(seed: 4)
        var adam = Adam(count: model.params.count, lr: 3e-3)
        let lm = cfg.task == .languageModel
        var state = RecurrentState.zeros(cfg, batch: 5)
        var losses: [Float] = []
        let x = (0 ..< 40).map { _ in Int32(data.below(30)) }, y = x.map { ($0 * 7 + 3) % 30 }
        for _ in 0 ..< 6 {
            if lm {
                losses.append(x.withUnsafeBufferPointer { xi in y.withUnsafeBufferPointer { yi in
                    model.trainLM(inputs: xi, targets: yi, batch: 5, steps: 8, state: &state, rng: &rng) } })
            } else {
                let lengths = (0 ..< 9).map { _ in 1 + data.below(13) }
                let tokens = (0 ..< lengths.reduce(0, +)).map { _ in Int32(2 + data.below(38)) }
                losses.append(tokens.withUnsafeBufferPointer {
                    model.trainClassifier(tokens: $0, lengths: lengths, labels: lengths.map { Int32($0 % 3) }, rng: &rng).loss })
            }
            clipGradNorm(model.params, maxNorm: 0.5)
            adam.update(model.params)
        }
        var eval: [Float]
        if lm {
            var s = RecurrentState.zeros(cfg, batch: 5)
            eval = [x.withUnsafeBufferPointer { xi in y.withUnsafeBufferPointer { yi in
                model.evaluateLM(inputs: xi, targets: yi, batch: 5, steps: 8, state: &s) } }]
        } else {
            eval = [Int32](arrayLiteral: 5, 9, 2, 7, 7, 3, 30, 31, 2).withUnsafeBufferPointer { model.classify(tokens: $0, lengths: [4, 3, 2]) }
        }
        return (losses, Array(model.params.values), eval)
    }

    /// Training in bfloat16 follows fp32 training closely (and is not it), gives the same bits on
    /// every run and every thread count, and leaves evaluation in fp32: the same weights evaluate
    /// to the same bits with and without it. LM (stacked LSTM, GRU, tanh RNN with weight drop and
    /// head dropout) and bidirectional classifiers (odd G*H for the GRU).
    func testTrainingInBFloat16FollowsFP32AndIsDeterministic() {
        for cell in CellKind.allCases {
            for cfg in [lmConfig(cell), clsConfig(cell)] {
                let name = "\(cell) \(cfg.task)"
                let fp32 = train(cfg, bf16: false, threads: 2), half = train(cfg, bf16: true, threads: 2)
                XCTAssertLessThan(relDiff(half.losses, fp32.losses).rel, 1e-2, name)
                XCTAssertLessThan(relDiff(half.params, fp32.params).rel, 2e-2, name)
                XCTAssertLessThan(relDiff(half.eval, fp32.eval).rel, 2e-2, name)
                XCTAssertNotEqual(half.losses, fp32.losses, "\(name): --bf16 changed nothing")
                for threads in [1, 2, 3] {
                    let again = train(cfg, bf16: true, threads: threads)
                    XCTAssertTrue(again.losses == half.losses && again.params == half.params, "\(name): threads \(threads), other bits")
                }
                // evaluation of the same weights: fp32 whatever the flag
                let model = Model(config: cfg, seed: 11)
                model.params.mutableValues.baseAddress!.update(from: half.params, count: half.params.count)
                var evals: [[Float]] = []
                for flag in [false, true] {
                    model.bf16 = flag
                    if cfg.task == .languageModel {
                        var s = RecurrentState.zeros(cfg, batch: 2)
                        evals.append(model.stepLM(tokens: [1, 2], state: &s) + model.stepLM(tokens: [3, 4], state: &s))
                    } else {
                        evals.append([Int32](arrayLiteral: 5, 9, 2, 7).withUnsafeBufferPointer { model.classify(tokens: $0, lengths: [3, 1]) })
                    }
                }
                XCTAssertEqual(evals[0], evals[1], "\(name): evaluation changed with bf16")
            }
        }
    }
}
