import FuzzChecks
import FuzzDriver

runFuzzer { data, size in
    fuzzStream(fuzzBytes(data, size))
    return 0
}
