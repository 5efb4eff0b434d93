#!/usr/bin/env python3
"""Each of issue 7's targets over the latest full benchmark runs, from the JSON `scripts/bench.sh` keeps of each run.

    Benchmarks/scripts/target_history.py [--last N] [--results DIR]

Prints a Markdown table: a row per target (in the newest run's order), how many of the runs met it, and its figure
and verdict in each run, newest first, under a header naming each run's time, commit and host. A run counts when
it was a full one: not quick, and every target it lists judged (a run of some scenarios only, `BENCH_SCENARIOS`,
leaves the others unjudged). A target a run did not have yet shows "·". Standard library only.
"""
import argparse
import glob
import json
import os
import re
import sys

RUN_NAME = re.compile(r"^(\d{8})T(\d{4})\d{2}Z\.json$")


def full_runs(directory):
    """(file name, document) of every full run in `directory`, oldest first."""
    runs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        name = os.path.basename(path)
        if not RUN_NAME.match(name):
            continue
        try:
            with open(path) as f:
                document = json.load(f)
        except (OSError, ValueError) as error:
            print(f"target_history.py: skipping {name}: {error}", file=sys.stderr)
            continue
        targets = document.get("targets") or []
        if document.get("meta", {}).get("quick") or not targets:
            continue
        if any(t.get("met") is None for t in targets):
            continue
        runs.append((name, document))
    return runs


def figure(t):
    """A target's value, short: below 10 with two decimals (ratios, µs a chunk), below 100 with one, larger ones
    whole; the idle tree in MB (kept in KiB, judged in MB)."""
    value = t.get("value")
    if value is None:
        return "–"
    if t["target"].startswith("idle master"):
        return f"{value * 1.024 / 1000:.1f} MB"
    if abs(value) < 10:
        return f"{value:.2f}"
    if abs(value) < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def cell(t):
    if t is None:
        return "·"
    return f"{figure(t)} {'✓' if t['met'] else '✗'}"


def header(name, document):
    day, time = RUN_NAME.match(name).groups()
    meta = document.get("meta", {})
    host = "Intel" if "Intel" in meta.get("cpu", "") else ("AMD" if "AMD" in meta.get("cpu", "") else "?")
    return f"{day[4:6]}-{day[6:8]} {time[:2]}:{time[2:]} {meta.get('gateway_commit', '?')} {host}"


def history(runs):
    """The Markdown lines for `runs` (oldest first; shown newest first)."""
    newest_first = list(reversed(runs))
    names = [t["target"] for t in newest_first[0][1]["targets"]]
    by_run = [{t["target"]: t for t in document["targets"]} for _, document in newest_first]
    lines = ["| target | met in | " + " | ".join(header(n, d) for n, d in newest_first) + " |",
             "|---|---|" + "---|" * len(newest_first)]
    for name in names:
        judged = [run[name] for run in by_run if name in run]
        met = sum(1 for t in judged if t["met"])
        lines.append(f"| {name} | {met} of {len(judged)} | "
                     + " | ".join(cell(run.get(name)) for run in by_run) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, default=10, help="how many of the latest full runs (default 10)")
    parser.add_argument("--results", default=os.path.join(os.path.dirname(__file__), "..", "results"),
                        help="the directory of the runs' JSON (default Benchmarks/results)")
    args = parser.parse_args()
    if args.last < 1:
        parser.error("--last must be at least 1")
    runs = full_runs(args.results)
    if not runs:
        print(f"target_history.py: no full run in {args.results}", file=sys.stderr)
        return 1
    print("\n".join(history(runs[-args.last:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
