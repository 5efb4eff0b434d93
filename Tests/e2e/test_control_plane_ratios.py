"""Benchmarks/scripts/control_plane_ratios.py, the ratios `control_plane_overhead.sh` prints, on rates made up for the
purpose: each ratio is formed within one round, and the summary gives the median of the rounds' ratios."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "Benchmarks" / "scripts" / "control_plane_ratios.py"


def ratios(tmp_path, lines, *arguments):
    rates = tmp_path / "rates"
    rates.write_text("".join(line + "\n" for line in lines))
    return subprocess.run([sys.executable, str(SCRIPT), arguments[0], str(rates), *arguments[1:]],
                          capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def test_the_summary_is_the_median_of_each_rounds_own_ratio(tmp_path):
    # Three rounds of each kind. Bypass: on ÷ off 900/1000, 1900/2000, 950/1000 = 0.90, 0.95, 0.95, median 0.95;
    # all-miss: 0.70, 0.80, 0.75, median 0.75. The "on" arm's Redis commands per request: medians 0.08 and 2.06.
    lines = ["bypass off 1000 0", "bypass on 900 0.07", "all-miss off 1000 0", "all-miss on 700 2.07",
             "bypass off 2000 0", "bypass on 1900 0.09", "all-miss off 1000 0", "all-miss on 800 2.05",
             "bypass off 1000 0", "bypass on 950 0.08", "all-miss off 2000 0", "all-miss on 1500 2.06"]
    printed = ratios(tmp_path, lines, "summary").splitlines()
    assert printed[0] == ("median, bypass:   on ÷ off 0.95× (0.90–0.95 over 3 rounds); "
                          "Redis commands per request (on) 0.08")
    assert printed[1] == ("median, all-miss: on ÷ off 0.75× (0.70–0.80 over 3 rounds); "
                          "Redis commands per request (on) 2.06")


def test_a_pair_never_spans_two_rounds(tmp_path):
    # Rounds 1-3: on ÷ off 950/1000, 2400/3000, 960/1000 = 0.95, 0.80, 0.96. Round 4 lost its "on" arm: its "off"
    # (500) forms no pair, and round 5's "on" pairs with round 5's own "off": 1000/2000 = 0.50. Pairs 0.95, 0.80,
    # 0.96, 0.50: median 0.88. Pairing by position (round 5's "on" with round 4's "off", 2.00) would say 0.96 (0.80-
    # 2.00), and the ratio of the arms' medians (980 / 1000) 0.98.
    lines = ["bypass off 1000 0", "bypass on 950 0.1", "bypass off 3000 0", "bypass on 2400 0.1",
             "bypass off 1000 0", "bypass on 960 0.1", "bypass off 500 0", "bypass off 2000 0", "bypass on 1000 0.1"]
    assert ratios(tmp_path, lines, "summary") == (
        "median, bypass:   on ÷ off 0.88× (0.50–0.96 over 4 rounds); Redis commands per request (on) 0.10")
    assert ratios(tmp_path, lines, "round", "bypass") == "0.50×"
    assert ratios(tmp_path, lines[:-1], "round", "bypass") == "-"


def test_the_other_arms_are_paired_with_their_own_round(tmp_path):
    # base (another build, control plane on) and unix (Redis over its Unix socket) run between and after the arms.
    lines = ["bypass off 1000 0", "bypass base 800 0.1", "bypass on 900 0.1", "bypass unix 850 0.1",
             "bypass off 2000 0", "bypass base 1000 0.1", "bypass on 1600 0.1", "bypass unix 1900 0.1"]
    assert ratios(tmp_path, lines, "summary") == (
        "median, bypass:   on ÷ off 0.85× (0.80–0.90 over 2 rounds); unix ÷ off 0.90× (0.85–0.95 over 2 rounds); "
        "on ÷ base 1.36× (1.12–1.60 over 2 rounds); Redis commands per request (on) 0.10")
