#!/usr/bin/env bash
# End-to-end smoke test of a running gateway: one line per check, exit 1 on any deviation.
#
#   scripts/smoke_test.sh URL KEY          e.g. scripts/smoke_test.sh http://127.0.0.1:8080 my-team-key
#
# Works against a real deployment (it sends two tiny completions upstream). Environment:
#   SMOKE_MODEL            model requested (default claude-sonnet-4-5)
#   SMOKE_TIMEOUT          seconds allowed per request (default 60)
#   SMOKE_METRICS_WAIT     seconds to wait for the requests to show in /metrics (default 10: workers report to the
#                          master with their heartbeats)
# Needs bash, curl and python3 (JSON and event-stream checks).
set -uo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 URL KEY" >&2
    exit 2
fi
base="${1%/}"
key="$2"
model="${SMOKE_MODEL:-claude-sonnet-4-5}"
timeout="${SMOKE_TIMEOUT:-60}"
metrics_wait="${SMOKE_METRICS_WAIT:-10}"
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "smoke_test.sh: $tool is required" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# The checks, in Python: `check.py NAME STATUS BODY_FILE HEADERS_FILE` prints a one-line summary and exits 0, or
# prints what deviates and exits 1.
cat >"$work/check.py" <<'PY'
import json
import sys

name, status, body_file, head_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = open(body_file, encoding="utf-8", errors="replace").read()
headers = {}
for line in open(head_file, encoding="latin-1").read().splitlines():
    if ":" in line:
        key, value = line.split(":", 1)
        headers[key.strip().lower()] = value.strip()


def expect_status(expected, what):
    assert status == expected, f"{what} answered {status or 'nothing'}, expected {expected}: {body[:300]!r}"


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def health():
    expect_status(200, "GET /health")
    return "200"


def models():
    expect_status(200, "GET /v1/models")
    doc = json.loads(body)
    ids = [entry["id"] for entry in doc["data"]]
    assert ids, "no model listed"
    assert all(entry.get("type") == "model" for entry in doc["data"]), "an entry lacks type=model"
    assert "has_more" in doc, "has_more missing"
    return f"{len(ids)} models: {', '.join(ids[:3])}{', …' if len(ids) > 3 else ''}"


def message():
    expect_status(200, "POST /v1/messages")
    doc = json.loads(body)
    assert doc.get("type") == "message", f"type is {doc.get('type')!r}"
    assert doc.get("role") == "assistant", f"role is {doc.get('role')!r}"
    assert str(doc.get("id", "")).startswith("msg_"), f"id is {doc.get('id')!r}"
    text = "".join(block.get("text", "") for block in doc.get("content", []) if block.get("type") == "text")
    assert text.strip(), f"no text content: {doc.get('content')!r}"
    usage = doc.get("usage") or {}
    for field in ("input_tokens", "output_tokens"):
        assert is_int(usage.get(field)), f"usage.{field} is {usage.get(field)!r}"
    assert doc.get("stop_reason"), "no stop_reason"
    assert headers.get("request-id", "").startswith("req_"), f"request-id header is {headers.get('request-id')!r}"
    return f"{doc['stop_reason']}, {usage['input_tokens']} in / {usage['output_tokens']} out: {text[:40]!r}"


def stream():
    expect_status(200, "POST /v1/messages (stream)")
    content_type = headers.get("content-type", "")
    assert content_type.startswith("text/event-stream"), f"content-type is {content_type!r}"
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if event is None and not data:
            continue
        try:
            payload = json.loads("\n".join(data))
        except ValueError:
            raise AssertionError(f"event {event!r}: data does not parse: {data!r}")
        assert payload.get("type") == event, f"event {event!r} carries type {payload.get('type')!r}"
        events.append((event, payload))
    names = [event for event, _ in events if event != "ping"]
    errors = [payload for event, payload in events if event == "error"]
    assert not errors, f"error event: {errors[0]}"
    assert names and names[0] == "message_start", f"first event is {names[:1]}"
    assert names[-1] == "message_stop", f"last event is {names[-1:]} (truncated stream?)"
    assert names[-2] == "message_delta", f"event before message_stop is {names[-2:-1]}"
    open_index, next_index, text = None, 0, ""
    for event, payload in events:
        if event == "content_block_start":
            assert open_index is None, f"block {payload['index']} starts while block {open_index} is open"
            assert payload["index"] == next_index, f"block {payload['index']} starts, expected {next_index}"
            open_index = payload["index"]
        elif event == "content_block_delta":
            assert payload["index"] == open_index, f"delta for block {payload['index']}, open: {open_index}"
            text += payload["delta"].get("text", "")
        elif event == "content_block_stop":
            assert payload["index"] == open_index, f"stop for block {payload['index']}, open: {open_index}"
            open_index, next_index = None, next_index + 1
    assert open_index is None, f"block {open_index} was never stopped"
    assert text.strip(), "no text_delta"
    usage = [payload for event, payload in events if event == "message_delta"][-1].get("usage") or {}
    assert is_int(usage.get("output_tokens")), f"message_delta usage is {usage!r}"
    return f"{len(events)} events, {next_index} block(s), {usage['output_tokens']} tokens out: {text[:40]!r}"


def count_tokens():
    expect_status(200, "POST /v1/messages/count_tokens")
    count = json.loads(body).get("input_tokens")
    assert is_int(count) and count > 0, f"input_tokens is {count!r}"
    return f"input_tokens={count}"


def metrics():
    expect_status(200, "GET /metrics")
    series = [line for line in body.splitlines() if line.startswith("cerebras_gateway_requests_total")]
    assert series, "no cerebras_gateway_requests_total series"
    assert any('route="messages"' in line for line in series), 'no requests_total{route="messages"} series yet'
    families = {line.split()[2] for line in body.splitlines() if line.startswith("# TYPE ")}
    return f"{len(families)} metric families, {len(series)} requests_total series"


try:
    print(globals()[name]())
except AssertionError as error:
    print(error)
    sys.exit(1)
except Exception as error:  # malformed JSON, missing fields: a deviation too
    print(f"{type(error).__name__}: {error}; body: {body[:200]!r}")
    sys.exit(1)
PY

# request NAME METHOD PATH [BODY]: fetches into $work/NAME.{body,head} and prints the status (000: no answer).
request() {
    local name="$1" method="$2" path="$3" data="${4:-}"
    local args=(-sS -X "$method" -o "$work/$name.body" -D "$work/$name.head" -w '%{http_code}'
        --max-time "$timeout" -H "x-api-key: $key" -H "anthropic-version: 2023-06-01")
    [[ -n "$data" ]] && args+=(-H "content-type: application/json" --data-binary "$data")
    : >"$work/$name.body"
    : >"$work/$name.head"
    curl "${args[@]}" "$base$path" 2>"$work/$name.err" || true
}

# check NAME STATUS: runs the named check on the last response and prints its line.
check() {
    local name="$1" status="$2" out
    if out="$(python3 "$work/check.py" "$name" "${status:-0}" "$work/$name.body" "$work/$name.head" 2>&1)"; then
        printf 'ok    %-13s %s\n' "$name" "$out"
    else
        local err
        err="$(head -c 200 "$work/$name.err" 2>/dev/null)"
        printf 'FAIL  %-13s %s%s\n' "$name" "$out" "${err:+ ($err)}"
        failures=$((failures + 1))
    fi
}

json_request() {  # json_request STREAM(0|1)
    python3 -c 'import json, sys
print(json.dumps({"model": sys.argv[1], "max_tokens": 64, "stream": sys.argv[2] == "1",
                  "messages": [{"role": "user", "content": "Reply with one short sentence: say hello."}]}))' \
        "$model" "$1"
}

check health "$(request health GET /health)"

# Claude Code probes HEAD / before it starts.
status="$(curl -sS -o /dev/null -I -w '%{http_code}' --max-time "$timeout" "$base/" 2>/dev/null || true)"
if [[ "$status" == 200 ]]; then
    printf 'ok    %-13s %s\n' head-root 200
else
    printf 'FAIL  %-13s %s\n' head-root "HEAD / answered ${status:-nothing}, expected 200"
    failures=$((failures + 1))
fi

check models "$(request models GET /v1/models)"
check message "$(request message POST /v1/messages "$(json_request 0)")"
check stream "$(request stream POST /v1/messages "$(json_request 1)")"
check count_tokens "$(request count_tokens POST /v1/messages/count_tokens \
    "{\"model\": \"$model\", \"system\": \"You are terse.\", \"messages\": [{\"role\": \"user\", \"content\": \"Count these tokens, please.\"}]}")"

# The requests above appear in /metrics once their worker has reported to the master.
deadline=$((SECONDS + metrics_wait))
while :; do
    status="$(request metrics GET /metrics)"
    if [[ "$status" != 200 ]] || grep -q '^cerebras_gateway_requests_total{.*route="messages"' "$work/metrics.body"; then
        break
    fi
    ((SECONDS >= deadline)) && break
    sleep 0.5
done
check metrics "$status"

if ((failures)); then
    echo "smoke test FAILED: $failures check(s) against $base"
    exit 1
fi
echo "smoke test passed against $base"
