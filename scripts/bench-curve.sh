#!/usr/bin/env bash
# CPU per request round trip at every load: the gateway against a direct ZeroMQ client, measured in the same run.
# For each point (kernels × clients × inflight) it runs `gateway-bench load` through this gateway (echo-kernel,
# kernel_info) and `gateway-bench load --direct` (the same number of echo-kernels and clients, ZeroMQ straight to
# the kernels, no gateway), then writes the curve into BENCHMARKS.md between the bench-curve markers. Every process
# it starts is stopped by PID at the end (also on failure).
#
# Usage: scripts/bench-curve.sh [--quick]     (also: make bench-curve)
#   --quick       1 s per point (smoke test of the script; figures not written to BENCHMARKS.md)
#   SECONDS_PER_POINT=N   measured seconds per point and side (default 5; 1 s warm-up before each)
#   ROUNDS=N      times every point is measured, gateway and direct alternating (default 3); the table shows
#                 the median of each figure, so one disturbed run does not decide a ratio
#   MSG=execute   the request (default kernel_info)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PATH=/opt/swift/usr/bin:$PATH
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
S=${SECONDS_PER_POINT:-5}
ROUNDS=${ROUNDS:-3}
[ $QUICK = 1 ] && S=1 && ROUNDS=1
MSG=${MSG:-kernel_info}

scripts/setup.sh >/dev/null
swift build -c release
BIN=$REPO/.build/release
BENCH=$BIN/gateway-bench
export PATH=$BIN:$PATH   # the echo kernelspec runs `echo-kernel`

WORK=$(mktemp -d /tmp/bench-curve.XXXXXX)
RESULTS=$WORK/results.jsonl
: > "$RESULTS"
TOKEN=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
# shellcheck source=scripts/bench-servers.sh
. "$(dirname "$0")/bench-servers.sh"
cleanup() { stop_server_process; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
"$BIN/kernel-gateway" --ip 127.0.0.1 --port "$PORT" --port-retries 0 --token "$TOKEN" \
  --kernelspec-dir "$REPO/kernelspecs" --runtime-dir "$WORK/rt" --log-level warning >"$WORK/gateway.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $TOKEN" "$URL/api/kernelspecs" || true)" = 200 ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/gateway.log" >&2; exit 1; }
  sleep 0.1
done

BEGAN=$(date +%s)
# (clients, inflight); kernels = min(clients, 8), as an interactive user has one kernel per notebook.
for round in $(seq 1 "$ROUNDS"); do
for point in "1 1" "2 1" "8 1" "64 1" "1 4" "2 4" "8 4" "64 4"; do
  read -r clients inflight <<<"$point"
  kernels=$(( clients < 8 ? clients : 8 ))
  echo "bench-curve: round $round, $kernels kernel(s) × $clients client(s) × inflight $inflight" >&2
  for side in gateway direct; do
    if [ $side = gateway ]; then
      out=$("$BENCH" load --url "$URL" --token "$TOKEN" --kernel echo --server-pid "$SERVER_PID" --msg "$MSG" \
              --kernels "$kernels" --clients "$clients" --inflight "$inflight" --seconds "$S" --json 2>>"$WORK/bench.err" || true)
    else
      out=$("$BENCH" load --direct --echo-kernel "$BIN/echo-kernel" --msg "$MSG" \
              --kernels "$kernels" --clients "$clients" --inflight "$inflight" --seconds "$S" --json 2>>"$WORK/bench.err" || true)
    fi
    [ -n "$out" ] || out='{"errors":1,"error_sample":"gateway-bench produced no output"}'
    printf '{"side":"%s","round":%d,"kernels":%d,"clients":%d,"inflight":%d,"result":%s}\n' \
      "$side" "$round" "$kernels" "$clients" "$inflight" "$out" >>"$RESULTS"
  done
done
done
ELAPSED=$(( $(date +%s) - BEGAN ))
stop_server_process

COMMAND="scripts/bench-curve.sh${1:+ $1}"
[ "$MSG" = kernel_info ] || COMMAND="MSG=$MSG $COMMAND"
[ "$S" = 5 ] || [ $QUICK = 1 ] || COMMAND="SECONDS_PER_POINT=$S $COMMAND"
[ "$ROUNDS" = 3 ] || [ $QUICK = 1 ] || COMMAND="ROUNDS=$ROUNDS $COMMAND"
cp "$RESULTS" "$REPO/.build/bench-curve-results.jsonl"
.venv/bin/python - "$RESULTS" "$COMMAND" "$ELAPSED" "$QUICK" "$REPO/BENCHMARKS.md" <<'PY'
# Turns the JSON lines into the BENCHMARKS.md section between the bench-curve markers.
import datetime, json, os, statistics, subprocess, sys

results_path, command, elapsed, quick, bench_md = sys.argv[1:6]
rows = [json.loads(l) for l in open(results_path) if l.strip()]
points = []
for r in rows:
    key = (r["kernels"], r["clients"], r["inflight"])
    if key not in points:
        points.append(key)
runs = {}
for r in rows:
    runs.setdefault((r["side"], r["kernels"], r["clients"], r["inflight"]), []).append(r["result"] or {})

def per_request(result, cpu_key):
    requests, cpu = result.get("requests"), result.get(cpu_key)
    if not requests or cpu is None:
        return None
    return cpu / requests * 1e6

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def summary(side, point):
    """Median of each figure over the rounds, and the errors summed."""
    results = runs.get((side,) + point, [])
    cpu_key = "server_cpu_s" if side == "gateway" else "client_cpu_s"
    return {
        "requests_per_s": median([r.get("requests_per_s") for r in results]),
        "p50": median([(r.get("latency_us") or {}).get("p50") for r in results]),
        "cpu": median([per_request(r, cpu_key) for r in results]),
        "per_msg": median([r.get("server_cpu_us_per_msg") for r in results]),
        "errors": sum(int(r.get("errors", 0) or 0) for r in results),
        "rounds": len(results),
    }

def f(v, fmt="{:.1f}"):
    return "–" if v is None else fmt.format(v)

lines = ["| kernels × clients × inflight | gateway req/s | gateway p50 (µs) | gateway CPU per round trip (µs) "
         "| gateway CPU per bridged msg (µs) | direct req/s | direct p50 (µs) | direct client CPU per round trip (µs) "
         "| gateway / direct CPU | errors |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for point in points:
    g, d = summary("gateway", point), summary("direct", point)
    ratio = g["cpu"] / d["cpu"] if g["cpu"] and d["cpu"] else None
    k, c, i = point
    lines.append(f"| {k} × {c} × {i} | {f(g['requests_per_s'], '{:.0f}')} | {f(g['p50'], '{:.0f}')} "
                 f"| {f(g['cpu'])} | {f(g['per_msg'], '{:.2f}')} | {f(d['requests_per_s'], '{:.0f}')} "
                 f"| {f(d['p50'], '{:.0f}')} | {f(d['cpu'])} | {f(ratio, '{:.2f}')} | {g['errors'] + d['errors']} |")
rounds = max((len(v) for v in runs.values()), default=0)

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
load = open("/proc/loadavg").read().split()[:3]
out = ["<!-- bench-curve:begin (generated by scripts/bench-curve.sh; do not edit by hand) -->", "",
       f"Recorded {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with `{command}` "
       f"(points took {elapsed} s) on `{cpu}`, nproc = {sh('nproc')}, load average at the end {' '.join(load)}. "
       f"Every figure is the median of {rounds} run(s) per point.",
       ""]
out.extend(lines)
out += ["", "<details><summary>Raw results (one JSON object per run)</summary>", "", "```json"]
out.extend(json.dumps(r, separators=(",", ":")) for r in rows)
out += ["```", "", "</details>", "", "<!-- bench-curve:end -->"]
section = "\n".join(out)
if quick == "1":
    print(section)
    sys.exit(0)
text = open(bench_md).read()
begin, end = "<!-- bench-curve:begin", "<!-- bench-curve:end -->"
if begin in text and end in text:
    text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n## 5. CPU per request at every load (`scripts/bench-curve.sh`)\n\n" + section + "\n"
open(bench_md, "w").write(text)
print(f"bench-curve: wrote {bench_md}")
PY
