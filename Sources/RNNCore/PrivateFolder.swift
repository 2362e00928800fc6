// A temporary folder of the process (mkdtemp under $TMPDIR, else /tmp), removed with everything
// in it when the process exits (normal end, error, or a stop by Ctrl-C/SIGTERM, which end through
// exit()); a process killed by SIGKILL leaves it behind in the temporary folder.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private temporary folder, removed at exit.
public struct PrivateFolder: Sendable {
    /// The folder's path.
    public let path: String

    /// Creates `$TMPDIR/PREFIX-XXXXXX` (mode 0700).
    public static func make(prefix: String) throws -> PrivateFolder {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/" + prefix + "-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RNNError(path: base, "cannot create a temporary folder: \(String(cString: strerror(errno))); set TMPDIR to a writable folder")
        }
        let path = String(cString: p)
        Registry.add(path)
        return PrivateFolder(path: path)
    }

    /// Folders to remove at exit.
    private enum Registry {
        nonisolated(unsafe) static var paths: [String] = []
        nonisolated(unsafe) static var installed = false
        static func add(_ path: String) {
            paths.append(path)
            if !installed {
                installed = true
                atexit { for p in Registry.paths { PrivateFolder.removeTree(p) } }
            }
        }
    }

    /// Removes `path` and everything below it (no links followed).
    static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let e = readdir(dir) {
                let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
                if name == "." || name == ".." { continue }
                let child = path + "/" + name
                var st = stat()
                if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
