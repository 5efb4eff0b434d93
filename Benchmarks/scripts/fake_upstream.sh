# Sourced by the benchmark scripts: a scratch directory, a list of processes stopped (by PID) on exit, and the fake
# upstream started on a free loopback port. Needs $bin (the directory holding fake-cerebras); sets $work, $pids,
# $fake_port.
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin/fake-cerebras" --port 0 --host 127.0.0.1 --threads 1 > "$work/fake.out" 2>/dev/null &
pids+=($!)
sleep 0.5
fake_port=$(awk '{print $2}' "$work/fake.out")
