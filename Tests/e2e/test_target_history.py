"""Benchmarks/scripts/target_history.py, each target over the latest full runs, on result files made up for the
purpose: only full runs count, newest first, and a target a run did not have yet is shown as such."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "Benchmarks" / "scripts" / "target_history.py"
CPU = "gateway CPU per non-streaming request ≤ 2× nginx's"
IDLE = "idle master + 2 workers ≤ 60 MB (sum of RSS)"
TOOLS = "the same, the tokens as a tool call's arguments"


def write_run(directory, name, commit, targets, quick=False, cpu="AMD EPYC"):
    document = {"meta": {"quick": quick, "gateway_commit": commit, "cpu": cpu},
                "targets": [{"target": t, "value": v, "met": met} for t, v, met in targets]}
    (directory / name).write_text(json.dumps(document))


def history(directory, *arguments):
    result = subprocess.run([sys.executable, str(SCRIPT), "--results", str(directory), *arguments],
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout.splitlines(), result.stderr


def row(lines, target):
    return next(line for line in lines if line.startswith(f"| {target} |"))


def test_full_runs_newest_first_with_the_count_of_runs_that_met_each_target(tmp_path):
    write_run(tmp_path, "20261201T100000Z.json", "aaa1111", [(CPU, 3.7, False), (IDLE, 58000, True)], cpu="Intel Xeon")
    write_run(tmp_path, "20261202T100000Z.json", "bbb2222",
              [(CPU, 1.95, True), (IDLE, 59000, False), (TOOLS, 142100, True)])
    # Not full runs: a quick one, and one of some scenarios only (a target left unjudged).
    write_run(tmp_path, "20261203T100000Z.json", "ccc3333", [(CPU, 9.9, False), (IDLE, 1, True)], quick=True)
    write_run(tmp_path, "20261204T100000Z.json", "ddd4444", [(CPU, 9.9, False), (IDLE, None, None)])
    # A file the benchmark keeps beside the runs, not a run of its own.
    write_run(tmp_path, "20261205T100000Z-st500.json", "eee5555", [(CPU, 9.9, False), (IDLE, 1, True)])
    code, lines, _ = history(tmp_path)

    assert code == 0
    assert lines[0] == "| target | met in | 12-02 10:00 bbb2222 AMD | 12-01 10:00 aaa1111 Intel |"
    assert row(lines, CPU) == f"| {CPU} | 1 of 2 | 1.95 ✓ | 3.70 ✗ |"
    # Kept in KiB, judged in MB: 59,000 KiB is 60.4 MB, over the line.
    assert row(lines, IDLE) == f"| {IDLE} | 1 of 2 | 60.4 MB ✗ | 59.4 MB ✓ |"
    # Only the newer run had the tool-call target.
    assert row(lines, TOOLS) == f"| {TOOLS} | 1 of 1 | 142,100 ✓ | · |"


def test_last_keeps_the_newest_runs_and_a_broken_file_is_skipped_with_a_word(tmp_path):
    for day in (1, 2, 3):
        write_run(tmp_path, f"2026120{day}T100000Z.json", f"c{day}", [(CPU, 2.0 + day, False)])
    (tmp_path / "20261204T100000Z.json").write_text("{not json")
    code, lines, stderr = history(tmp_path, "--last", "2")

    assert code == 0
    assert lines[0] == "| target | met in | 12-03 10:00 c3 AMD | 12-02 10:00 c2 AMD |"
    assert row(lines, CPU) == f"| {CPU} | 0 of 2 | 5.00 ✗ | 4.00 ✗ |"
    assert "skipping 20261204T100000Z.json" in stderr


def test_no_full_run_is_an_error(tmp_path):
    write_run(tmp_path, "20261201T100000Z.json", "aaa1111", [(CPU, 3.7, False)], quick=True)
    code, lines, stderr = history(tmp_path)
    assert code == 1 and lines == [] and "no full run" in stderr
