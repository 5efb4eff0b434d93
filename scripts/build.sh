#!/usr/bin/env bash
# Builds the gateway, installing missing system packages first. The Dockerfile's build stage runs exactly this.
#
#   scripts/build.sh [--release|--debug] [--product NAME]… [--scratch-path DIR]
#
# Default: --release --product cerebras-gateway. Swift's output goes to stderr; stdout gets one line per product,
# the absolute path of its binary (so `bin="$(scripts/build.sh)"` works).
#
# Release builds link the Swift standard library and the package's Swift dependencies statically
# (--static-swift-stdlib; cerebras-gateway does not use Foundation): the binary then needs only Debian's libcurl4, libhiredis0.14 and libssl3 (with libc,
# libstdc++ and libgcc) at run time, which is what the Dockerfile's runtime stage installs. Set
# CGW_STATIC_STDLIB=0 to link the Swift runtime dynamically instead (the binary then needs the toolchain's
# /usr/lib/swift/linux/*.so on the machine that runs it).
#
# Release builds also leave out Swift's run-time exclusivity checks (-enforce-exclusivity=unchecked, for the
# package and its dependencies); set CGW_EXCLUSIVITY_CHECKS=1 to keep them. They are optimised at link time across
# all modules (--experimental-lto-mode=full); set CGW_LTO=0 to skip that. And they export no symbols of their own to
# the dynamic linker (-Xlinker --no-export-dynamic); set CGW_EXPORT_DYNAMIC=1 to keep SwiftPM's --export-dynamic.
# Where the machine has glibc 2.36 or later, their relative relocations are packed (-z pack-relative-relocs, which
# makes the binary need glibc 2.36 to start); set CGW_PACK_RELOCS=0 to leave them unpacked. With link-time
# optimisation on, the functions a worker runs while serving are laid out together, in the order of
# scripts/symbol-order.txt (Benchmarks/scripts/symbol_order.sh regenerates it); set CGW_SYMBOL_ORDER=0 to skip that.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=release
products=()
scratch=()
while (($#)); do
    case "$1" in
        --release) configuration=release ;;
        --debug) configuration=debug ;;
        --product)
            [[ $# -ge 2 ]] || { echo "build.sh: --product needs a name" >&2; exit 2; }
            products+=("$2")
            shift
            ;;
        --scratch-path)
            [[ $# -ge 2 ]] || { echo "build.sh: --scratch-path needs a directory" >&2; exit 2; }
            scratch=(--scratch-path "$2")
            shift
            ;;
        -h | --help)
            awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "build.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done
((${#products[@]})) || products=(cerebras-gateway)

scripts/install-deps.sh >&2

flags=(-c "$configuration" "${scratch[@]}")
if [[ "$configuration" == release && "${CGW_STATIC_STDLIB:-1}" != 0 ]]; then
    flags+=(--static-swift-stdlib)
fi
if [[ "$configuration" == release && "${CGW_EXCLUSIVITY_CHECKS:-0}" != 1 ]]; then
    # Swift's run-time exclusivity checks (every dynamically checked access to a class property or global records
    # itself in a per-thread set) are left out of release builds, SwiftNIO's included: 5 % of the instructions of
    # a request and a sixth of those of a streamed chunk (BENCHMARKS.md, ninth round). The compile-time checks
    # stay, and debug builds, which `swift test` and the sanitizer runs use, keep the run-time ones.
    flags+=(-Xswiftc -enforce-exclusivity=unchecked)
fi
if [[ "$configuration" == release && "${CGW_LTO:-1}" != 0 ]]; then
    # Link-time optimisation of the whole program (the package, SwiftNIO and swift-log together): calls across
    # modules are inlined and specialised at link time. 4.6 % fewer instructions for a small request, 11 % fewer for
    # a relayed chunk, a binary 4 MB smaller (BENCHMARKS.md, nineteenth round); the link takes longer.
    flags+=(--experimental-lto-mode=full)
fi
if [[ "$configuration" == release && "${CGW_LTO:-1}" != 0 && "${CGW_SYMBOL_ORDER:-1}" != 0 ]]; then
    # The linker lays out first, in this order, the functions a worker runs while serving (a profile's, heaviest
    # first): a kept-alive request's code then spans 171-193 pages of the text instead of 371, and one request at a
    # time, each starting with caches the generator and the upstream have used, costs about 0.92x the CPU
    # (BENCHMARKS.md, "Fiftieth round"). Only with link-time optimisation, whose output has a section per function
    # for the linker to move; the Swift runtime's internal functions share their archive's sections, which follow the
    # hot functions. Names the binary no longer has are skipped.
    flags+=(-Xlinker "--symbol-ordering-file=$PWD/scripts/symbol-order.txt" -Xlinker --no-warn-symbol-ordering)
fi
if [[ "$configuration" == release && "${CGW_EXPORT_DYNAMIC:-0}" != 1 ]]; then
    # SwiftPM links an executable with --export-dynamic: every symbol of the program (some 12,000) goes into its
    # dynamic symbol table, 1.1 MB that each process maps and the dynamic linker searches first for every symbol a
    # library looks up at start-up. Nothing here needs it: the gateway looks up libcurl's functions in libcurl and
    # one libc function, never its own. Without it the binary is 1.4 MB smaller and master + 2 idle workers hold
    # 3.1-3.6 MB less RSS, 0.3-0.9 MB less PSS (BENCHMARKS.md, "Forty-ninth round").
    flags+=(-Xlinker --no-export-dynamic)
fi
glibc_version="$(getconf GNU_LIBC_VERSION 2>/dev/null || true)"  # "glibc 2.36"
glibc_minor="${glibc_version##*.}"
if [[ "$configuration" == release && "${CGW_PACK_RELOCS:-1}" != 0 && "$glibc_version" == "glibc 2."* \
    && "$glibc_minor" =~ ^[0-9]+$ && "$glibc_minor" -ge 36 ]]; then
    # 38,400 of the binary's relocations are relative ones (Swift's metadata holds absolute pointers): as RELA entries
    # they fill 923 KB that the dynamic linker reads in each process at start, packed (DT_RELR) 8 KB. A packed binary
    # needs glibc 2.36 or later to start, so it is packed only where the machine building it has that (Debian 12 and
    # later; the Dockerfile's bookworm images). Master + 2 idle workers: 1.0-3.9 MB less RSS, 0.7-1.1 MB less PSS
    # (BENCHMARKS.md, "Forty-ninth round").
    flags+=(-Xlinker -z -Xlinker pack-relative-relocs)
fi

for product in "${products[@]}"; do
    echo "== swift build ${flags[*]} --product $product" >&2
    swift build "${flags[@]}" --product "$product" >&2
done

bin_dir="$(swift build "${flags[@]}" --show-bin-path)"
for product in "${products[@]}"; do
    [[ -x "$bin_dir/$product" ]] || { echo "build.sh: $bin_dir/$product was not produced" >&2; exit 1; }
    echo "$bin_dir/$product"
done
