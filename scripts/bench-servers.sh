# Shared by the benchmark scripts (sourced): stopping the server under test, by PID, and whatever kernels it
# failed to stop. Expects WORK (the script's own work directory) and uses SERVER_PID.
SERVER_PID=""

# SIGTERM, up to 10 s, then SIGKILL; then kernels whose command line names a file in $WORK (only ours).
stop_server_process() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  for pid in $(pgrep -f -- "$WORK/" || true); do
    [ "$pid" != "$$" ] && kill -KILL "$pid" 2>/dev/null || true
  done
}
