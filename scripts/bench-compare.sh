#!/usr/bin/env bash
# Runs the same load scenarios, with the same client (gateway-bench load), against this gateway, Jupyter Kernel
# Gateway 3.x and Jupyter Server 2.x, one after the other, on loopback, with the same echo-kernel kernelspec, and
# writes the results (machine, date, command, table with ratios vs. ours, raw JSON) into BENCHMARKS.md between
# the bench-compare markers. Every process it starts is stopped by PID at the end (also on failure).
#
# Usage: scripts/bench-compare.sh [--quick]     (also: make bench-compare)
#   --quick        shorter runs (smoke test of the script; figures not written to BENCHMARKS.md)
#   SERVERS="ours kg js"   subset of servers to run (default all three)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PATH=/opt/swift/usr/bin:$PATH
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
SERVERS=${SERVERS:-"ours kg js"}

scripts/setup.sh
if ! .venv/bin/python -c "import kernel_gateway" 2>/dev/null; then
  echo "bench-compare: installing jupyter_kernel_gateway into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check "jupyter_kernel_gateway>=3,<4"
fi
swift build -c release
BIN=$REPO/.build/release
BENCH=$BIN/gateway-bench
export PATH=$BIN:$PATH   # the kernelspec runs `echo-kernel`

WORK=$(mktemp -d /tmp/bench-compare.XXXXXX)
RESULTS=$WORK/results.jsonl
: > "$RESULTS"
# Jupyter finds kernelspecs under <path>/kernels/<name>; ours reads --kernelspec-dir directly.
mkdir -p "$WORK/share/kernels"
ln -s "$REPO/kernelspecs/echo" "$WORK/share/kernels/echo"
TOKEN=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
# 10,000 WebSockets need descriptors in the servers (inherited) and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# shellcheck source=scripts/bench-servers.sh
. "$(dirname "$0")/bench-servers.sh"
stop_server() { stop_server_process; }
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {  # $1 = ours|kg|js ; sets SERVER_PID, URL
  local name=$1 port
  port=$(free_port)
  URL=http://127.0.0.1:$port
  local log=$WORK/$name.log
  case $name in
    ours)
      # The connections scenario opens 10,000 WebSockets from loopback, beyond the default connection limits
      # (256 per address, 10,000 in total; docs/operations.md): raise both for the benchmark.
      "$BIN/kernel-gateway" --ip 127.0.0.1 --port "$port" --port-retries 0 --token "$TOKEN" \
        --max-connections 20000 --max-connections-per-address 20000 \
        --kernelspec-dir "$REPO/kernelspecs" --runtime-dir "$WORK/rt-ours" --log-level warning >"$log" 2>&1 &
      ;;
    kg)
      JUPYTER_PATH=$WORK/share JUPYTER_RUNTIME_DIR=$WORK/rt-kg JUPYTER_DATA_DIR=$WORK/data-kg \
        .venv/bin/jupyter-kernelgateway --KernelGatewayApp.ip=127.0.0.1 --KernelGatewayApp.port="$port" \
        --KernelGatewayApp.port_retries=0 --KernelGatewayApp.auth_token="$TOKEN" \
        --ZMQChannelsWebsocketConnection.limit_rate=False --log-level=WARN >"$log" 2>&1 &
      ;;
    js)
      JUPYTER_PATH=$WORK/share JUPYTER_RUNTIME_DIR=$WORK/rt-js JUPYTER_DATA_DIR=$WORK/data-js \
        .venv/bin/jupyter-server --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" --ServerApp.port_retries=0 \
        --IdentityProvider.token="$TOKEN" --ServerApp.open_browser=False --allow-root \
        --ZMQChannelsWebsocketConnection.limit_rate=False --log-level=WARN >"$log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $TOKEN" "$URL/api/kernelspecs" || true)" = 200 ]; then
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "bench-compare: $name did not come up" >&2; cat "$log" >&2; return 1
}

# scenario NAME SERVER ARGS... : one gateway-bench run, its JSON line tagged and appended to the results.
run() {
  local scenario=$1 server=$2; shift 2
  echo "  $scenario" >&2
  local out
  out=$("$BENCH" load --url "$URL" --token "$TOKEN" --kernel echo --server-pid "$SERVER_PID" --json "$@" 2>>"$WORK/bench.err" || true)
  if [ -z "$out" ]; then out='{"errors":1,"error_sample":"gateway-bench produced no output"}'; fi
  printf '{"server":"%s","scenario":"%s","result":%s}\n' "$server" "$scenario" "$out" >>"$RESULTS"
}

if [ $QUICK = 1 ]; then S=2; ROUNDS=20; USERS=10; CONNS=200; CONNS_PY=200; STREAM=5000
else S=8; ROUNDS=200; USERS=100; CONNS=10000; CONNS_PY=150; STREAM=100000; fi
BEGAN=$(date +%s)

echo "bench-compare: direct ZeroMQ floor" >&2
DIRECT=$("$BENCH" load --direct --echo-kernel "$BIN/echo-kernel" --seconds "$S" --json || echo '{"errors":1}')
printf '{"server":"direct","scenario":"latency","result":%s}\n' "$DIRECT" >>"$RESULTS"

for server in $SERVERS; do
  echo "bench-compare: $server" >&2
  start_server "$server"
  run latency "$server" --msg kernel_info --kernels 1 --clients 1 --inflight 1 --seconds "$S"
  run kernel_info_8x8 "$server" --msg kernel_info --kernels 8 --clients 64 --inflight 4 --seconds "$S"
  run execute_8x8 "$server" --msg execute --kernels 8 --clients 64 --inflight 4 --seconds "$S"
  run execute_8x8_v1 "$server" --msg execute --kernels 8 --clients 64 --inflight 4 --seconds "$S" --protocol v1
  run fanout_100 "$server" --mode fanout --clients 100 --rounds "$ROUNDS" --seconds 60
  run start_100 "$server" --mode start --users "$USERS"
  if [ "$server" = ours ]; then n=$CONNS; else n=$CONNS_PY; fi
  run "connections" "$server" --mode connections --clients "$n"
  run stream "$server" --mode stream --stream-count "$STREAM" --stream-size 100 --seconds 120
  stop_server
done
ELAPSED=$(( $(date +%s) - BEGAN ))
echo "bench-compare: scenarios took ${ELAPSED}s" >&2

COMMAND="scripts/bench-compare.sh${1:+ $1}"
cp "$RESULTS" "$REPO/.build/bench-compare-results.jsonl"
.venv/bin/python - "$RESULTS" "$COMMAND" "$ELAPSED" "$QUICK" "$REPO/BENCHMARKS.md" <<'PY'
# Turns the JSON lines into the BENCHMARKS.md section between the bench-compare markers.
import datetime, json, os, platform, subprocess, sys

results_path, command, elapsed, quick, bench_md = sys.argv[1:6]
rows = [json.loads(l) for l in open(results_path) if l.strip()]
by = {(r["server"], r["scenario"]): r["result"] for r in rows}
servers = [s for s in ("ours", "kg", "js") if any(k[0] == s for k in by)]
names = {"ours": "KernelGateway (ours)", "kg": "Jupyter Kernel Gateway", "js": "Jupyter Server"}

def get(server, scenario, *path):
    v = by.get((server, scenario))
    for p in path:
        if not isinstance(v, dict):
            return None
        v = v.get(p)
    return v

# (label, scenario, path, lower_is_better, format)
metrics = [
    ("kernel_info p50 latency, inflight 1 (µs)", "latency", ("latency_us", "p50"), True, "{:.0f}"),
    ("kernel_info p99 latency, inflight 1 (µs)", "latency", ("latency_us", "p99"), True, "{:.0f}"),
    ("8 kernels × 8 clients kernel_info (req/s)", "kernel_info_8x8", ("requests_per_s",), False, "{:.0f}"),
    ("8 × 8 kernel_info WebSocket msg/s", "kernel_info_8x8", ("ws_messages_per_s",), False, "{:.0f}"),
    ("8 × 8 kernel_info server CPU per bridged msg (µs)", "kernel_info_8x8", ("server_cpu_us_per_msg",), True, "{:.2f}"),
    ("8 × 8 execute, JSON (req/s)", "execute_8x8", ("requests_per_s",), False, "{:.0f}"),
    ("8 × 8 execute, JSON WebSocket msg/s", "execute_8x8", ("ws_messages_per_s",), False, "{:.0f}"),
    ("8 × 8 execute, JSON p99 latency (µs)", "execute_8x8", ("latency_us", "p99"), True, "{:.0f}"),
    ("8 × 8 execute, JSON server CPU per bridged msg (µs)", "execute_8x8", ("server_cpu_us_per_msg",), True, "{:.2f}"),
    ("8 × 8 execute, v1 (req/s)", "execute_8x8_v1", ("requests_per_s",), False, "{:.0f}"),
    ("8 × 8 execute, v1 server CPU per bridged msg (µs)", "execute_8x8_v1", ("server_cpu_us_per_msg",), True, "{:.2f}"),
    ("fan-out to 100 clients, all-seen p50 (µs)", "fanout_100", ("all_seen_us", "p50"), True, "{:.0f}"),
    ("fan-out to 100 clients, all-seen p99 (µs)", "fanout_100", ("all_seen_us", "p99"), True, "{:.0f}"),
    ("100 concurrent kernel starts, p50 (ms)", "start_100", ("concurrent_start_us", "p50"), True, "ms"),
    ("100 concurrent kernel starts, p99 (ms)", "start_100", ("concurrent_start_us", "p99"), True, "ms"),
    ("single kernel start, median (ms)", "start_100", ("single_start_us", "p50"), True, "ms"),
    ("concurrent-start p99 / single start", "start_100", ("p99_over_single",), True, "{:.2f}"),
    ("kernel start errors (of 100)", "start_100", ("errors",), True, "{}"),
    ("idle WebSockets opened", "connections", ("opened",), False, "{}"),
    ("RSS growth per idle WebSocket (KiB)", "connections", ("server_rss_kib_per_connection",), True, "{:.1f}"),
    ("stream: msgs/s (%stream N 100)", "stream", ("msgs_per_s",), False, "{:.0f}"),
    ("stream: messages lost", "stream", ("missing",), True, "{}"),
    ("stream: server RSS growth (KiB)", "stream", ("server_rss_growth_kib",), True, "{}"),
    ("errors in all scenarios", None, None, True, "{}"),
]

def fmt(v, f):
    if v is None:
        return "–"
    if f == "ms":
        return "{:.1f}".format(v / 1000)
    return f.format(v)

def errors_total(server):
    return sum(int((r["result"] or {}).get("errors", 0) or 0) for r in rows if r["server"] == server)

lines = []
others = [s for s in servers if s != "ours"]
head = "| metric | " + " | ".join(names[s] for s in servers) + " |" + "".join(f" ours vs {s.upper()} |" for s in others)
lines.append(head)
lines.append("|" + "---|" * (1 + len(servers) + len(others)))
for label, scenario, path, lower, f in metrics:
    values = {s: (errors_total(s) if scenario is None else get(s, scenario, *path)) for s in servers}
    cells = [fmt(values[s], f) for s in servers]
    ratios = []
    for s in servers:
        if s == "ours":
            continue
        a, b = values.get("ours"), values[s]
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 and b > 0 and scenario is not None                 and path[-1] not in ("errors", "missing", "opened"):
            r = (b / a) if lower else (a / b)
            ratios.append("{:.1f}× {}".format(r if r >= 1 else 1 / r, "better" if r >= 1 else "worse"))
        else:
            ratios.append("")
    lines.append(f"| {label} | " + " | ".join(cells) + " |" + "".join(f" {r} |" for r in ratios))

direct = by.get(("direct", "latency")) or {}
conns = {s: get(s, "connections", "clients") for s in servers}

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
out = []
out.append("<!-- bench-compare:begin (generated by scripts/bench-compare.sh; do not edit by hand) -->")
out.append("")
out.append(f"Recorded {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with `{command}` "
           f"(scenarios took {elapsed} s).")
out.append("")
out.append("| machine | |")
out.append("|---|---|")
out.append(f"| CPU | `{cpu}`, nproc = {sh('nproc')} |")
mem = sh("free -g | awk '/Mem:/{print $2}'")
load = sh("cut -d' ' -f1-3 /proc/loadavg")
versions = sh(".venv/bin/pip list 2>/dev/null | grep -i -E '^(jupyter.kernel.gateway|jupyter.server|tornado|pyzmq) '")
versions = ", ".join(" ".join(l.split()) for l in versions.splitlines())
osname = sh(". /etc/os-release; echo $PRETTY_NAME")
out.append(f"| memory | {mem} GiB |")
out.append(f"| OS | {osname}, Linux {platform.release()} |")
out.append(f"| load average at the end | {load} |")
out.append(f"| versions | {versions} |")
out.append("")
out.append(f"Direct ZeroMQ floor (`gateway-bench load --direct`, no gateway): kernel_info p50 "
           f"{fmt((direct.get('latency_us') or {}).get('p50'), '{:.0f}')} µs, p99 "
           f"{fmt((direct.get('latency_us') or {}).get('p99'), '{:.0f}')} µs, "
           f"{fmt(direct.get('requests_per_s'), '{:.0f}')} req/s at inflight 1.")
out.append("")
out.append("Idle WebSockets: " + ", ".join(f"{names[s]} {conns[s]}" for s in servers if conns[s]) + " (the Python servers open four "
           "ZeroMQ sockets per WebSocket and pyzmq's context allows 1023 sockets: about 180 WebSockets per process "
           "is their ceiling, so they are measured at 150).")
out.append("")
out.extend(lines)
out.append("")
out.append("<details><summary>Raw results (one JSON object per run)</summary>")
out.append("")
out.append("```json")
out.extend(json.dumps(r, separators=(",", ":")) for r in rows)
out.append("```")
out.append("")
out.append("</details>")
out.append("")
out.append("<!-- bench-compare:end -->")
section = "\n".join(out)

if quick == "1":
    print(section)
    sys.exit(0)
text = open(bench_md).read() if os.path.exists(bench_md) else "# KernelGateway benchmarks\n"
begin, end = "<!-- bench-compare:begin", "<!-- bench-compare:end -->"
if begin in text and end in text:
    a = text.index(begin)
    b = text.index(end) + len(end)
    text = text[:a] + section + text[b:]
else:
    text = text.rstrip("\n") + "\n\n## Comparison with Jupyter Kernel Gateway and Jupyter Server (`make bench-compare`)\n\n" + section + "\n"
open(bench_md, "w").write(text)
print(f"bench-compare: wrote {bench_md}")
PY
