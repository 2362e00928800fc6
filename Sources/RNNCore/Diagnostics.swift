#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes diagnostics (warnings, progress, reports) to standard error, unbuffered.
///
/// Data never goes here; data goes to standard output through ``BufferedOutput``.
public enum Diagnostics {
    /// Writes `text` to stderr as is (no newline added).
    public static func write(_ text: String) {
        var s = text
        s.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = systemWrite(2, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                off += n
            }
        }
    }

    /// Writes one line to stderr.
    public static func line(_ text: String) { write(text + "\n") }

    /// True when stderr is a terminal (progress bars are drawn only then).
    public static var stderrIsTTY: Bool { isatty(2) != 0 }
}

/// Formats an integer with thousands separators: 41382 -> "41,382".
public func formatThousands(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}

/// Formats a Double with a fixed number of decimals, without Foundation.
public func formatFixed(_ x: Double, _ decimals: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let neg = x < 0
    let r = (abs(x) * scale).rounded()
    if r >= 9.0e15 { return String(x) }
    let v = UInt64(r)
    let ip = v / UInt64(scale)
    var fp = String(v % UInt64(scale))
    while fp.count < decimals { fp = "0" + fp }
    let body = decimals > 0 ? "\(ip).\(fp)" : "\(ip)"
    return (neg && r != 0 ? "-" : "") + body
}
