#!/usr/bin/env python3
"""Aggregates one scripts/bench.sh run: medians over repetitions, ratios between arms (also repetition by repetition:
a target on a ratio is judged on the median of those pairs), the issue's targets (each verdict with how many of its
repetitions fell on the other side of the line, when any did).

Reads the JSON lines gateway-bench printed, writes Benchmarks/results/<timestamp>.json (raw runs + summary)
and prints the Markdown report on stdout. Standard library only.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

# `baseline` (optional, BASELINE_BIN) is another gateway binary, say from before an optimisation; `gateway_redis` is
# the gateway binary with rate limiting and the cache on in Redis, measured only beside `gateway` (ns_c16, ns_miss).
ARMS = ["direct", "nginx", "baseline", "gateway", "gateway_redis", "litellm"]
PACING_MS = {"st100": 20.0, "st500": 20.0, "st_cerebras": 0.33, "st_tools": 0.33, "slow2000": 250.0}
SLOW_STREAMS = 2000


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0, unit=""):
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if abs(value) >= 100 or digits == 0:
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.{digits}f}"
    return text + unit


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "–"
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def fmt_reps(values, one=None):
    """Values of the repetitions in order, for a report line: "3.51×, 3.72×, 4.10×"."""
    one = one or fmt_ratio
    return ", ".join(one(v) for v in values) if values else "–"


def meets(value, limit, at_most):
    """Whether `value` is on the target's side of `limit` (at most or at least it). Judged at a millionth: a median of
    two pairs can land a rounding error beside the line it is on."""
    judged = round(value, 6)
    return judged <= limit if at_most else judged >= limit


def fmt_ratio_against(r, limit, at_most):
    """`fmt_ratio`, with as many more decimals as it takes (up to six) for the figure shown to fall on the side of a
    target's `limit` that `r` itself falls on: against at least 0.6×, 0.597 reads 0.597×, not 0.60×."""
    text = fmt_ratio(r)
    if r is None or r >= 10:
        return text
    side = meets(r, limit, at_most)
    digits = 2
    while digits < 6 and meets(round(r, digits), limit, at_most) != side:
        digits += 1
        text = f"{r:.{digits}f}×"
    return text


def repetitions_met(values, limit, at_most):
    """How many of the repetitions' figures are on the target's side of `limit`, judged as the target is (`meets`);
    None without figures."""
    if not values:
        return None
    return sum(1 for v in values if v is not None and meets(v, limit, at_most))


def repetitions_against(t):
    """How many of a target's repetitions fell on the other side of its line from its verdict, and how many it has;
    None when it was not judged or has no figures per repetition."""
    met, total = t.get("repetitions_met"), len([v for v in t.get("repetitions") or [] if v is not None])
    if t["met"] is None or met is None or total == 0:
        return None
    return (total - met if t["met"] else met), total


def verdict(t):
    """The "met" column of a target: met or missed, and when its repetitions did not all agree, how many fell on
    the other side of the line (a verdict the host's noise can turn from one run to the next)."""
    if t["met"] is None:
        return "–"
    text = "**met**" if t["met"] else "**missed**"
    against = repetitions_against(t)
    if against is None or against[0] == 0:
        return text
    return f"{text}; {'missed' if t['met'] else 'met'} in {against[0]} of {against[1]} repetitions"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def machine_info(args):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "swift": sh("swift --version 2>&1 | head -1"),
        "nginx": sh("nginx -v 2>&1"),
        "litellm": args.litellm_version,
        "python": platform.python_version(),
        "gateway_commit": sh("git rev-parse --short HEAD"),
        "baseline_bin": args.baseline_bin,
        "gateway_mode": args.mode,
        "fake_threads": args.fake_threads,
        "generator_threads": args.gen_threads,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", required=True)
    parser.add_argument("--notes")
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", default="scripts/bench.sh")
    parser.add_argument("--mode", default="master")
    parser.add_argument("--quick", default="0")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--elapsed", type=int, default=0)
    parser.add_argument("--gateway-bin", default="")
    parser.add_argument("--baseline-bin", default="")
    parser.add_argument("--litellm-version", default="")
    parser.add_argument("--fake-threads", default="1")
    parser.add_argument("--gen-threads", default="1")
    args = parser.parse_args()

    runs = []
    with open(args.runs) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    notes = []
    if args.notes and os.path.exists(args.notes):
        with open(args.notes) as f:
            notes = [l.strip() for l in f if l.strip()]

    loads = [r for r in runs if r.get("kind") == "load"]
    translate = next((r for r in runs if r.get("kind") == "translate"), None)
    idle = {r["arm"]: r for r in runs if r.get("kind") == "rss" and r.get("phase") == "idle"}
    after = {r["arm"]: r for r in runs if r.get("kind") == "rss" and r.get("phase") == "after"}
    settled = {r["arm"]: r for r in runs if r.get("kind") == "rss" and r.get("phase") == "settled"}
    arms = [a for a in ARMS if any(r["arm"] == a for r in loads) or a in idle]

    def runs_of(scenario, arm):
        return [r for r in loads if r["label"] == scenario and r["arm"] == arm]

    def metric(scenario, arm, fn):
        values = []
        for r in runs_of(scenario, arm):
            try:
                values.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                pass
        return med(values)

    def per_rep(scenario, arm, fn):
        """`fn` of each of the arm's repetitions of the scenario, by repetition number."""
        values = {}
        for r in runs_of(scenario, arm):
            try:
                values[r["rep"]] = fn(r)
            except (KeyError, TypeError, ZeroDivisionError):
                pass
        return values

    def rep_values(scenario, arm, fn):
        """`fn` of each of the arm's repetitions, in repetition order."""
        values = per_rep(scenario, arm, fn)
        return [values[rep] for rep in sorted(values)]

    def rep_deltas(scenario, arm, fn):
        """arm − direct in each repetition, in repetition order; each pair measured back to back."""
        mine, direct = per_rep(scenario, arm, fn), per_rep(scenario, "direct", fn)
        return [mine[rep] - direct[rep] for rep in sorted(mine) if rep in direct]

    def per_rep_delta(scenario, arm, fn):
        """Median over repetitions of arm − direct."""
        return med(rep_deltas(scenario, arm, fn))

    def paired_ratios(scenario, arm, other, fn):
        """arm ÷ other in each repetition both ran, in repetition order. The two ran in the same repetition, a few
        minutes apart at most, so a spell of the host's that slowed one repetition slows both sides of its pair;
        how far the pairs spread is how far the run can be trusted (an arm against a copy of itself: the noise)."""
        mine, theirs = per_rep(scenario, arm, fn), per_rep(scenario, other, fn)
        pairs = [ratio(mine[rep], theirs[rep]) for rep in sorted(mine) if rep in theirs]
        return [r for r in pairs if r is not None]

    sut_cpu_req = lambda r: r["watch"]["sut"]["cpu_ms_per_1k_requests"]
    sut_cpu_chunk = lambda r: r["watch"]["sut"]["cpu_ms_per_100k_chunks"]
    fake_cpu_req = lambda r: r["watch"]["fake"]["cpu_ms_per_1k_requests"]
    redis_cpu_req = lambda r: r["watch"]["redis"]["cpu_ms_per_1k_requests"]
    fake_cpu_chunk = lambda r: r["watch"]["fake"]["cpu_ms_per_100k_chunks"]

    def rss_per_stream(r):
        # Only for a proxy that carried the streams (the direct arm has none; an arm that relayed none has no figure).
        sut = r["watch"]["sut"]
        if r["ok"] == 0:
            raise KeyError("no stream completed")
        return (sut["rss_peak_kib"] - sut["rss_before_kib"]) / max(1, r["connections"])

    def max_stall_ms(r):
        return r["max_gap_per_stream_us"]["max"] / 1000

    def fidelity(r):
        f = r.get("fidelity", {})
        return 1.0 if f.get("ok") and r["aborted"] == 0 and r["failed"] == 0 else 0.0

    summary = {}
    for arm in arms:
        s = {}
        s["ns_c1_p50_us"] = metric("ns_c1", arm, lambda r: r["latency_us"]["p50"])
        s["ns_c1_p99_us"] = metric("ns_c1", arm, lambda r: r["latency_us"]["p99"])
        s["ns_c1_added_p50_us"] = per_rep_delta("ns_c1", arm, lambda r: r["latency_us"]["p50"])
        s["ns_c1_added_p99_us"] = per_rep_delta("ns_c1", arm, lambda r: r["latency_us"]["p99"])
        s["ns_c16_rps"] = metric("ns_c16", arm, lambda r: r["throughput_rps"])
        s["ns_c16_p50_us"] = metric("ns_c16", arm, lambda r: r["latency_us"]["p50"])
        s["ns_c16_p99_us"] = metric("ns_c16", arm, lambda r: r["latency_us"]["p99"])
        s["ns_c16_added_p50_us"] = per_rep_delta("ns_c16", arm, lambda r: r["latency_us"]["p50"])
        s["ns_c16_added_p99_us"] = per_rep_delta("ns_c16", arm, lambda r: r["latency_us"]["p99"])
        s["cpu_ms_per_1k_requests"] = metric("ns_c16", arm, sut_cpu_req)
        s["fake_cpu_ms_per_1k_requests"] = metric("ns_c16", arm, fake_cpu_req)
        s["redis_cpu_ms_per_1k_requests"] = metric("ns_c16", arm, redis_cpu_req)
        s["ns_miss_rps"] = metric("ns_miss", arm, lambda r: r["throughput_rps"])
        s["ns_miss_p99_us"] = metric("ns_miss", arm, lambda r: r["latency_us"]["p99"])
        s["ns_miss_cpu_ms_per_1k_requests"] = metric("ns_miss", arm, sut_cpu_req)
        s["ns_miss_redis_cpu_ms_per_1k_requests"] = metric("ns_miss", arm, redis_cpu_req)
        s["cc_c4_rps"] = metric("cc_c4", arm, lambda r: r["throughput_rps"])
        s["cc_c4_p50_us"] = metric("cc_c4", arm, lambda r: r["latency_us"]["p50"])
        s["cc_c4_added_p50_us"] = per_rep_delta("cc_c4", arm, lambda r: r["latency_us"]["p50"])
        s["cc_c4_cpu_ms_per_1k_requests"] = metric("cc_c4", arm, sut_cpu_req)
        s["rate_p99_10ms_rps"] = metric("ns_rate", arm, lambda r: r["best_rate_rps"])
        s["saturated_rps"] = metric("ns_rate", arm, lambda r: r["saturated_rps"])
        for sc in ("st100", "st500", "st_cerebras", "st_tools", "slow2000"):
            s[f"{sc}_ttft_p50_us"] = metric(sc, arm, lambda r: r["ttft_us"]["p50"])
            s[f"{sc}_ttft_p99_us"] = metric(sc, arm, lambda r: r["ttft_us"]["p99"])
            s[f"{sc}_added_ttft_p99_us"] = per_rep_delta(sc, arm, lambda r: r["ttft_us"]["p99"])
            s[f"{sc}_gap_p50_us"] = metric(sc, arm, lambda r: r["gap_us"]["p50"])
            s[f"{sc}_gap_p99_us"] = metric(sc, arm, lambda r: r["gap_us"]["p99"])
            s[f"{sc}_max_stall_ms"] = metric(sc, arm, max_stall_ms)
            s[f"{sc}_chunks_per_s"] = metric(sc, arm, lambda r: r["chunks_per_s"])
            s[f"{sc}_cpu_ms_per_100k_chunks"] = metric(sc, arm, sut_cpu_chunk)
            s[f"{sc}_fake_cpu_ms_per_100k_chunks"] = metric(sc, arm, fake_cpu_chunk)
            s[f"{sc}_fidelity"] = metric(sc, arm, fidelity)
            s[f"{sc}_failed"] = metric(sc, arm, lambda r: r["failed"] + r["aborted"])
        s["slow2000_rss_kib_per_stream"] = metric("slow2000", arm, rss_per_stream)
        s["slow2000_peak_rss_kib"] = metric("slow2000", arm, lambda r: r["watch"]["sut"]["rss_peak_kib"])
        s["slow2000_ok"] = metric("slow2000", arm, lambda r: r["ok"])
        s["idle_rss_kib"] = idle.get(arm, {}).get("trees", [{}])[0].get("rss_kib")
        s["idle_pss_kib"] = idle.get(arm, {}).get("trees", [{}])[0].get("pss_kib")
        s["idle_processes"] = len(idle.get(arm, {}).get("trees", [{}])[0].get("processes", []))
        s["after_rss_kib"] = after.get(arm, {}).get("trees", [{}])[0].get("rss_kib")
        s["settled_rss_kib"] = settled.get(arm, {}).get("trees", [{}])[0].get("rss_kib")
        s["foreign_cpu_s_median"] = metric("ns_c16", arm, lambda r: r["foreign_cpu_s"])
        summary[arm] = s

    g = summary.get("gateway", {})
    n = summary.get("nginx", {})
    l = summary.get("litellm", {})
    d = summary.get("direct", {})
    b = summary.get("baseline")
    gr = summary.get("gateway_redis", {})

    # The fake's own ceiling: what the generator gets from it with nothing in between.
    ceiling = {
        "ns_c16_rps": d.get("ns_c16_rps"),
        "saturated_rps": d.get("saturated_rps"),
        "rate_p99_10ms_rps": d.get("rate_p99_10ms_rps"),
        "st_cerebras_chunks_per_s": d.get("st_cerebras_chunks_per_s"),
        "st_tools_chunks_per_s": d.get("st_tools_chunks_per_s"),
        "cc_c4_rps": d.get("cc_c4_rps"),
    }
    flags = []
    for arm in arms:
        if arm == "direct":
            continue
        for key in ceiling:
            v, c = summary[arm].get(key), ceiling[key]
            if v is not None and c and v >= 0.9 * c:
                flags.append(f"{arm} {key} = {fmt(v)} is at or above 90% of the fake's own ceiling ({fmt(c)}, "
                             "direct): this figure may measure the fake and the generator rather than the arm")

    # The gateway against each other arm, repetition by repetition (`paired_ratios`).
    rps = lambda r: r["throughput_rps"]
    paired_metrics = [
        ("CPU per non-streaming request (c=16)", "ns_c16", sut_cpu_req),
        ("non-streaming req/s (c=16)", "ns_c16", rps),
        ("req/s at p99 ≤ 10 ms (open loop)", "ns_rate", lambda r: r["best_rate_rps"]),
        ("Claude Code's request (c=4): CPU per request", "cc_c4", sut_cpu_req),
        ("100 streams @20 ms: CPU per chunk", "st100", sut_cpu_chunk),
        ("500 streams @20 ms: CPU per chunk", "st500", sut_cpu_chunk),
        ("100 streams @0.33 ms: CPU per chunk", "st_cerebras", sut_cpu_chunk),
        ("100 streams @0.33 ms: chunks/s", "st_cerebras", lambda r: r["chunks_per_s"]),
        ("100 tool-call streams @0.33 ms: CPU per chunk", "st_tools", sut_cpu_chunk),
        ("100 tool-call streams @0.33 ms: chunks/s", "st_tools", lambda r: r["chunks_per_s"]),
    ]
    paired_against = [a for a in ("nginx", "baseline") if a in arms and "gateway" in arms]
    paired = {label: {other: paired_ratios(scenario, "gateway", other, fn) for other in paired_against}
              for label, scenario, fn in paired_metrics}
    # The control plane on against off: the gateway with Redis ÷ the gateway, in each repetition.
    control_plane_pairs = {key: paired_ratios(scenario, "gateway_redis", "gateway", rps)
                           for key, scenario in (("ns_c16_rps", "ns_c16"), ("ns_miss_rps", "ns_miss"))}

    def target(name, value, limit, ok, shown, repetitions=None, one=None, at_most=True):
        """A target's line; `repetitions`, the figure in each repetition (judged against `limit` as the target is:
        at most or at least), is added to what is shown."""
        if repetitions:
            each = f"per repetition {fmt_reps(repetitions, one)}"
            shown = shown[:-1] + f"; {each})" if shown.endswith(")") else shown + f" ({each})"
        return {"target": name, "value": value, "limit": limit, "met": ok, "shown": shown,
                "repetitions": repetitions or [], "repetitions_met": repetitions_met(repetitions, limit, at_most)}

    def ratio_target(name, limit, at_most, pairs, of_medians, detail=""):
        """A target on a ratio between two arms. Judged on the median of the repetitions' pairs, each measured in the
        same repetition (a spell of the host's that slowed a repetition slows both sides of its pair), as the added
        latencies are; on the ratio of the arms' medians when no repetition has both. Both are shown."""
        value = med(pairs) if pairs else of_medians
        judged = lambda r: fmt_ratio_against(r, limit, at_most)
        shown = judged(value)
        if pairs:
            shown += f" (per repetition {fmt_reps(pairs, judged)}; ratio of the medians {judged(of_medians)})"
        ok = None if value is None else meets(value, limit, at_most)
        return {"target": name, "value": value, "limit": limit, "met": ok, "shown": shown + detail,
                "repetitions": pairs, "repetitions_met": repetitions_met(pairs, limit, at_most)}

    against_nginx = lambda label: paired[label].get("nginx", [])
    microseconds = lambda v: fmt(v, 0, " µs")
    targets = [
        ratio_target("gateway CPU per non-streaming request ≤ 2× nginx's", 2.0, True,
                     against_nginx("CPU per non-streaming request (c=16)"),
                     ratio(g.get("cpu_ms_per_1k_requests"), n.get("cpu_ms_per_1k_requests"))),
        ratio_target("throughput at p99 ≤ 10 ms ≥ 0.6× nginx's", 0.6, False,
                     against_nginx("req/s at p99 ≤ 10 ms (open loop)"),
                     ratio(g.get("rate_p99_10ms_rps"), n.get("rate_p99_10ms_rps"))),
    ]
    r = ratio(g.get("rate_p99_10ms_rps"), l.get("rate_p99_10ms_rps"))
    if l.get("rate_p99_10ms_rps") == 0 and g.get("rate_p99_10ms_rps"):
        targets.append(target("throughput at p99 ≤ 10 ms ≥ 100× LiteLLM's", None, 100.0, True,
                              "LiteLLM never met p99 ≤ 10 ms (0 req/s)"))
    else:
        targets.append(target("throughput at p99 ≤ 10 ms ≥ 100× LiteLLM's", r, 100.0,
                              None if r is None else r >= 100, fmt_ratio(r)))
    v = g.get("ns_c1_added_p50_us")
    targets.append(target("added latency at concurrency 1, p50 ≤ 100 µs", v, 100, None if v is None else v <= 100,
                          fmt(v, 0, " µs"), rep_deltas("ns_c1", "gateway", lambda r: r["latency_us"]["p50"]),
                          microseconds))
    v = g.get("ns_c1_added_p99_us")
    targets.append(target("added latency at concurrency 1, p99 ≤ 300 µs", v, 300, None if v is None else v <= 300,
                          fmt(v, 0, " µs"), rep_deltas("ns_c1", "gateway", lambda r: r["latency_us"]["p99"]),
                          microseconds))
    targets.append(ratio_target("streaming CPU per chunk ≤ 2× nginx's (100 streams, 20 ms pacing)", 2.0, True,
                                against_nginx("100 streams @20 ms: CPU per chunk"),
                                ratio(g.get("st100_cpu_ms_per_100k_chunks"), n.get("st100_cpu_ms_per_100k_chunks"))))
    targets.append(ratio_target("streaming CPU per chunk ≤ 2× nginx's (Cerebras pacing)", 2.0, True,
                                against_nginx("100 streams @0.33 ms: CPU per chunk"),
                                ratio(g.get("st_cerebras_cpu_ms_per_100k_chunks"),
                                      n.get("st_cerebras_cpu_ms_per_100k_chunks"))))
    r = ratio(g.get("st_tools_cpu_ms_per_100k_chunks"), n.get("st_tools_cpu_ms_per_100k_chunks"))
    if r is not None:
        targets.append(ratio_target("the same, the tokens as a tool call's arguments (an agent writing a file)", 2.0,
                                    True, against_nginx("100 tool-call streams @0.33 ms: CPU per chunk"), r))
    v = g.get("st500_added_ttft_p99_us")
    targets.append(target("500 streams: TTFT p99 ≤ 5 ms (added over direct)", v, 5000,
                          None if v is None else v <= 5000,
                          f"{fmt(v, 0, ' µs')} added (absolute {fmt(g.get('st500_ttft_p99_us'), 0, ' µs')}, "
                          f"direct {fmt(d.get('st500_ttft_p99_us'), 0, ' µs')})",
                          rep_deltas("st500", "gateway", lambda r: r["ttft_us"]["p99"]), microseconds))
    v = g.get("st500_gap_p99_us")
    targets.append(target("500 streams: gap p99 ≤ 1.1× pacing (22 ms)", v, 22000,
                          None if v is None else v <= 22000,
                          f"{fmt(v, 0, ' µs')} (direct {fmt(d.get('st500_gap_p99_us'), 0, ' µs')})",
                          rep_values("st500", "gateway", lambda r: r["gap_us"]["p99"]), microseconds))
    v = g.get("st_cerebras_chunks_per_s")
    fid = g.get("st_cerebras_fidelity")
    targets.append(target("≥ 50,000 relayed chunks/s at Cerebras pacing, 100% fidelity", v, 50000,
                          None if v is None else (v >= 50000 and fid == 1.0),
                          f"{fmt(v)} chunks/s, fidelity {'100%' if fid == 1.0 else 'FAILED'} "
                          f"(direct {fmt(d.get('st_cerebras_chunks_per_s'))}/s)"))
    v = g.get("st_tools_chunks_per_s")
    fid = g.get("st_tools_fidelity")
    if v is not None:
        targets.append(target("the same, the tokens as a tool call's arguments", v, 50000,
                              v >= 50000 and fid == 1.0,
                              f"{fmt(v)} chunks/s, fidelity {'100%' if fid == 1.0 else 'FAILED'} "
                              f"(direct {fmt(d.get('st_tools_chunks_per_s'))}/s)"))
    v = g.get("slow2000_max_stall_ms")
    targets.append(target("2,000 slow streams: no stall > 10× pacing (2.5 s)", v, 2500,
                          None if v is None else (v <= 2500 and g.get("slow2000_failed") == 0),
                          f"max stall {fmt(v, 0, ' ms')}, {fmt(g.get('slow2000_ok'))} ok, "
                          f"{fmt(g.get('slow2000_failed'))} failed/aborted"))
    v = g.get("slow2000_rss_kib_per_stream")
    targets.append(target("2,000 slow streams: ≤ 64 KiB RSS per stream", v, 64,
                          None if v is None else v <= 64, fmt(v, 1, " KiB")))
    v = g.get("idle_rss_kib")
    pss = g.get("idle_pss_kib")
    targets.append(target("idle master + 2 workers ≤ 60 MB (sum of RSS)", v, 60 * 1000,
                          None if v is None else v * 1.024 <= 60 * 1000,
                          f"{fmt(v * 1.024 / 1000 if v else None, 1, ' MB')} RSS, "
                          f"{fmt(pss * 1.024 / 1000 if pss else None, 1, ' MB')} PSS "
                          f"({g.get('idle_processes')} processes)"))
    if translate:
        targets.append(target("translate: parse+validate+translate the Claude Code request ≤ 300 µs",
                              translate.get("request_us"), 300, translate.get("request_met"),
                              fmt(translate.get("request_us"), 1, " µs")))
        if translate.get("request_known_tools_us") is not None:
            targets.append(target("translate: the same, tools already in the worker's memo (a later turn) ≤ 300 µs",
                                  translate.get("request_known_tools_us"), 300, translate.get("request_known_tools_met"),
                                  fmt(translate.get("request_known_tools_us"), 1, " µs")))
        targets.append(target("translate: per upstream chunk incl. SSE encoding ≤ 3 µs", translate.get("chunk_us"), 3,
                              translate.get("chunk_met"), fmt(translate.get("chunk_us"), 2, " µs")))
        for key, name in (("think_chunk_us", "a reasoning chunk inside `<think>` tags (Qwen-style)"),
                          ("reasoning_chunk_us", "a reasoning chunk in its own field (GLM, gpt-oss)"),
                          ("tool_chunk_us", "a fragment of a tool call's arguments"),
                          ("code_chunk_us", "the same fragment as code (a newline, quotes: five escapes)")):
            if translate.get(key) is not None:
                us = translate[key]
                targets.append(target(f"translate: the same, {name} ≤ 3 µs", us, 3, us <= 3, fmt(us, 2, " µs")))

    # Issue 7's control-plane target: the gateway with rate limiting and the cache in Redis against the same binary
    # without, both measured in each repetition of the scenario.
    for key, redis_key, name in (
            ("ns_c16_rps", "redis_cpu_ms_per_1k_requests",
             "rate limiting and cache on (Redis on loopback) ≥ 0.9× off: cache-bypassing requests (rate limiting "
             "alone), c=16"),
            ("ns_miss_rps", "ns_miss_redis_cpu_ms_per_1k_requests",
             "the same: cacheable requests that all miss (rate limiting, a cache lookup and a store each), c=16")):
        r = ratio(gr.get(key), g.get(key))
        if r is not None:
            targets.append(ratio_target(name, 0.9, False, control_plane_pairs[key], r,
                                        f"; medians {fmt(gr.get(key))} against {fmt(g.get(key))} req/s, redis-server "
                                        f"{fmt(gr.get(redis_key), 1)} ms of CPU per 1,000 requests on the same cores"))

    meta = machine_info(args)
    meta.update({"command": args.command, "quick": args.quick == "1", "repetitions": args.reps,
                 "elapsed_s": args.elapsed})
    document = {"meta": meta, "notes": notes, "summary": summary, "fake_ceiling": ceiling, "ceiling_flags": flags,
                "targets": targets, "paired_per_repetition": paired,
                "control_plane_per_repetition": control_plane_pairs, "translate": translate, "runs": runs}
    with open(args.out, "w") as f:
        json.dump(document, f, indent=1)

    # ------------------------------------------------------------------------------------------------ Markdown
    out = []
    p = out.append
    p(f"## Benchmark run ({'quick' if args.quick == '1' else 'full'}, {args.reps} repetition(s), "
      f"gateway mode `{args.mode}`, {args.elapsed} s)")
    p("")
    p(f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB; {meta['os']}; kernel "
      f"{meta['kernel']}; {meta['swift']}; {meta['nginx']}; LiteLLM {meta['litellm']} (Python {meta['python']}); "
      f"gateway {meta['gateway_commit']}"
      + (f"; baseline arm: `{meta['baseline_bin']}`." if b is not None else "."))
    p("")
    p("Medians over repetitions. Latencies in µs. `added` = arm − direct, measured back to back in the same "
      "repetition. CPU = utime+stime of the arm's whole process tree.")
    p("")
    compared = [n, l, d] + ([b] if b is not None else [])
    p("| metric | " + " | ".join(arms) + " | gateway/nginx | gateway/LiteLLM | gateway/direct |"
      + (" gateway/baseline |" if b is not None else ""))
    p("|---|" + "---|" * (len(arms) + len(compared)))

    rows = [
        ("non-stream c=1 p50", "ns_c1_p50_us", 0),
        ("non-stream c=1 p99", "ns_c1_p99_us", 0),
        ("non-stream c=1 added p50", "ns_c1_added_p50_us", 0),
        ("non-stream c=1 added p99", "ns_c1_added_p99_us", 0),
        ("non-stream c=16 req/s", "ns_c16_rps", 0),
        ("non-stream c=16 p50", "ns_c16_p50_us", 0),
        ("non-stream c=16 p99", "ns_c16_p99_us", 0),
        ("non-stream c=16 added p99", "ns_c16_added_p99_us", 0),
        ("CPU ms per 1,000 requests (arm)", "cpu_ms_per_1k_requests", 1),
        ("redis-server CPU ms per 1,000 requests (c=16)", "redis_cpu_ms_per_1k_requests", 1),
        ("cacheable, all misses, c=16: req/s", "ns_miss_rps", 0),
        ("cacheable, all misses, c=16: p99", "ns_miss_p99_us", 0),
        ("cacheable, all misses, c=16: CPU ms per 1,000 requests (arm)", "ns_miss_cpu_ms_per_1k_requests", 1),
        ("cacheable, all misses, c=16: redis-server CPU ms per 1,000 requests",
         "ns_miss_redis_cpu_ms_per_1k_requests", 1),
        ("req/s at p99 ≤ 10 ms (open loop)", "rate_p99_10ms_rps", 0),
        ("saturated req/s (closed, c=64)", "saturated_rps", 0),
        ("Claude Code's request, c=4: req/s", "cc_c4_rps", 0),
        ("Claude Code's request, c=4: p50", "cc_c4_p50_us", 0),
        ("Claude Code's request, c=4: added p50", "cc_c4_added_p50_us", 0),
        ("Claude Code's request, c=4: CPU ms per 1,000 requests (arm)", "cc_c4_cpu_ms_per_1k_requests", 1),
        ("100 streams @20 ms: TTFT p99", "st100_ttft_p99_us", 0),
        ("100 streams @20 ms: gap p50", "st100_gap_p50_us", 0),
        ("100 streams @20 ms: gap p99", "st100_gap_p99_us", 0),
        ("100 streams @20 ms: CPU ms / 100k chunks", "st100_cpu_ms_per_100k_chunks", 0),
        ("500 streams @20 ms: TTFT p50", "st500_ttft_p50_us", 0),
        ("500 streams @20 ms: TTFT p99", "st500_ttft_p99_us", 0),
        ("500 streams @20 ms: gap p99", "st500_gap_p99_us", 0),
        ("500 streams @20 ms: max stall ms", "st500_max_stall_ms", 1),
        ("500 streams @20 ms: CPU ms / 100k chunks", "st500_cpu_ms_per_100k_chunks", 0),
        ("100 streams @0.33 ms: chunks/s", "st_cerebras_chunks_per_s", 0),
        ("100 streams @0.33 ms: TTFT p99", "st_cerebras_ttft_p99_us", 0),
        ("100 streams @0.33 ms: gap p99", "st_cerebras_gap_p99_us", 0),
        ("100 streams @0.33 ms: CPU ms / 100k chunks", "st_cerebras_cpu_ms_per_100k_chunks", 0),
        ("100 streams @0.33 ms: fidelity (1 = all ok)", "st_cerebras_fidelity", 0),
        ("100 tool-call streams @0.33 ms: chunks/s", "st_tools_chunks_per_s", 0),
        ("100 tool-call streams @0.33 ms: TTFT p99", "st_tools_ttft_p99_us", 0),
        ("100 tool-call streams @0.33 ms: gap p99", "st_tools_gap_p99_us", 0),
        ("100 tool-call streams @0.33 ms: CPU ms / 100k chunks", "st_tools_cpu_ms_per_100k_chunks", 0),
        ("100 tool-call streams @0.33 ms: fidelity (1 = all ok)", "st_tools_fidelity", 0),
        ("2,000 streams @250 ms: ok", "slow2000_ok", 0),
        ("2,000 streams @250 ms: failed+aborted", "slow2000_failed", 0),
        ("2,000 streams @250 ms: max stall ms", "slow2000_max_stall_ms", 0),
        ("2,000 streams @250 ms: TTFT p99", "slow2000_ttft_p99_us", 0),
        ("2,000 streams @250 ms: RSS KiB per stream", "slow2000_rss_kib_per_stream", 1),
        ("2,000 streams @250 ms: peak RSS KiB (whole tree)", "slow2000_peak_rss_kib", 0),
        ("idle RSS KiB (whole tree)", "idle_rss_kib", 0),
        ("idle PSS KiB (whole tree, shared pages split)", "idle_pss_kib", 0),
        ("RSS KiB after the run", "after_rss_kib", 0),
        ("RSS KiB after the run, once quiet (BENCH_SETTLE_WAIT)", "settled_rss_kib", 0),
    ]
    for label, key, digits in rows:
        values = [summary[a].get(key) for a in arms]
        if all(v is None for v in values):
            continue
        cells = [fmt(v, digits) for v in values]
        gv = g.get(key)
        ratios = [fmt_ratio(ratio(gv, x.get(key))) if "added" not in key and "fidelity" not in key else "–"
                  for x in compared]
        p(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    p("")
    if paired_against and any(any(row.values()) for row in paired.values()):
        p("Per repetition, the gateway ÷ each other arm, each pair measured in the same repetition (how far the pairs "
          "spread is how far the medians above can be trusted; with `BASELINE_BIN` a copy of the gateway's own binary, "
          "the baseline column is the noise alone):")
        p("")
        p("| metric | " + " | ".join(f"gateway ÷ {other}" for other in paired_against) + " |")
        p("|---|" + "---|" * len(paired_against))
        for label, row in paired.items():
            if any(row.values()):
                p(f"| {label} | " + " | ".join(fmt_reps(row[other]) for other in paired_against) + " |")
        p("")
    if any(control_plane_pairs.values()):
        p("Per repetition, the control plane on ÷ off (gateway_redis ÷ gateway): cache-bypassing requests "
          f"{fmt_reps(control_plane_pairs['ns_c16_rps'])}; requests that all miss "
          f"{fmt_reps(control_plane_pairs['ns_miss_rps'])}.")
        p("")
    p("Fake's own ceiling (direct arm): "
      f"{fmt(ceiling['ns_c16_rps'])} req/s at c=16, {fmt(ceiling['saturated_rps'])} req/s saturated (c=64), "
      f"{fmt(ceiling['rate_p99_10ms_rps'])} req/s at p99 ≤ 10 ms, "
      f"{fmt(ceiling['st_cerebras_chunks_per_s'])} chunks/s at 0.33 ms pacing "
      f"({fmt(ceiling['st_tools_chunks_per_s'])} as a tool call's arguments). "
      "The generator, the fake and the arm share the same 2 cores.")
    p("")
    if flags:
        p("**Within 10% of the fake's ceiling (these measure the fake, not the arm):**")
        for f in flags:
            p(f"- {f}")
        p("")
    if translate:
        st = translate.get("request_stages_us", {})
        p(f"Translate microbenchmark (thread CPU time, median of {translate['repetitions']}): request "
          f"{translate['request_us']:.1f} µs ({translate['fixture_bytes']:,} B fixture; JSON parse "
          f"{st.get('json_parse', 0):.1f}, validate {st.get('validate_decode', 0):.1f}, translate "
          f"{st.get('translate', 0):.1f}, encode {st.get('encode_upstream', 0):.1f}); "
          f"{translate.get('request_known_tools_us', 0):.1f} µs with the tools known to the memo; per chunk "
          f"{translate['chunk_us']:.2f} µs"
          + (f" ({translate['think_chunk_us']:.2f} µs inside think tags)" if "think_chunk_us" in translate else "")
          + (f", {translate['reasoning_chunk_us']:.2f} µs a reasoning chunk" if "reasoning_chunk_us" in translate
             else "")
          + (f", {translate['tool_chunk_us']:.2f} µs a tool-argument fragment" if "tool_chunk_us" in translate
             else "")
          + (f", {translate['code_chunk_us']:.2f} µs one of code" if "code_chunk_us" in translate else "")
          + ".")
        if translate.get("conversation_turn_memo_us") is not None:
            p(f"A conversation continued for {translate['conversation_turns']} turns from the fixture: "
              f"{translate['conversation_turn_us']:.1f} µs per turn, {translate['conversation_turn_memo_us']:.1f} µs "
              f"with the conversation memo"
              + (f", {translate['conversation_turn_all_memos_us']:.1f} µs with the system prompt memo too."
                 if translate.get("conversation_turn_all_memos_us") is not None else "."))
        p("")
    p("| target | measured | met |")
    p("|---|---|---|")
    for t in targets:
        p(f"| {t['target']} | {t['shown']} | {verdict(t)} |")
    p("")
    judged = [t for t in targets if t["met"] is not None]
    split = [t for t in judged if (repetitions_against(t) or (0, 0))[0] > 0]
    p(f"{sum(1 for t in judged if t['met'])} of {len(judged)} targets met"
      + (f"; {len(split)} verdict{'s' if len(split) > 1 else ''} not shared by every repetition (the host's "
         f"noise can turn {'them' if len(split) > 1 else 'it'} from one run to the next)." if split else "."))
    p("")
    foreign = [summary[a].get("foreign_cpu_s_median") for a in arms]
    if any(v and v > 0.5 for v in foreign):
        p(f"Note: other processes used CPU during the runs (median foreign CPU-seconds per c=16 run: "
          + ", ".join(f"{a} {fmt(v, 2)}" for a, v in zip(arms, foreign)) + "); figures are noisier than on an idle box.")
        p("")
    if notes:
        p("Notes:")
        for note in notes:
            p(f"- {note}")
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
