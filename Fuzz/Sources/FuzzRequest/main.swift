import FuzzChecks
import FuzzDriver

runFuzzer { data, size in
    fuzzRequest(fuzzBytes(data, size))
    return 0
}
