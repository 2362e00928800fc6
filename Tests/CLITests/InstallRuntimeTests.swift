// `make install` output runs without the Swift toolchain: the installed tools link the Swift
// runtime statically and need only Debian's shared libraries.
import Foundation
import XCTest

final class InstallRuntimeTests: XCTestCase {
    /// Shared libraries an installed tool may ask for (readelf NEEDED): the C and C++ runtimes and
    /// the Debian packages the build depends on (what those pull in is checked through ldd).
    static let allowed: Set<String> = ["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libpcre2-8.so.0",
                                       "libz.so.1", "libopenblas.so.0", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"]

    func testInstalledToolsNeedOnlyDebianLibraries() throws {
        #if !os(Linux)
        throw XCTSkip("checks ELF binaries")
        #else
        let prefix = try E2E.tempDir()
        defer { try? FileManager.default.removeItem(at: prefix) }
        let inst = try E2E.sh("scripts/install.sh \"$0\" \"$1\"", args: [E2E.bin.path, prefix.path], cwd: E2E.root)
        XCTAssertEqual(inst.status, 0, inst.stderr)
        let tools = ["rnn-corpus", "rnn-clean", "rnn-vocab", "rnn-encode", "rnn-fit", "rnn-classify", "rnn-sample"]
        for tool in tools {
            let path = prefix.appendingPathComponent("bin/" + tool).path
            let dyn = try E2E.sh("readelf -d \"$0\"", args: [path])
            XCTAssertEqual(dyn.status, 0, dyn.stderr)
            var needed: [String] = []
            for line in dyn.out.split(separator: "\n") {
                if line.contains("(NEEDED)"), let a = line.firstIndex(of: "["), let b = line.lastIndex(of: "]") {
                    needed.append(String(line[line.index(after: a) ..< b]))
                }
                if line.contains("(RUNPATH)") || line.contains("(RPATH)") {
                    XCTAssertFalse(line.lowercased().contains("swift"), "\(tool): search path into the toolchain: \(line)")
                }
            }
            XCTAssertTrue(needed.contains("libc.so.6"), "\(tool): \(needed)")
            XCTAssertEqual(Set(needed).subtracting(InstallRuntimeTests.allowed), [], "\(tool) needs libraries outside Debian's base and build deps")
            // every library (also what libopenblas pulls in) resolves to a system path, none to the toolchain
            let ldd = try E2E.sh("env -i PATH=/usr/bin:/bin ldd \"$0\"", args: [path])
            XCTAssertEqual(ldd.status, 0, ldd.stderr)
            XCTAssertFalse(ldd.out.contains("not found"), "\(tool): \(ldd.out)")
            XCTAssertFalse(ldd.out.lowercased().contains("swift"), "\(tool): \(ldd.out)")
            // and it starts with a bare environment (no toolchain on PATH or LD_LIBRARY_PATH)
            let run = try E2E.sh("env -i PATH=/usr/bin:/bin \"$0\" --version", args: [path])
            XCTAssertEqual(run.status, 0, "\(tool): \(run.stderr)")
        }
        #endif
    }

    /// One binary for every x86-64 CPU: outside the functions of the x86-64-v3 and v4 kernel
    /// modules (RNNKernelsV3, RNNKernelsV4: chosen at start-up only on a CPU that has them) and the
    /// bfloat16 kernel's four functions (CBFloat16/bf16.h: run only by --bf16 on a CPU with AVX512_BF16), no
    /// tool holds an instruction beyond baseline x86-64 (SSE2): no VEX/EVEX (AVX, AVX2, FMA,
    /// AVX-512, mask registers), BMI1/2, LZCNT, POPCNT, MOVBE, SSE3/SSSE3/SSE4. A binary built on
    /// an AVX-512 machine therefore runs on an AVX2-only one, and one built anywhere on any x86-64.
    /// The scan is checked to see the kernels' own AVX-512 and AVX2 code.
    func testOnlyTheKernelSetsUseInstructionsBeyondBaselineX86_64() throws {
        #if !(os(Linux) && arch(x86_64))
        throw XCTSkip("checks x86-64 ELF binaries")
        #else
        let scan = #"""
        objdump -d --no-show-raw-insn "$0" | awk -F'\t' '
          /^[0-9a-f]+ <.*>:$/ { fn = $0; next }
          NF >= 2 {
            split($2, w, " "); m = w[1]
            beyond = m ~ /^(v|k[a-z])/ || m ~ /^(andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|lzcnt|popcnt|movbe|crc32)$/ ||
                     m ~ /^(round[sp][sd]|ptest|pshufb|pblendvb|pblendw|blendv?p[sd]|pmulld|pmuldq|pminsb|pminsd|pminuw|pminud|pmaxsb|pmaxsd|pmaxuw|pmaxud|pextr[bdq]|pinsr[bdq]|pcmpeqq|pcmpgtq|dpp[sd]|insertps|extractps|pmov[sz]x[a-z]+|palignr|ph(add|sub)[a-z]*|pabs[bwd]|psign[bwd]|pmaddubsw|pmulhrsw|movddup|movs[hl]dup|lddqu|haddp[sd]|hsubp[sd]|addsubp[sd]|packusdw|mpsadbw|phminposuw|movntdqa)$/
            if (!beyond) next
            kernels = fn ~ /RNNKernelsV[34]/ || fn ~ /<rnn_bf16_(rows|pairs|panels_t|gemm)>:$/
            if (kernels && $2 ~ /%zmm/) zmm++
            if (kernels && $2 ~ /%ymm/) ymm++
            if (!kernels) { bad++; if (bad <= 5) print "outside the kernel sets: " m " in " substr(fn, 1, 160) }
          }
          END { printf "zmm %d ymm %d bad %d\n", zmm, ymm, bad }'
        """#
        var sawKernels = false
        // the engine's three tools, and rnn-clean for the text libraries the others share
        for tool in ["rnn-clean", "rnn-fit", "rnn-classify", "rnn-sample"] {
            let r = try E2E.sh(scan, args: [E2E.bin.appendingPathComponent(tool).path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let last = r.out.split(separator: "\n").last.map(String.init) ?? ""
            XCTAssertTrue(last.hasSuffix(" bad 0"), "\(tool):\n\(r.out)\n\(r.stderr)")
            let counts = last.split(separator: " ").compactMap { Int($0) }
            if tool == "rnn-fit" {
                XCTAssertEqual(counts.count, 3, r.out)
                XCTAssertGreaterThan(counts.first ?? 0, 0, "rnn-fit: the v4 kernels' AVX-512 code was not seen: \(r.out)")
                XCTAssertGreaterThan(counts.dropFirst().first ?? 0, 0, "rnn-fit: the kernels' AVX2 code was not seen: \(r.out)")
                sawKernels = true
            }
        }
        XCTAssertTrue(sawKernels)
        #endif
    }
}
