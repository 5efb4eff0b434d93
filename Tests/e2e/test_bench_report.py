"""Benchmarks/report.py, the benchmark's report, on runs made up for the purpose: ratios between arms are judged pair
by pair, each pair from one repetition, and every pair is shown."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_run(arm, label, rep, rps, cpu_ms_per_1k=None, p50_us=1000):
    run = {"kind": "load", "label": label, "arm": arm, "rep": rep, "stream": False, "ok": 1000, "failed": 0,
           "aborted": 0, "throughput_rps": rps, "latency_us": {"p50": p50_us, "p99": 2000}, "watch": {}}
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
    # At least 0.9x: 0.95 is on the met side, 0.85 is not, and the verdict says so.
    assert bypass["repetitions_met"] == 1
    assert "| **met**; missed in 1 of 2 repetitions |" in printed
    assert "1 of 1 targets met; 1 verdict not shared by every repetition" in printed


def test_a_verdict_says_how_many_repetitions_fell_on_the_other_side_of_its_line(tmp_path):
    # CPU per request against nginx, at most 2x: 1.50x, 2.50x and 2.00x (on the line, which meets it), median 2.00x,
    # met with one repetition over the line. The control plane, at least 0.9x: 0.95x, 0.92x, 0.80x, median 0.92x,
    # met with one under it. Added latency at c=1, at most 100 us: 130, 90 and 140 us over direct, median 130 us,
    # missed with one repetition under it; the p99 line (300 us) is 0 us added in every repetition, met by all three.
    runs = []
    for rep, (gateway, nginx, redis_rps, gateway_p50) in enumerate(
            [(150, 100, 3800, 330), (250, 100, 3680, 290), (200, 100, 3200, 340)], start=1):
        runs += [load_run("nginx", "ns_c16", rep, 8000, nginx), load_run("gateway", "ns_c16", rep, 4000, gateway),
                 load_run("gateway_redis", "ns_c16", rep, redis_rps),
                 load_run("direct", "ns_c1", rep, 5000, p50_us=200),
                 load_run("gateway", "ns_c1", rep, 3000, p50_us=gateway_p50)]
    document, printed = report(tmp_path, runs)

    cpu = target(document, "gateway CPU per non-streaming request")
    assert cpu["met"] is True and cpu["repetitions_met"] == 2
    assert "per repetition 1.50×, 2.50×, 2.00×; ratio of the medians 2.00×) | **met**; missed in 1 of 3 repetitions |" \
        in printed
    bypass = target(document, "rate limiting and cache on")
    assert [round(r, 2) for r in bypass["repetitions"]] == [0.95, 0.92, 0.8]
    assert bypass["met"] is True and bypass["repetitions_met"] == 2
    p50 = target(document, "added latency at concurrency 1, p50")
    assert p50["repetitions"] == [130, 90, 140] and p50["value"] == 130
    assert p50["met"] is False and p50["repetitions_met"] == 1
    assert "per repetition 130 µs, 90 µs, 140 µs) | **missed**; met in 1 of 3 repetitions |" in printed
    p99 = target(document, "added latency at concurrency 1, p99")
    assert p99["met"] is True and p99["repetitions_met"] == 3
    assert "per repetition 0 µs, 0 µs, 0 µs) | **met** |" in printed
    assert "targets met; 3 verdicts not shared by every repetition" in printed


def test_without_pairs_a_ratio_target_falls_back_to_the_ratio_of_the_medians(tmp_path):
    # nginx ran in repetitions 1 and 2 only, the gateway in 3 only (as when runs failed): no pair, so the target is
    # the ratio of the arms' medians, 300 / 100.
    runs = [load_run("nginx", "ns_c16", 1, 8000, 80), load_run("nginx", "ns_c16", 2, 8000, 120),
            load_run("gateway", "ns_c16", 3, 4000, 300)]
    document, _ = report(tmp_path, runs)

    cpu = target(document, "gateway CPU per non-streaming request")
    assert cpu["repetitions"] == [] and cpu["value"] == 3.0 and cpu["met"] is False
    assert cpu["shown"] == "3.00×"


def test_a_ratio_beside_its_line_is_shown_with_the_decimals_that_place_it(tmp_path):
    # The control plane, at least 0.9x: 0.897x, 0.95x and 0.85x, median 0.897x, missed; with two decimals 0.897 would
    # read 0.90x, on the line, beside "missed". CPU per request, at most 2x: 2.004x, 1.5x, 2.5x, median 2.004x,
    # missed, which two decimals would show as 2.00x. Figures away from their line keep two decimals.
    runs = []
    for rep, (redis_rps, gateway_cpu) in enumerate([(897, 200.4), (950, 150), (850, 250)], start=1):
        runs += [load_run("gateway", "ns_c16", rep, 1000, gateway_cpu),
                 load_run("gateway_redis", "ns_c16", rep, redis_rps), load_run("nginx", "ns_c16", rep, 8000, 100)]
    document, printed = report(tmp_path, runs)

    bypass = target(document, "rate limiting and cache on")
    assert bypass["met"] is False
    assert bypass["shown"].startswith("0.897× (per repetition 0.897×, 0.95×, 0.85×; ratio of the medians 0.897×)")
    cpu = target(document, "gateway CPU per non-streaming request")
    assert cpu["met"] is False
    assert cpu["shown"] == "2.004× (per repetition 2.004×, 1.50×, 2.50×; ratio of the medians 2.004×)"
