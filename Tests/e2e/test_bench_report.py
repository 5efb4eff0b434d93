"""Benchmarks/report.py, the benchmark's report, on runs made up for the purpose: ratios between arms are judged pair
by pair, each pair from one repetition, and every pair is shown."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_run(arm, label, rep, rps, cpu_ms_per_1k=None):
    run = {"kind": "load", "label": label, "arm": arm, "rep": rep, "stream": False, "ok": 1000, "failed": 0,
           "aborted": 0, "throughput_rps": rps, "latency_us": {"p50": 1000, "p99": 2000}, "watch": {}}
    if cpu_ms_per_1k is not None:
        run["watch"]["sut"] = {"cpu_ms_per_1k_requests": cpu_ms_per_1k}
    return run


def report(tmp_path, runs):
    lines = tmp_path / "runs.jsonl"
    lines.write_text("".join(json.dumps(run) + "\n" for run in runs))
    out = tmp_path / "result.json"
    printed = subprocess.run(
        [sys.executable, str(ROOT / "Benchmarks" / "report.py"), "--runs", str(lines), "--out", str(out),
         "--reps", "3", "--baseline-bin", "/copy/of/the/gateway"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.read_text()), printed


def target(document, starts_with):
    return next(t for t in document["targets"] if t["target"].startswith(starts_with))


def test_a_ratio_target_is_judged_on_the_median_of_the_repetitions_pairs(tmp_path):
    # CPU per request: the gateway 100, 400, 210 and nginx 60, 100, 110 ms per 1,000 in repetitions 1-3. Pair by pair
    # 1.67x, 4.00x, 1.91x: median 1.91x, met; the ratio of the arms' medians (210 / 100) would say 2.10x, missed.
    runs = []
    for rep, (gateway, nginx, baseline) in enumerate([(100, 60, 105), (400, 100, 380), (210, 110, 200)], start=1):
        runs += [load_run("direct", "ns_c16", rep, 9000), load_run("nginx", "ns_c16", rep, 8000, nginx),
                 load_run("baseline", "ns_c16", rep, 4000, baseline), load_run("gateway", "ns_c16", rep, 4000, gateway)]
    document, printed = report(tmp_path, runs)

    cpu = target(document, "gateway CPU per non-streaming request")
    assert [round(r, 3) for r in cpu["repetitions"]] == [1.667, 4.0, 1.909]
    assert round(cpu["value"], 3) == 1.909 and cpu["met"] is True
    assert "per repetition 1.67×, 4.00×, 1.91×; ratio of the medians 2.10×" in cpu["shown"]
    pairs = document["paired_per_repetition"]["CPU per non-streaming request (c=16)"]
    assert [round(r, 3) for r in pairs["baseline"]] == [0.952, 1.053, 1.05]
    # The report prints every pair, against nginx and against the baseline arm.
    assert "| CPU per non-streaming request (c=16) | 1.67×, 4.00×, 1.91× | 0.95×, 1.05×, 1.05× |" in printed
    assert "| metric | gateway ÷ nginx | gateway ÷ baseline |" in printed


def test_a_repetition_one_arm_lacks_forms_no_pair(tmp_path):
    # The control plane on against off: repetition 2 of the gateway with Redis failed to run, so it has no pair
    # (the gateway's 900 req/s there is in no ratio); 0.85x and 0.95x remain, their median 0.90x: met at the line.
    runs = [load_run("gateway", "ns_c16", rep, rps) for rep, rps in ((1, 1000), (2, 900), (3, 1000))]
    runs += [load_run("gateway_redis", "ns_c16", 1, 850), load_run("gateway_redis", "ns_c16", 3, 950)]
    document, printed = report(tmp_path, runs)

    bypass = target(document, "rate limiting and cache on")
    assert [round(r, 2) for r in bypass["repetitions"]] == [0.85, 0.95]
    assert round(bypass["value"], 2) == 0.9 and bypass["met"] is True
    assert "cache-bypassing requests 0.85×, 0.95×" in printed


def test_without_pairs_a_ratio_target_falls_back_to_the_ratio_of_the_medians(tmp_path):
    # nginx ran in repetitions 1 and 2 only, the gateway in 3 only (as when runs failed): no pair, so the target is
    # the ratio of the arms' medians, 300 / 100.
    runs = [load_run("nginx", "ns_c16", 1, 8000, 80), load_run("nginx", "ns_c16", 2, 8000, 120),
            load_run("gateway", "ns_c16", 3, 4000, 300)]
    document, _ = report(tmp_path, runs)

    cpu = target(document, "gateway CPU per non-streaming request")
    assert cpu["repetitions"] == [] and cpu["value"] == 3.0 and cpu["met"] is False
    assert cpu["shown"] == "3.00×"
