import FuzzChecks
import FuzzDriver

runFuzzer { data, size in
    fuzzControl(fuzzBytes(data, size))
    return 0
}
