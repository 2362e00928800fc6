// Compares RNNEngine with reference tensors written by scripts/reference/make_engine_fixtures.py
// (PyTorch): logits, loss, every gradient, the loss of each of 5 Adam steps and the parameters after
// them. Tolerance: 1e-5 relative (max |a - b| / max |b| per tensor). Max diffs are printed.
import XCTest
import RNNCore
@testable import RNNEngine

let fixtureDir: String = {
    let file = "\(#filePath)"
    return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures"
}()

/// max |a - b| / max |b| over a tensor (b = reference).
func relDiff(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> (rel: Double, abs: Double) {
    precondition(a.count == b.count)
    var m: Double = 0, scale: Double = 0
    for i in 0 ..< b.count {
        m = max(m, abs(Double(a[i]) - Double(b[i])))
        scale = max(scale, abs(Double(b[i])))
    }
    return (m / max(scale, 1e-30), m)
}
func relDiff(_ a: [Float], _ b: [Float]) -> (rel: Double, abs: Double) {
    a.withUnsafeBufferPointer { relDiff($0, b) }
}

/// Adam divides by sqrt(v): an element whose gradient is at float rounding level (|g| <= 1e-5 of
/// the tensor's largest) moves by up to lr per step in a direction decided by rounding noise
/// (PyTorch float32 vs float64 differ by 3e-4 relative on such elements). Those elements are
/// excluded from the after-Adam comparison and counted; every other element must match.
struct NoiseMask {
    var flagged: [String: [Bool]] = [:]
    mutating func record(_ params: Parameters) {
        for e in params.entries {
            let g = params.grad(e.name)
            let mx = g.map { abs($0) }.max() ?? 0
            var f = flagged[e.name] ?? [Bool](repeating: false, count: e.count)
            for i in 0 ..< e.count where abs(g[i]) <= 1e-5 * mx && mx > 0 { f[i] = true }
            flagged[e.name] = f
        }
    }
    func count() -> Int { flagged.values.reduce(0) { $0 + $1.filter { $0 }.count } }
}

final class PyTorchFixtureTests: EveryKernelSetTestCase {
    static let tolerance = 1e-5

    func checkFinal(_ what: String, _ a: UnsafeBufferPointer<Float>, _ b: [Float], skip: [Bool], _ worst: inout Double) {
        var m: Double = 0, scale: Double = 0
        for i in 0 ..< b.count {
            scale = max(scale, abs(Double(b[i])))
            if !skip[i] { m = max(m, abs(Double(a[i]) - Double(b[i]))) }
        }
        worst = max(worst, m / scale)
        XCTAssertLessThanOrEqual(m / scale, Self.tolerance, "\(what): rel \(m / scale) abs \(m)")
    }

    func load(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: "\(fixtureDir)/\(name).safetensors")
    }

    func config(_ f: SafeTensorsFile) -> ModelConfig {
        let m = f.metadata
        let task = Task(rawValue: m["task"]!)!
        var c = ModelConfig(cell: CellKind(rawValue: m["cell"]!)!, task: task, vocabSize: Int(m["vocab"]!)!,
                           embedDim: Int(m["embed"]!)!, hidden: Int(m["hidden"]!)!, layers: Int(m["layers"]!)!,
                           bidirectional: m["bidirectional"] == "true", dropout: 0, headDropout: 0,
                           outputs: Int(m["outputs"]!)!, paddingIndex: Int(m["padding_index"] ?? ""),
                           freezeEmbedding: false)
        c.multiLabel = m["head"] == "multi_label"
        c.pool = Pooling(rawValue: m["pool"] ?? "last")!
        return c
    }

    func check(_ what: String, _ a: UnsafeBufferPointer<Float>, _ b: [Float], _ worst: inout Double, file: StaticString = #filePath, line: UInt = #line) {
        let d = relDiff(a, b)
        worst = max(worst, d.rel)
        XCTAssertLessThanOrEqual(d.rel, Self.tolerance, "\(what): rel \(d.rel) abs \(d.abs)", file: file, line: line)
    }

    func runClassifier(_ name: String) throws {
        let f = try load(name)
        let cfg = config(f)
        let model = Model(config: cfg, seed: 42)
        for e in model.params.entries {
            let v = try f.floats("init.\(e.name)", shape: e.shape)
            _ = model.params.value(e.name).update(from: v)
        }
        let tokens = try f.int32s("tokens"), lengths = try f.int32s("lengths").map { Int($0) }, labels = try f.int32s("labels")
        // padded cases: the steps of the real tokens [B, 2] (what max and mean pooling read)
        var realSteps: [Range<Int>]? = nil
        if f.tensors["real_steps"] != nil {
            let r = try f.int32s("real_steps")
            realSteps = (0 ..< lengths.count).map { Int(r[2 * $0]) ..< Int(r[2 * $0 + 1]) }
        }
        let losses = try f.floats("losses")
        let m = f.metadata
        let lr = Float(m["lr"]!)!, wd = Float(m["weight_decay"]!)!, clip = Float(m["clip"]!)!, steps = Int(m["steps"]!)!
        var adam = Adam(count: model.params.count, lr: lr, weightDecay: wd)
        var rng = RNG(seed: 1)
        var worstGrad = 0.0, worstOut = 0.0, worstFinal = 0.0
        var noise = NoiseMask()
        for s in 0 ..< steps {
            let (loss, logits) = tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, realSteps: realSteps, rng: &rng) }
            XCTAssertLessThanOrEqual(abs(Double(loss) - Double(losses[s])) / abs(Double(losses[s])), Self.tolerance, "\(name) loss at step \(s): \(loss) vs \(losses[s])")
            worstOut = max(worstOut, abs(Double(loss) - Double(losses[s])) / abs(Double(losses[s])))
            if s == 0 {
                logits.withUnsafeBufferPointer { check("\(name) logits", $0, try! f.floats("logits"), &worstOut) }
                for e in model.params.entries {
                    check("\(name) grad.\(e.name)", UnsafeBufferPointer(model.params.grad(e.name)), try f.floats("grad.\(e.name)"), &worstGrad)
                }
                if let pad = cfg.paddingIndex {
                    let g = model.params.grad("embedding.weight")
                    XCTAssertTrue((0 ..< cfg.embedDim).allSatisfy { g[pad * cfg.embedDim + $0] == 0 }, "padding row got a gradient")
                }
            }
            noise.record(model.params)
            if clip > 0 { clipGradNorm(model.params, maxNorm: clip) }
            adam.update(model.params)
        }
        for e in model.params.entries {
            checkFinal("\(name) final.\(e.name)", UnsafeBufferPointer(model.params.value(e.name)), try f.floats("final.\(e.name)"),
                       skip: noise.flagged[e.name]!, &worstFinal)
        }
        print("[fixture] \(name): max rel diff logits/loss \(worstOut), grads \(worstGrad), params after \(steps) Adam steps \(worstFinal) (\(noise.count()) rounding-level-gradient elements excluded)")
    }

    func runLM(_ name: String) throws {
        let f = try load(name)
        let cfg = config(f)
        let model = Model(config: cfg, seed: 42)
        for e in model.params.entries {
            _ = model.params.value(e.name).update(from: try f.floats("init.\(e.name)", shape: e.shape))
        }
        let m = f.metadata
        let B = Int(m["batch"]!)!, T = Int(m["time"]!)!, steps = Int(m["steps"]!)!, lr = Float(m["lr"]!)!
        let inputs = try f.int32s("inputs"), targets = try f.int32s("targets"), losses = try f.floats("losses")
        let V = cfg.outputs
        var adam = Adam(count: model.params.count, lr: lr)
        var state = RecurrentState.zeros(cfg, batch: B)
        var rng = RNG(seed: 3)
        var worstGrad = 0.0, worstOut = 0.0, worstFinal = 0.0
        var noise = NoiseMask()
        for s in 0 ..< steps {
            let inp = Array(inputs[s * B * T ..< (s + 1) * B * T]), tg = Array(targets[s * B * T ..< (s + 1) * B * T])
            let loss = inp.withUnsafeBufferPointer { i in tg.withUnsafeBufferPointer { t in
                model.trainLM(inputs: i, targets: t, batch: B, steps: T, state: &state, rng: &rng) } }
            let d = abs(Double(loss) - Double(losses[s])) / abs(Double(losses[s]))
            worstOut = max(worstOut, d)
            XCTAssertLessThanOrEqual(d, Self.tolerance, "\(name) loss at step \(s): \(loss) vs \(losses[s])")
            if s == 0 {
                // model logits are in packed row order t*B + b; PyTorch's are b*T + t
                var lg = [Float](repeating: 0, count: B * T * V)
                for b in 0 ..< B { for t in 0 ..< T { for v in 0 ..< V { lg[(b * T + t) * V + v] = model.logits.pointer[(t * B + b) * V + v] } } }
                lg.withUnsafeBufferPointer { check("\(name) logits", $0, try! f.floats("logits"), &worstOut) }
            }
            if s == 1 {
                for e in model.params.entries {
                    check("\(name) grad.\(e.name)", UnsafeBufferPointer(model.params.grad(e.name)), try f.floats("grad.\(e.name)"), &worstGrad)
                }
            }
            noise.record(model.params)
            adam.update(model.params)
        }
        state.h.withUnsafeBufferPointer { check("\(name) hn", $0, try! f.floats("hn"), &worstFinal) }
        if cfg.cell == .lstm { state.c.withUnsafeBufferPointer { check("\(name) cn", $0, try! f.floats("cn"), &worstFinal) } }
        for e in model.params.entries {
            checkFinal("\(name) final.\(e.name)", UnsafeBufferPointer(model.params.value(e.name)), try f.floats("final.\(e.name)"),
                       skip: noise.flagged[e.name]!, &worstFinal)
        }
        print("[fixture] \(name): max rel diff logits/loss \(worstOut), grads \(worstGrad), params+state after \(steps) Adam steps \(worstFinal) (\(noise.count()) rounding-level-gradient elements excluded)")
    }

    func testLSTMBidirectionalPacked() throws { try forEachKernelSet { try runClassifier("lstm_bi2_packed") } }
    func testLSTMBidirectionalPadded() throws { try forEachKernelSet { try runClassifier("lstm_bi2_padded") } }
    func testGRUBidirectionalPacked() throws { try forEachKernelSet { try runClassifier("gru_bi2_packed") } }
    func testGRUBidirectionalPadded() throws { try forEachKernelSet { try runClassifier("gru_bi2_padded") } }
    func testRNNBidirectionalPackedClipped() throws { try forEachKernelSet { try runClassifier("rnn_bi2_packed") } }
    func testLSTMUnidirectionalPacked() throws { try forEachKernelSet { try runClassifier("lstm_uni2_packed") } }
    func testGRUUnidirectionalPadded() throws { try forEachKernelSet { try runClassifier("gru_uni1_padded") } }
    func testRNNUnidirectionalPadded() throws { try forEachKernelSet { try runClassifier("rnn_uni2_padded") } }
    func testGRUMultiClass() throws { try forEachKernelSet { try runClassifier("gru_bi2_multiclass") } }
    func testLSTMMultiClassWeightDecay() throws { try forEachKernelSet { try runClassifier("lstm_uni1_multiclass") } }
    func testGRUMultiLabel() throws { try forEachKernelSet { try runClassifier("gru_bi2_multilabel") } }
    func testLSTMMultiLabelPadded() throws { try forEachKernelSet { try runClassifier("lstm_uni1_multilabel_padded") } }
    // pooling heads: max / mean over the real steps (pads left out), concat = [last | max | mean]
    func testConcatPoolingPacked() throws { try forEachKernelSet { try runClassifier("gru_bi2_concat_packed") } }
    func testConcatPoolingPadded() throws { try forEachKernelSet { try runClassifier("lstm_bi1_concat_padded") } }
    func testMaxPoolingPacked() throws { try forEachKernelSet { try runClassifier("lstm_uni2_max_packed") } }
    func testMaxPoolingPadded() throws { try forEachKernelSet { try runClassifier("gru_bi1_max_padded") } }
    func testMeanPoolingPacked() throws { try forEachKernelSet { try runClassifier("rnn_bi2_mean_packed") } }
    func testMeanPoolingPadded() throws { try forEachKernelSet { try runClassifier("gru_uni1_mean_padded") } }
    func testConcatPoolingMultiLabel() throws { try forEachKernelSet { try runClassifier("gru_bi2_concat_multilabel") } }
    func testLanguageModelLSTM() throws { try forEachKernelSet { try runLM("lm_lstm2") } }
    func testLanguageModelGRU() throws { try forEachKernelSet { try runLM("lm_gru1") } }
    func testLanguageModelRNN() throws { try forEachKernelSet { try runLM("lm_rnn2") } }
}
