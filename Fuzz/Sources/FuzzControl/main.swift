import FuzzSupport

runFuzzer { data, size in
    fuzzControl(fuzzBytes(data, size))
    return 0
}
