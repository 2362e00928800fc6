// libFuzzer entry (scripts/fuzz.sh builds it with -sanitize=fuzzer,address -parse-as-library):
// RNN_FUZZ_TARGET names the target of RNNFuzz.FuzzTargets.
#if canImport(Glibc)
import Glibc
#endif
import RNNFuzz

let fuzzTarget: String = getenv("RNN_FUZZ_TARGET").map { String(cString: $0) } ?? "safetensors"
let fuzzScratch: String = {
    let dir = getenv("RNN_FUZZ_SCRATCH").map { String(cString: $0) } ?? "/tmp"
    return dir + "/rnn-fuzz-\(getpid())"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.run(fuzzTarget, UnsafeRawBufferPointer(start: data, count: size), scratch: fuzzScratch)
    return 0
}
