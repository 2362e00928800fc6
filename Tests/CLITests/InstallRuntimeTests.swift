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
}
