// Engine benchmark: trains / runs the reference classifier shape (REFERENCE.md section 4) on
// synthetic IMDB-like batches and prints reviews/s, real tokens/s and achieved GFLOP/s.
//
//   rnn-bench-engine [--cell lstm|gru] [--mode train|infer|sample|lmtrain] [--batches n] [--threads n] [--dump path]
//                    [--batch B] [--embed E] [--vocab V] [--hidden H] [--layers L] [--chars n] [--profile] [--bf16]
//   rnn-bench-engine --kernels     (prints the engine's kernel set, the sets this CPU supports and OpenBLAS's kernels)
//   mpirun -np K rnn-bench-engine --allreduce FLOATS [--batches n]
//                                  (times n in-place sums of FLOATS floats over the K processes)
//
// --mode sample: a character LM (V=65 unless --vocab, E=70) generating --chars characters one
// step at a time with Model.stepLM at batch 1 (softmax at temperature 0.8 and a draw per step).
// --mode lmtrain: character LM training steps (V=65, E=64, batch 32, 128 steps, clip 5, Adam).
// --profile prints where the engine's time goes (EngineProfile). Every mode prints the peak RSS.
// --bf16 (train, lmtrain): training products in bfloat16 (Model.bf16; needs AVX512_BF16).
//
// Lengths ~ lognormal (mean ~210 tokens), clipped to [10, 500]; token ids uniform in 2..<V; fixed
// seed. --dump writes the batches (tokens, lengths, labels) to a safetensors file so the PyTorch
// side (scripts/reference/bench_torch.py) runs on exactly the same data.
import RNNCore
import RNNEngine
import RNNMPI
#if canImport(Glibc)
import Glibc
#endif

var cell = CellKind.lstm, mode = "train", batches = 20, threads = 2, dump: String? = nil, batchSize = 0
var embedArg = 0, vocabArg = 0, hiddenArg = 0, layersArg = 1, chars = 3000, profiling = false, allreduce = 0, bf16 = false
do { try EngineKernels.check() } catch {
    Diagnostics.line("rnn-bench-engine: error: \(error)")
    exit(2)
}
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    if a == "--profile" { profiling = true; continue }
    if a == "--bf16" {
        guard EngineKernels.bf16Available else {
            Diagnostics.line("rnn-bench-engine: error: --bf16 needs AVX512_BF16 and the v4 kernels")
            exit(2)
        }
        bf16 = true
        continue
    }
    if a == "--kernels" {
        let sets = EngineKernels.supported.map(\.rawValue).joined(separator: ", ")
        print("engine \(EngineKernels.setName): \(EngineKernels.name); this CPU supports \(sets); OpenBLAS \(BLASKernels.name)")
        exit(0)
    }
    let v = args.isEmpty ? "" : args.removeFirst()
    switch a {
    case "--embed": embedArg = Int(v) ?? 0
    case "--vocab": vocabArg = Int(v) ?? 0
    case "--hidden": hiddenArg = Int(v) ?? 0
    case "--layers": layersArg = Int(v) ?? 1
    case "--chars": chars = Int(v) ?? chars
    case "--cell": cell = CellKind(rawValue: v) ?? .lstm
    case "--mode": mode = v
    case "--batches": batches = Int(v) ?? batches
    case "--threads": threads = Int(v) ?? threads
    case "--batch": batchSize = Int(v) ?? 0
    case "--dump": dump = v
    case "--allreduce": allreduce = Int(v) ?? 0
    default:
        Diagnostics.line("rnn-bench-engine: error: unknown option \(a) (see the usage at the top of Sources/rnn-bench-engine/main.swift)")
        exit(2)
    }
}
// Communication alone: the gradient sum of data-parallel training (docs/SCALING.md). Each sum
// starts after a one-value sum, so that the time is the transfer, not the wait for a late process.
if allreduce > 0 {
    do {
        let comm = try Processes.fromEnvironment()
        let p = UnsafeMutableBufferPointer<Float>.allocate(capacity: allreduce)
        p.initialize(repeating: 1)
        var times: [Double] = []
        for i in 0 ..< batches + 2 {
            var sync = [0.0]
            try comm.reduce(&sync, .sum)
            let t = seconds()
            try comm.sum(p)
            if i >= 2 { times.append(seconds() - t) }   // the first two warm up
        }
        times.sort()
        if comm.isRoot {
            let mb = Double(allreduce * 4) / 1e6, median = times[times.count / 2]
            print("allreduce of \(allreduce) floats (\(formatFixed(mb, 2)) MB) over \(comm.size) processes: median \(formatFixed(median * 1e3, 3)) ms, "
                  + "min \(formatFixed((times.first ?? 0) * 1e3, 3)) ms (\(batches) sums; \(formatFixed(mb / 1e3 / median, 2)) GB/s of arena per second)")
        }
        comm.finish()
        exit(0)
    } catch {
        print("rnn-bench-engine: error: \(error)")
        exit(1)
    }
}

let V = vocabArg > 0 ? vocabArg : (mode == "sample" || mode == "lmtrain" ? 65 : 25_000)
let E = embedArg > 0 ? embedArg : (mode == "sample" ? 70 : mode == "lmtrain" ? 64 : 200)
let H = hiddenArg > 0 ? hiddenArg : 128
let B = batchSize > 0 ? batchSize : (mode == "train" ? 32 : 256)

func seconds() -> Double { monotonicSeconds() }

func peakRSS() -> String {
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    return "peak RSS \(formatFixed(Double(ru.ru_maxrss) / 1024, 0)) MB, engine kernels \(EngineKernels.setName): \(EngineKernels.name), OpenBLAS kernels \(BLASKernels.name)"
}

func cpuSeconds() -> Double {
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    return Double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + Double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6
}

func printProfile(_ p: EngineProfile, wall: Double, enabled: Bool) {
    guard enabled else { return }
    func pc(_ x: Double) -> String { "\(formatFixed(x * 1000, 1)) ms (\(formatFixed(100 * x / max(p.total, 1e-12), 0))%)" }
    print("  profile per batch, thread CPU ms over both threads (wall \(formatFixed(wall * 1000, 1)) ms): big GEMM \(pc(p.bigGEMM)), "
          + "step GEMM \(pc(p.stepGEMM)), gate math \(pc(p.gates)), copies \(pc(p.copies)), other \(pc(p.other))")
}

if mode == "lmtrain" {
    // character LM training (truncated BPTT chunks): batch 32 (--batch), 128 steps, Adam
    let T = 128, Bl = batchSize > 0 ? batchSize : 32
    let config = ModelConfig(cell: cell, task: .languageModel, vocabSize: V, embedDim: E, hidden: H, layers: layersArg,
                             bidirectional: false, dropout: 0, headDropout: 0, outputs: V, paddingIndex: nil, freezeEmbedding: false)
    let model = Model(config: config, seed: 1)
    model.threads = threads
    model.bf16 = bf16
    var adam = Adam(count: model.params.count)
    var state = RecurrentState.zeros(config, batch: Bl)
    var rng = RNG(seed: 3), textRNG = RNG(seed: 4)
    let text = (0 ..< Bl * (T + 1) * (batches + 2)).map { _ in Int32(textRNG.below(V)) }
    var t0 = 0.0, c0 = 0.0
    for i in 0 ..< batches + 2 {
        if i == 2 { t0 = seconds(); c0 = cpuSeconds(); model.profiling = profiling; model.resetProfile() }
        var inputs = [Int32](), targets = [Int32]()
        for b in 0 ..< Bl {
            let s = (i * Bl + b) * (T + 1)
            inputs += text[s ..< s + T]; targets += text[s + 1 ..< s + T + 1]
        }
        _ = inputs.withUnsafeBufferPointer { x in targets.withUnsafeBufferPointer { y in
            model.trainLM(inputs: x, targets: y, batch: Bl, steps: T, state: &state, rng: &rng) } }
        clipGradNorm(model.params, maxNorm: 5)
        adam.update(model.params)
    }
    let dt = seconds() - t0, dcpu = cpuSeconds() - c0
    print("engine \(cell.rawValue) \(layersArg)x\(H) LM train\(bf16 ? " (bf16 products)" : ""): V=\(V) E=\(E) B=\(Bl) T=\(T) threads=\(threads): "
          + "\(formatFixed(Double(batches) / dt, 2)) steps/s, CPU \(formatFixed(dcpu / Double(batches), 4)) s/step, \(peakRSS())")
    var p = model.profile
    p.bigGEMM /= Double(batches); p.stepGEMM /= Double(batches); p.gates /= Double(batches); p.copies /= Double(batches)
    printProfile(p, wall: dt / Double(batches), enabled: profiling)
    exit(0)
}

if mode == "sample" {
    // character LM sampling at batch 1
    let config = ModelConfig(cell: cell, task: .languageModel, vocabSize: V, embedDim: E, hidden: H, layers: layersArg,
                             bidirectional: false, dropout: 0, headDropout: 0, outputs: V, paddingIndex: nil, freezeEmbedding: false)
    let model = Model(config: config, seed: 1)
    model.threads = threads
    var state = RecurrentState.zeros(config, batch: 1)
    var rng = RNG(seed: 3)
    var token: Int32 = 1
    var probs = [Double](repeating: 0, count: V)
    func run(_ n: Int) {
        for _ in 0 ..< n {
            let logits = model.stepLM(tokens: [token], state: &state)
            var mx = logits[0]
            for x in logits where x > mx { mx = x }
            var sum = 0.0
            for j in 0 ..< V { let e = exp(Double(logits[j] - mx) / 0.8); probs[j] = e; sum += e }
            var u = Double(rng.uniform()) * sum
            var pick = V - 1
            for j in 0 ..< V { u -= probs[j]; if u <= 0 { pick = j; break } }
            token = Int32(pick)
        }
    }
    run(50)
    model.profiling = profiling
    let t0 = seconds()
    run(chars)
    let dt = seconds() - t0
    print("engine \(cell.rawValue) \(layersArg)x\(H) sample: V=\(V) E=\(E) threads=\(threads): "
          + "\(formatThousands(Int(Double(chars) / dt))) chars/s (\(formatFixed(dt / Double(chars) * 1e6, 1)) us/char), \(peakRSS())")
    printProfile(model.profile, wall: dt, enabled: profiling)
    exit(0)
}

// data
var data = RNG(seed: 2024)
func imdbLength(_ data: inout RNG) -> Int {
    let u1 = Double(data.uniform()) + 1e-9, u2 = Double(data.uniform())
    let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    return min(500, max(10, Int(exp(5.22 + 0.62 * z))))
}
struct Batch { var tokens: [Int32]; var lengths: [Int]; var labels: [Int32] }
let warmup = 2
let all: [Batch] = (0 ..< batches + warmup).map { _ in
    let lengths = (0 ..< B).map { _ in imdbLength(&data) }
    let tokens = (0 ..< lengths.reduce(0, +)).map { _ in Int32(2 + data.below(V - 2)) }
    return Batch(tokens: tokens, lengths: lengths, labels: (0 ..< B).map { _ in Int32(data.below(2)) })
}
if let dump {
    var w = SafeTensorsWriter()
    for (i, b) in all.enumerated() {
        w.add("tokens.\(i)", shape: [b.tokens.count], int32s: b.tokens)
        w.add("lengths.\(i)", shape: [b.lengths.count], int32s: b.lengths.map { Int32($0) })
        w.add("labels.\(i)", shape: [b.labels.count], int32s: b.labels)
    }
    w.setMetadata("batches", "\(all.count)"); w.setMetadata("warmup", "\(warmup)")
    w.setMetadata("vocab", "\(V)"); w.setMetadata("embed", "\(E)"); w.setMetadata("hidden", "\(H)")
    try w.write(to: dump)
}

let config = ModelConfig(cell: cell, task: .classifier, vocabSize: V, embedDim: E, hidden: H, layers: layersArg, bidirectional: true,
                         dropout: 0, headDropout: 0, outputs: 1, paddingIndex: 1, freezeEmbedding: false)
let model = Model(config: config, seed: 1)
model.threads = threads
model.bf16 = bf16 && mode == "train"
var adam = Adam(count: model.params.count)
var rng = RNG(seed: 7)
let G = cell.gates * H
let fwdFlopsPerToken = Double(2 * (2 * E * G + 2 * H * G))         // both directions
let flopsPerToken = mode == "train" ? 3 * fwdFlopsPerToken : fwdFlopsPerToken

var t0 = 0.0, c0 = 0.0, tokens = 0, reviews = 0, tAdam = 0.0, sink: Float = 0
// best batch (highest tokens/s): on a machine shared with other jobs the fastest batch is the
// closest to the idle speed; printed next to the mean as "best batch".
var bestTokenRate = 0.0
for (i, b) in all.enumerated() {
    let tb = seconds()
    if i == warmup { t0 = seconds(); c0 = cpuSeconds(); tokens = 0; reviews = 0; tAdam = 0; model.profiling = profiling; model.resetProfile() }
    if mode == "train" {
        let (loss, _) = b.tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: b.lengths, labels: b.labels, rng: &rng) }
        let ta = seconds()
        adam.update(model.params)
        tAdam += seconds() - ta
        sink += loss
    } else {
        let logits = b.tokens.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: b.lengths) }
        sink += logits[0]
    }
    tokens += b.tokens.count; reviews += b.lengths.count
    if i >= warmup { bestTokenRate = max(bestTokenRate, Double(b.tokens.count) / (seconds() - tb)) }
}
let dt = seconds() - t0, dcpu = cpuSeconds() - c0
let name = "bi-\(cell.rawValue)"
print("engine \(name) \(mode): B=\(B) E=\(E) H=\(H) V=\(V) threads=\(threads): \(formatFixed(dt / Double(batches), 4)) s/batch, "
      + "\(formatFixed(Double(reviews) / dt, 1)) reviews/s, \(formatThousands(Int(Double(tokens) / dt))) tokens/s, "
      + "\(formatFixed(Double(tokens) * flopsPerToken / dt / 1e9, 1)) GFLOP/s"
      + (mode == "train" ? "" : " (nominal: layer 0's input projection is a table lookup here)")
      + " (mean length \(tokens / reviews))"
      + (mode == "train" ? ", Adam \(formatFixed(tAdam / Double(batches) * 1000, 1)) ms/batch" : "")
      + ", best batch \(formatFixed(bestTokenRate * Double(reviews) / Double(tokens), 1)) reviews/s"
      + ", CPU \(formatFixed(dcpu / Double(batches), 4)) s/batch, \(peakRSS())" + (sink.isNaN ? " NaN!" : ""))
var perBatch = model.profile
perBatch.bigGEMM /= Double(batches); perBatch.stepGEMM /= Double(batches); perBatch.gates /= Double(batches)
perBatch.copies /= Double(batches); perBatch.other /= Double(batches)
printProfile(perBatch, wall: dt / Double(batches), enabled: profiling)
