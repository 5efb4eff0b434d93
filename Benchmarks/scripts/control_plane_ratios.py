"""The ratios of `control_plane_overhead.sh`'s rounds, from the lines its `run` adds to a rates file.

Each line is "KIND LABEL REQ/S REDIS-COMMANDS-PER-REQUEST"; a round of a kind starts with its "off" arm, and the other
arms of that round ("base", "on", "unix") follow it. A ratio is formed within one round only, so both of its figures
saw the same state of a shared machine, as the full run's report (`Benchmarks/report.py`) judges issue 7's
"on ≥ 0.9× off" pair by pair.

    control_plane_ratios.py round RATES KIND    the last round's on ÷ off of KIND ("-" when it has no pair)
    control_plane_ratios.py summary RATES       per kind: the median of the rounds' on ÷ off, unix ÷ off and
                                                on ÷ base (those that ran), their range, and the "on" arm's Redis
                                                commands per request
"""
import statistics
import sys

# (numerator, denominator) arms of each ratio the summary gives, when both ran in a round.
SUMMARY_PAIRS = (("on", "off"), ("unix", "off"), ("on", "base"))


def read_rounds(lines):
    """Kind -> its rounds in order, each {label: (req/s, commands per request)}."""
    rounds = {}
    for line in lines:
        if not line.strip():
            continue
        kind, label, rate, commands = line.split()
        if label == "off" or kind not in rounds:
            rounds.setdefault(kind, []).append({})
        rounds[kind][-1][label] = (float(rate), float(commands))
    return rounds


def paired_ratios(rounds, top, bottom):
    """top ÷ bottom in each round holding both arms (a round whose bottom served nothing forms no pair)."""
    return [r[top][0] / r[bottom][0] for r in rounds if top in r and bottom in r and r[bottom][0] > 0]


def summary_lines(rounds):
    lines = []
    for kind, kind_rounds in rounds.items():
        parts = []
        for top, bottom in SUMMARY_PAIRS:
            ratios = paired_ratios(kind_rounds, top, bottom)
            if ratios:
                parts.append("%s ÷ %s %.2f× (%.2f–%.2f over %d rounds)" % (
                    top, bottom, statistics.median(ratios), min(ratios), max(ratios), len(ratios)))
        commands = [r["on"][1] for r in kind_rounds if "on" in r]
        if commands:
            parts.append("Redis commands per request (on) %.2f" % statistics.median(commands))
        lines.append("median, %-9s %s" % (kind + ":", "; ".join(parts) or "no pairs"))
    return lines


def main(argv):
    if len(argv) < 3 or argv[1] not in ("round", "summary") or (argv[1] == "round" and len(argv) < 4):
        sys.exit(__doc__)
    with open(argv[2]) as rates:
        rounds = read_rounds(rates)
    if argv[1] == "round":
        last = paired_ratios(rounds.get(argv[3], [])[-1:], "on", "off")
        print("%.2f×" % last[0] if last else "-")
    else:
        print("\n".join(summary_lines(rounds)))


if __name__ == "__main__":
    main(sys.argv)
