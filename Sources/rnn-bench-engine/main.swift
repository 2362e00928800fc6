// Engine benchmark: trains / runs the reference classifier shape (REFERENCE.md section 4) on
// synthetic IMDB-like batches and prints reviews/s, real tokens/s and achieved GFLOP/s.
//
//   rnn-bench-engine [--cell lstm|gru] [--mode train|infer] [--batches n] [--threads n] [--dump path]
//
// Lengths ~ lognormal (mean ~210 tokens), clipped to [10, 500]; token ids uniform in 2..<V; fixed
// seed. --dump writes the batches (tokens, lengths, labels) to a safetensors file so the PyTorch
// side (scripts/reference/bench_torch.py) runs on exactly the same data.
import RNNCore
import RNNEngine
#if canImport(Glibc)
import Glibc
#endif

var cell = CellKind.lstm, mode = "train", batches = 20, threads = 2, dump: String? = nil, batchSize = 0
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    let v = args.isEmpty ? "" : args.removeFirst()
    switch a {
    case "--cell": cell = CellKind(rawValue: v) ?? .lstm
    case "--mode": mode = v
    case "--batches": batches = Int(v) ?? batches
    case "--threads": threads = Int(v) ?? threads
    case "--batch": batchSize = Int(v) ?? 0
    case "--dump": dump = v
    default: fatalError("unknown option \(a)")
    }
}
let V = 25_000, E = 200, H = 128
let B = batchSize > 0 ? batchSize : (mode == "train" ? 32 : 256)

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
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
    try w.write(to: dump)
}

let config = ModelConfig(cell: cell, task: .classifier, vocabSize: V, embedDim: E, hidden: H, layers: 1, bidirectional: true,
                         dropout: 0, headDropout: 0, outputs: 1, paddingIndex: 1, freezeEmbedding: false)
let model = Model(config: config, seed: 1)
model.threads = threads
var adam = Adam(count: model.params.count)
var rng = RNG(seed: 7)
let G = cell.gates * H
let fwdFlopsPerToken = Double(2 * (2 * E * G + 2 * H * G))         // both directions
let flopsPerToken = mode == "train" ? 3 * fwdFlopsPerToken : fwdFlopsPerToken

var t0 = 0.0, tokens = 0, reviews = 0, tAdam = 0.0, sink: Float = 0
for (i, b) in all.enumerated() {
    if i == warmup { t0 = seconds(); tokens = 0; reviews = 0; tAdam = 0 }
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
}
let dt = seconds() - t0
let name = "bi-\(cell.rawValue)"
print("engine \(name) \(mode): B=\(B) E=\(E) H=\(H) V=\(V) threads=\(threads): \(formatFixed(dt / Double(batches), 4)) s/batch, "
      + "\(formatFixed(Double(reviews) / dt, 1)) reviews/s, \(formatThousands(Int(Double(tokens) / dt))) tokens/s, "
      + "\(formatFixed(Double(tokens) * flopsPerToken / dt / 1e9, 1)) GFLOP/s (mean length \(tokens / reviews))"
      + (mode == "train" ? ", Adam \(formatFixed(tAdam / Double(batches) * 1000, 1)) ms/batch" : "")
      + (sink.isNaN ? " NaN!" : ""))
