#!/usr/bin/env python3
"""The functions a gateway binary runs while it serves, hottest first: the symbol ordering file of release builds.

    Benchmarks/scripts/symbol_order.py [--static-archives DIR] BINARY PROFILE...

Each PROFILE is a callgrind profile of a worker run from BINARY (`scripts/instructions.sh` with INSTRUCTIONS_KEEP;
the worker's copy of the binary is named `measured` there). A function's weight is the sum, over the profiles, of its
share of that profile's instructions in the binary, so each workload counts alike however many instructions it ran.
Prints the symbol names, heaviest first, one a line, for `ld.lld --symbol-ordering-file`: the linker puts the
functions listed first in the text, in that order, so the code a request or a relayed chunk runs fills a few hundred
KB of pages instead of being spread over the whole binary (BENCHMARKS.md, "Fiftieth round").

The linker moves sections, not functions. Link-time optimisation gives each of the package's and its dependencies'
functions a section of its own, and so does the Swift runtime's archive to its public functions; its internal ones
share one `.text` section of over a megabyte per object, which one listed function would pull in whole, between
the hot functions. With --static-archives (the toolchain's `lib/swift_static/linux`), the functions some archive
there defines in such a shared section are listed after all the others: their sections follow the hot functions
instead of splitting them.

callgrind names C++ functions (the Swift runtime's) demangled; they are mapped back to the binary's symbols through
`nm --demangle`. A function callgrind cannot name, or whose name the binary lacks, is left out (stderr says how
many). Standard library only, with `nm` and `objdump` from binutils.
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys

OBJECT_NAME = "measured"
COMPRESSED = re.compile(r"\((\d+)\)(?: (.*))?")


def self_costs(path):
    """Instructions spent in each function of the measured binary itself (not in its callees), from one profile."""
    names = {}

    def name(kind, text):
        # callgrind's name compression: "(12) name" defines id 12, a later "(12)" refers to it.
        match = COMPRESSED.match(text)
        if not match:
            return text
        key = (kind, match.group(1))
        if match.group(2) is not None:
            names[key] = match.group(2)
        return names[key]

    costs = collections.Counter()
    obj = function = None
    call_cost_follows = False
    with open(path) as profile:
        for line in profile:
            line = line.rstrip("\n")
            if line.startswith("ob="):
                obj = name("ob", line[3:])
            elif line.startswith("fn="):
                function = name("fn", line[3:])
            elif line.startswith("cob="):
                name("ob", line[4:])
            elif line.startswith("cfn="):
                name("fn", line[4:])
            elif line.startswith("calls="):
                call_cost_follows = True  # the next cost line is the call's inclusive cost, not the caller's own
            elif line[:1].isdigit() or line[:1] in "+-*":
                if call_cost_follows:
                    call_cost_follows = False
                elif obj and obj.rsplit("/", 1)[-1] == OBJECT_NAME:
                    fields = line.split()
                    # "position cost"; a line with the position alone costs nothing (zeros are left out).
                    costs[function] += int(fields[1]) if len(fields) > 1 else 0
    return costs


def binary_functions(binary):
    """The binary's function symbols, and its symbol names by demangled name."""
    def nm(*options):
        return subprocess.run(["nm", "--defined-only", *options, binary], capture_output=True, text=True,
                              check=True).stdout.splitlines()

    symbols = set()
    by_demangled = collections.defaultdict(list)
    for raw, demangled in zip(nm(), nm("--demangle")):
        raw_fields, demangled_fields = raw.split(" ", 2), demangled.split(" ", 2)
        if len(raw_fields) == 3 and raw_fields[1] in "tTwW":
            symbols.add(raw_fields[2])
            by_demangled[demangled_fields[2]].append(raw_fields[2])
    return symbols, by_demangled


def shared_section_functions(directory):
    """Functions the static archives in `directory` define in a `.text` section they share with others."""
    shared = set()
    for archive in sorted(glob.glob(os.path.join(directory, "*.a"))):
        table = subprocess.run(["objdump", "--syms", archive], capture_output=True, text=True, check=True).stdout
        # "0000000000013f740 l     F .text\t0000000000000271 name" (a section of its own reads ".text.name")
        for line in table.splitlines():
            fields = line.split("\t")
            if len(fields) == 2 and fields[0].endswith(" F .text"):
                shared.add(fields[1].split()[-1])
    return shared


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--static-archives", metavar="DIR",
                        help="list last the functions the archives in DIR define in a shared .text section")
    parser.add_argument("binary")
    parser.add_argument("profiles", nargs="+")
    arguments = parser.parse_args()
    binary, profiles = arguments.binary, arguments.profiles
    shared = shared_section_functions(arguments.static_archives) if arguments.static_archives else set()
    weights = collections.Counter()
    for path in profiles:
        costs = self_costs(path)
        total = sum(costs.values())
        if total == 0:
            sys.exit(f"{path}: no instructions of '{OBJECT_NAME}' (not a profile of scripts/instructions.sh?)")
        for function, cost in costs.items():
            if cost > 0:
                # "name'2": callgrind's mark for a recursive activation of the same function.
                weights[function.split("'", 1)[0]] += cost / total
    symbols, by_demangled = binary_functions(binary)
    movable, in_shared_sections, seen, unnamed = [], [], set(), 0
    for function, _ in weights.most_common():
        names = [function] if function in symbols else by_demangled.get(function, [])
        unnamed += not names
        for symbol in names:
            if symbol not in seen:
                seen.add(symbol)
                (in_shared_sections if symbol in shared else movable).append(symbol)
    print("\n".join(movable + in_shared_sections))
    print(f"{len(movable)} functions ordered, then {len(in_shared_sections)} in shared sections; {unnamed} not found "
          f"in {binary}", file=sys.stderr)


if __name__ == "__main__":
    main()
