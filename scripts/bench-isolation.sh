#!/usr/bin/env bash
# What kernel isolation costs (issue 8, item 6), measured with gateway-bench on loopback: for each
# --kernel-isolation mode (none: loopback TCP channels; unix-user: the kernel as a mapped Unix account, ipc://
# channels; sandbox: unix-user inside bubblewrap namespaces) it starts the gateway (shared token), runs
#   - sequential single starts of the `echo` kernel (each deleted before the next): start p50 / p90;
#   - kernel_info requests at light load (1 client, 1 in flight) and at saturation (8 clients x 8 in flight on
#     one kernel), with --server-pid (gateway CPU per bridged message, gateway + kernel CPU per request);
# and stops the gateway by PID. Modes are interleaved over several rounds (order rotated each round) to average
# out the noise of a shared 2-core machine; the table shows the median over rounds, the throughput targets use
# the median of the per-round ratios to none. The floor (gateway-bench load --direct: ZeroMQ over TCP straight
# to echo-kernel, no gateway) is measured once, at both loads. In the first sandbox round it also times the
# gateway's exact bubblewrap command, and its pieces, without the gateway (where a sandboxed start goes).
# Results and their reading: BENCHMARKS.md section 4.
#
# Needs root (it creates a throw-away Unix account, removed at the end) and bubblewrap; otherwise it prints a
# SKIPPED line and exits 0. Exit status 1 when a run fails (or, with --check, when a target is missed).
#
# Usage: scripts/bench-isolation.sh [--quick] [--check]
#   --quick          1 round, 10 starts, 2 s windows (smoke test of the script)
#   --check          exit 1 when a target is missed (start p50 within 15 ms of none; ipc:// throughput >= TCP)
#   ROUNDS=5 STARTS=30 SECONDS_PER_RUN=5 MODES="none unix-user sandbox"   (environment overrides)
#   OUT=/tmp/bench-isolation-<UTC time>.jsonl   raw results, one JSON object per run
#   BWRAP=/path/to/bwrap     (default: bwrap on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PATH=/opt/swift/usr/bin:$PATH
QUICK=0
CHECK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    --check) CHECK=1 ;;
    *) echo "usage: scripts/bench-isolation.sh [--quick] [--check]" >&2; exit 2 ;;
  esac
done

skip() { echo "bench-isolation: SKIPPED ($1)"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root: it creates a Unix account and runs kernels as it"
BWRAP=${BWRAP:-$(command -v bwrap || true)}
[ -n "$BWRAP" ] && [ -x "$BWRAP" ] || skip "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
for tool in useradd userdel setpriv python3 curl; do
  command -v "$tool" >/dev/null || skip "$tool is missing"
done

if [ $QUICK = 1 ]; then ROUNDS=${ROUNDS:-1}; STARTS=${STARTS:-10}; S=${SECONDS_PER_RUN:-2}
else ROUNDS=${ROUNDS:-5}; STARTS=${STARTS:-30}; S=${SECONDS_PER_RUN:-5}; fi
MODES=${MODES:-"none unix-user sandbox"}
OUT=${OUT:-/tmp/bench-isolation-$(date -u +%Y%m%dT%H%M%SZ).jsonl}

swift build -c release
BIN=$REPO/.build/release
BENCH=$BIN/gateway-bench

# A short private work directory: socket paths (<kernel-dir-root>/<kernel id>/kernel-N) must fit 107 bytes, and
# every ancestor of the kernel directories must be o+x for the kernel account.
WORK=$(mktemp -d /tmp/kgbi.XXXXXX)
chmod 711 "$WORK"
PREFIX="kgbi$$-"                 # gateway user `admin` (shared token) -> account kgbi<pid>-admin
ACCOUNT=${PREFIX}admin
ACCOUNT_CREATED=0
FAILED=0

# shellcheck source=scripts/bench-servers.sh
. "$(dirname "$0")/bench-servers.sh"
stop_server() {
  # Mode none's kernels have their connection file in $WORK; the other modes' run as our throw-away account.
  stop_server_process
  if [ $ACCOUNT_CREATED = 1 ]; then
    for pid in $(pgrep -u "$ACCOUNT" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
}
cleanup() {
  stop_server
  if [ $ACCOUNT_CREATED = 1 ]; then
    for _ in $(seq 1 50); do pgrep -u "$ACCOUNT" >/dev/null || break; sleep 0.1; done
    userdel --force "$ACCOUNT" 2>/dev/null || echo "bench-isolation: userdel $ACCOUNT failed" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if getent passwd "$ACCOUNT" >/dev/null; then
  echo "bench-isolation: account $ACCOUNT already exists; not touching it" >&2; exit 1
fi
useradd --no-create-home --shell /usr/sbin/nologin --comment "bench-isolation throw-away (pid $$)" \
  --key UID_MIN=1000 --key UID_MAX=59999 "$ACCOUNT"
ACCOUNT_CREATED=1
# bubblewrap runs as the kernel account, so it needs unprivileged user namespaces.
if ! setpriv --reuid "$ACCOUNT" --regid "$ACCOUNT" --clear-groups \
     "$BWRAP" --unshare-all --ro-bind / / /bin/true 2>"$WORK/bwrap-probe.err"; then
  skip "bubblewrap cannot create namespaces as an unprivileged account here: $(head -c 200 "$WORK/bwrap-probe.err")"
fi

TOKEN=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {  # $1 = mode; sets SERVER_PID and URL
  local mode=$1 port log=$WORK/gateway-$1.log
  port=$(free_port)
  URL=http://127.0.0.1:$port
  # The echo kernelspec runs `echo-kernel` from PATH: the release directory (world-readable) goes first.
  PATH=$BIN:$PATH "$BIN/kernel-gateway" --ip 127.0.0.1 --port "$port" --port-retries 0 --token "$TOKEN" \
    --kernelspec-dir "$REPO/kernelspecs" --runtime-dir "$WORK/rt" --log-level warning \
    --kernel-isolation "$mode" --unix-user-pattern "${PREFIX}{username}" --bwrap "$BWRAP" \
    --kernel-home-root "$WORK/h" --kernel-dir-root "$WORK/k" >>"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $TOKEN" "$URL/api/kernelspecs" || true)" = 200 ]; then
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-isolation: the gateway ($mode) did not come up:" >&2; cat "$log" >&2
  return 1
}

# record ROUND MODE SCENARIO ARGS... : one gateway-bench run; its JSON line, tagged, goes to $OUT.
record() {
  local round=$1 mode=$2 scenario=$3 out rc=0; shift 3
  echo "  round $round $mode $scenario" >&2
  out=$("$BENCH" load --json "$@" 2>>"$WORK/bench.err") || rc=$?
  if [ -z "$out" ]; then out='{"errors":1,"error_sample":"gateway-bench produced no output"}'; fi
  if [ $rc != 0 ]; then
    FAILED=1
    echo "bench-isolation: FAILED: round $round $mode $scenario (exit $rc): $out" >&2
    tail -n 5 "$WORK/bench.err" >&2 || true
  fi
  printf '{"round":%s,"mode":"%s","scenario":"%s","exit":%s,"result":%s}\n' "$round" "$mode" "$scenario" "$rc" "$out" >>"$OUT"
}

# ms per run of a command, over $PIECE_RUNS runs (the loop's own fork and exec included, as in every line).
PIECE_RUNS=${PIECE_RUNS:-20}
ms_per_run() {
  local began i
  began=$(date +%s%N)
  for ((i = 0; i < PIECE_RUNS; i++)); do "$@" >/dev/null 2>&1 || return 1; done
  python3 -c "print(round(($(date +%s%N) - $began) / $PIECE_RUNS / 1e6, 2))"
}

# Where a sandboxed start goes, without the gateway: starts one kernel to read the exact bubblewrap command the
# gateway ran (/proc/PID/cmdline of its child), deletes it, then times that command with /bin/true as the
# program, and its pieces. One JSON line, scenario "launch_pieces".
launch_pieces() {
  local id child as prefix=() unshare=() arg i argv=()
  id=$(curl -s -X POST -H "Authorization: token $TOKEN" -d '{"name":"echo"}' "$URL/api/kernels" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || return 1
  child=$(pgrep -P "$SERVER_PID" -x bwrap | head -n 1 || true)
  [ -n "$child" ] && mapfile -d '' -t argv <"/proc/$child/cmdline"
  curl -s -o /dev/null -X DELETE -H "Authorization: token $TOKEN" "$URL/api/kernels/$id"
  [ -n "$child" ] || { echo "bench-isolation: no bubblewrap child of the gateway found" >&2; return 1; }
  for ((i = 1; i < ${#argv[@]}; i++)); do   # argv[0] is bwrap; the sandbox setup ends at "--"
    arg=${argv[$i]}
    [ "$arg" = -- ] && break
    prefix+=("$arg")
    case $arg in --unshare-*) unshare+=("$arg") ;; esac
    # The kernel's private directory went with the kernel: recreate bind sources (only ours) for the timing.
    if [ "$arg" = --bind ] && [ ! -e "${argv[$((i + 1))]}" ] && [[ ${argv[$((i + 1))]} == "$WORK"/* ]]; then
      mkdir -p "${argv[$((i + 1))]}" && chown "$ACCOUNT:" "${argv[$((i + 1))]}"
    fi
  done
  as=(setpriv --reuid "$ACCOUNT" --regid "$ACCOUNT" --clear-groups)
  # Three interleaved batches of each; the report keeps each command's fastest batch (least disturbed).
  local t_true=() t_account=() t_ns=() t_full=() t_env=() batch
  for batch in 1 2 3; do
    t_true+=("$(ms_per_run /bin/true)") && t_account+=("$(ms_per_run "${as[@]}" /bin/true)") &&
      t_ns+=("$(ms_per_run "${as[@]}" "$BWRAP" "${unshare[@]}" --ro-bind / / /bin/true)") &&
      t_full+=("$(ms_per_run "${as[@]}" "$BWRAP" "${prefix[@]}" -- /bin/true)") &&
      t_env+=("$(ms_per_run "${as[@]}" "$BWRAP" "${prefix[@]}" -- /usr/bin/env --default-signal=INT,TERM -- /bin/true)") ||
      { echo "bench-isolation: timing the bubblewrap command failed (batch $batch)" >&2; return 1; }
  done
  json_list() { local IFS=,; echo "[$*]"; }
  printf '{"round":1,"mode":"sandbox","scenario":"launch_pieces","exit":0,"result":{"runs":%s,"true_ms":%s,"setpriv_true_ms":%s,"bwrap_namespaces_true_ms":%s,"bwrap_gateway_command_true_ms":%s,"bwrap_gateway_command_env_true_ms":%s,"bwrap_arguments":%s}}\n' \
    "$PIECE_RUNS" "$(json_list "${t_true[@]}")" "$(json_list "${t_account[@]}")" "$(json_list "${t_ns[@]}")" \
    "$(json_list "${t_full[@]}")" "$(json_list "${t_env[@]}")" "${#prefix[@]}" >>"$OUT"
}

: >"$OUT"
BEGAN=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-isolation: floor (gateway-bench load --direct)" >&2
record 0 direct light --direct --echo-kernel "$BIN/echo-kernel" --clients 1 --inflight 1 --seconds "$S"
record 0 direct saturation --direct --echo-kernel "$BIN/echo-kernel" --clients 8 --inflight 8 --seconds "$S"

read -r -a mode_list <<<"$MODES"
for round in $(seq 1 "$ROUNDS"); do
  n=${#mode_list[@]}
  for ((j = 0; j < n; j++)); do
    mode=${mode_list[$(((j + round - 1) % n))]}   # rotate the order each round
    echo "bench-isolation: round $round/$ROUNDS, --kernel-isolation $mode" >&2
    if ! start_server "$mode"; then
      FAILED=1
      printf '{"round":%s,"mode":"%s","scenario":"gateway","exit":1,"result":{"errors":1,"error_sample":"gateway did not start"}}\n' \
        "$round" "$mode" >>"$OUT"
      stop_server
      continue
    fi
    common=(--url "$URL" --token "$TOKEN" --kernel echo --server-pid "$SERVER_PID")
    record "$round" "$mode" start "${common[@]}" --mode start --single-starts "$STARTS" --users 1
    record "$round" "$mode" light "${common[@]}" --kernels 1 --clients 1 --inflight 1 --msg kernel_info --seconds "$S"
    record "$round" "$mode" saturation "${common[@]}" --kernels 1 --clients 8 --inflight 8 --msg kernel_info --seconds "$S"
    if [ "$mode" = sandbox ] && [ "$round" = 1 ]; then launch_pieces || FAILED=1; fi
    stop_server
  done
done
ELAPSED=$(( $(date +%s) - BEGAN ))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

COMMAND="scripts/bench-isolation.sh${*:+ $*}"
set +e
python3 - "$OUT" "$COMMAND" "$ELAPSED" "$LOAD_BEFORE" "$LOAD_AFTER" "$ROUNDS" "$STARTS" "$S" "$CHECK" <<'PY'
# The compact table: medians over rounds per mode, differences to `none`, the floor, and the targets.
import json, statistics, sys

path, command, elapsed, load_before, load_after, rounds, starts, seconds, check = sys.argv[1:10]
rows = [json.loads(l) for l in open(path) if l.strip()]

def values(mode, scenario, *keys):
    out = []
    for r in rows:
        if r["mode"] != mode or r["scenario"] != scenario or r.get("exit", 1) != 0:
            continue
        v = r["result"]
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            out.append(float(v))
    return out

def med(mode, scenario, *keys):
    v = values(mode, scenario, *keys)
    return statistics.median(v) if v else None

def spread(mode, scenario, *keys, scale=1.0, fmt="{:.1f}"):
    v = values(mode, scenario, *keys)
    return (fmt.format(min(v) / scale) + "–" + fmt.format(max(v) / scale)) if len(v) > 1 else ""

def f(v, fmt="{:.1f}", scale=1.0):
    return "–" if v is None else fmt.format(v / scale)

modes = [m for m in ("none", "unix-user", "sandbox") if any(r["mode"] == m for r in rows)]
print()
print(f"bench-isolation: {command}; {rounds} round(s), {starts} sequential starts and {seconds} s windows per mode and round;"
      f" took {elapsed} s; load average {load_before} before, {load_after} after")
print(f"raw results: {path}")
print()
print("| mode | channels | start p50 (ms) | start p90 (ms) | p50 vs none (ms) | gateway CPU per start+delete (ms)"
      " | light req/s | light p50 (µs) | light p99 (µs) | sat. req/s | sat. p50 (µs) | sat. CPU µs/req: gateway + kernel |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
none_p50 = med("none", "start", "single_start_us", "p50")

def per_request(mode, scenario, key):
    """Median over rounds of result[key] (CPU seconds over the window) per request, in µs."""
    v = [r["result"][key] / r["result"]["requests"] * 1e6 for r in rows
         if r["mode"] == mode and r["scenario"] == scenario and r.get("exit", 1) == 0
         and isinstance(r["result"].get(key), (int, float)) and r["result"].get("requests")]
    return statistics.median(v) if v else None

def cpu_split(mode):
    total = med(mode, "saturation", "server_kernel_cpu_us_per_request")
    kernel = per_request(mode, "saturation", "kernel_cpu_s")
    if total is None or kernel is None:
        return "–"
    return "{:.1f} + {:.1f} = {:.1f}".format(total - kernel, kernel, total)

for m in modes:
    p50 = med(m, "start", "single_start_us", "p50")
    delta = None if p50 is None or none_p50 is None else p50 - none_p50
    print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
        m, "tcp" if m == "none" else "ipc",
        f(p50, scale=1000), f(med(m, "start", "single_start_us", "p90"), scale=1000),
        "" if m == "none" else f(delta, "{:+.1f}", 1000),
        f(med(m, "start", "single_start_server_cpu_ms"), "{:.1f}"),
        f(med(m, "light", "requests_per_s"), "{:.0f}"), f(med(m, "light", "latency_us", "p50"), "{:.0f}"),
        f(med(m, "light", "latency_us", "p99"), "{:.0f}"),
        f(med(m, "saturation", "requests_per_s"), "{:.0f}"), f(med(m, "saturation", "latency_us", "p50"), "{:.0f}"),
        cpu_split(m)))
print("| floor (--direct, no gateway) | tcp | | | | | {} | {} | {} | {} | {} | {} |".format(
    f(med("direct", "light", "requests_per_s"), "{:.0f}"), f(med("direct", "light", "latency_us", "p50"), "{:.0f}"),
    f(med("direct", "light", "latency_us", "p99"), "{:.0f}"),
    f(med("direct", "saturation", "requests_per_s"), "{:.0f}"), f(med("direct", "saturation", "latency_us", "p50"), "{:.0f}"),
    f(per_request("direct", "saturation", "kernel_cpu_s"), "0 + {:.1f}")))
if int(rounds) > 1:
    print()
    print("Spread over rounds (min–max):")
    for m in modes:
        print(f"  {m}: start p50 {spread(m, 'start', 'single_start_us', 'p50', scale=1000)} ms;"
              f" light {spread(m, 'light', 'requests_per_s', fmt='{:.0f}')} req/s;"
              f" saturation {spread(m, 'saturation', 'requests_per_s', fmt='{:.0f}')} req/s")

print()
missed = []
for m in ("unix-user", "sandbox"):
    p50 = med(m, "start", "single_start_us", "p50")
    if p50 is None or none_p50 is None:
        continue
    d = (p50 - none_p50) / 1000
    ok = d <= 15
    print(f"target: {m} start p50 within 15 ms of none: {d:+.1f} ms -> {'met' if ok else 'MISSED'}")
    if not ok:
        missed.append(m + " start")
def paired_ratios(mode, scenario, *keys):
    """mode / none within each round (the two ran minutes apart at most): drift between rounds cancels."""
    by_round = {}
    for r in rows:
        if r["scenario"] == scenario and r.get("exit", 1) == 0 and r["mode"] in (mode, "none"):
            v = r["result"]
            for k in keys:
                v = v.get(k) if isinstance(v, dict) else None
            by_round.setdefault(r["round"], {})[r["mode"]] = v
    return [d[mode] / d["none"] for d in by_round.values()
            if isinstance(d.get(mode), (int, float)) and isinstance(d.get("none"), (int, float)) and d["none"] > 0]

for m in ("unix-user", "sandbox"):
    for load in ("light", "saturation"):
        a, b = med(m, load, "requests_per_s"), med("none", load, "requests_per_s")
        ratios = paired_ratios(m, load, "requests_per_s")
        if a is None or b is None or not ratios:
            continue
        paired = statistics.median(ratios)
        ok = paired >= 1
        print(f"target: {m} ({load}) ipc:// throughput >= none's TCP: paired ratio (median over rounds) {paired:.3f}"
              f" [{min(ratios):.2f}–{max(ratios):.2f}]; medians {a:.0f} vs {b:.0f} req/s = {a / b:.3f}"
              f" -> {'met' if ok else 'MISSED'}")
        if not ok:
            missed.append(f"{m} {load} throughput")
    cpu = paired_ratios(m, "saturation", "server_kernel_cpu_us_per_request")
    if cpu:
        print(f"  (saturation, gateway + kernel CPU per request vs none: paired ratio {statistics.median(cpu):.3f}"
              f" [{min(cpu):.2f}–{max(cpu):.2f}]; below 1 = ipc:// costs less)")
pieces = next((r["result"] for r in rows if r["scenario"] == "launch_pieces"), None)
if pieces:
    print()
    best = {k: min(v) for k, v in pieces.items() if isinstance(v, list) and v}
    print(f"sandbox launch pieces, without the gateway (ms per run from a shell loop, fastest of 3 batches of"
          f" {pieces['runs']}): /bin/true {best['true_ms']:.2f}; as the account (setpriv) {best['setpriv_true_ms']:.2f};"
          f" + bubblewrap, the gateway's namespaces, root bound as is {best['bwrap_namespaces_true_ms']:.2f};"
          f" the gateway's whole bubblewrap command ({pieces['bwrap_arguments']} arguments)"
          f" {best['bwrap_gateway_command_true_ms']:.2f}; + env --default-signal {best['bwrap_gateway_command_env_true_ms']:.2f}")
errors = [r for r in rows if r.get("exit", 1) != 0]
if errors:
    print(f"{len(errors)} run(s) failed; see {path}")
sys.exit(1 if errors or (check == "1" and missed) else 0)
PY
status=$?
set -e
[ $FAILED = 1 ] && status=1
exit $status
