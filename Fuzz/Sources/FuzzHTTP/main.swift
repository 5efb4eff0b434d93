import FuzzChecks
import FuzzDriver

runFuzzer { data, size in
    fuzzHTTP(fuzzBytes(data, size))
    return 0
}
