// libFuzzer's driver entry point (compiler-rt, LLVM >= 12), linked in by `-sanitize=fuzzer`.
//
// SwiftPM links every executable target with `--defsym main=<Module>_main`, so a fuzz target cannot rely on
// libFuzzer's own `main`: each target has a `main.swift` that calls this instead.
#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
