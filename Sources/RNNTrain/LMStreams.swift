// The streaming halves of rnn-sample: writing samples as they are drawn, and scoring text line by
// line as it is read.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore
import RNNEngine

/// A seed that differs from run to run (the system's random source).
public func randomSeed() -> UInt64 { UInt64.random(in: 0 ... UInt64.max) }

/// Writes `count` samples to `out`: each is the prime followed by `length` drawn characters and
/// ends with a newline; samples are separated by an empty line. Output is flushed after every
/// character when `flushEachChar` (default: stdout is a terminal), else after every line, so
/// `| head` stops the run at once (a closed pipe throws ``BrokenPipe``).
public func streamSamples(_ sampler: LMSampler, prime: String, primeIDs: [Int32], length: Int, count: Int,
                          out: BufferedOutput, flushEachChar: Bool = isatty(1) != 0) throws {
    let newline = sampler.alphabet.id(of: 0x0A)
    for i in 0 ..< count {
        if i > 0 { try out.write(byte: 0x0A) }
        try out.write(prime)
        var endsWithNewline = prime.isEmpty || prime.utf8.last == 0x0A
        try sampler.generate(prime: primeIDs, length: length) { id in
            try out.write(sampler.alphabet.utf8[Int(id)])
            endsWithNewline = id == newline
            if flushEachChar || endsWithNewline { try out.flush() }
        }
        if !endsWithNewline { try out.write(byte: 0x0A) }
        try out.flush()
    }
}

/// What ``scoreText`` scored in all.
public struct TextScore: Sendable, Equatable {
    /// Totals over every line.
    public var total: LineScore
    /// Lines scored.
    public var lines: Int
    /// Characters outside the model's alphabet (scored as <unk>) and the distinct ones among them.
    public var unknown: Int
    public var unknownScalars: [Unicode.Scalar]
}

/// Scores every line of `paths` (plain or gzip, "-" = stdin) with a model or an ensemble
/// (``LMScorer``) and writes one TSV line per input line: nats/char, bits/char, characters
/// scored, the line. Returns the totals (the command reports them).
@discardableResult
public func scoreText(models: [Model], alphabet: CharAlphabet, paths: [String], resetPerLine: Bool, out: BufferedOutput) throws -> TextScore {
    let scorer = LMScorer(models: models, alphabet: alphabet, resetPerLine: resetPerLine)
    var lines = 0
    for path in paths {
        // Lines as they are (a CR is a character the model scores); a last line without a
        // newline is scored without one.
        let reader = try LineReader(path: path, keepCR: true)
        while let line = try reader.next() {
            let s = scorer.score(line: line, hasNewline: reader.lastLineHadNewline)
            lines += 1
            try out.write("\(formatFixed(s.natsPerChar, 4))\t\(formatFixed(s.bitsPerChar, 4))\t\(s.chars)\t")
            try out.write(line)
            try out.write(byte: 0x0A)
        }
        try out.flush()
    }
    return TextScore(total: scorer.total, lines: lines, unknown: scorer.unknown, unknownScalars: scorer.unknownScalars)
}
