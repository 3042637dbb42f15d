"""Issue 14: per-kernel and per-user memory, CPU and process limits (cgroups), with real kernels.

Needs root and a writable cgroup hierarchy (v1 here; v2 paths are unit-tested in ControlGroupsTests). Every gateway
these tests start creates its cgroups below its own cgroup as `kernel-gateway-<pid>`; each test checks that they are
gone once the gateway stopped, and that no process is left in them. Runs under every KG_TEST_ISOLATION mode.
"""
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, ChannelClient, Gateway, MultiUserGateway, REPO, new_msg

CGROUP_ROOT = pathlib.Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
HAVE_CGROUPS = os.geteuid() == 0 and ((CGROUP_ROOT / "memory" / "cgroup.procs").exists()
                                      or (CGROUP_ROOT / "cgroup.controllers").exists())
needs_cgroups = pytest.mark.skipif(not HAVE_CGROUPS, reason="needs root and a writable cgroup hierarchy")
IS_V2 = (CGROUP_ROOT / "cgroup.controllers").exists()
MiB = 1 << 20


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def gateway_cgroups(pid):
    """Every `kernel-gateway-<pid>` directory of gateway `pid`, in each hierarchy."""
    name = f"kernel-gateway-{pid}"
    roots = [CGROUP_ROOT] if IS_V2 else [CGROUP_ROOT / c for c in V1_CONTROLLERS if (CGROUP_ROOT / c).is_dir()]
    found = []
    for root in roots:
        for dirpath, dirnames, _ in os.walk(root):
            if name in dirnames:
                found.append(pathlib.Path(dirpath) / name)
            # The gateway's base is at most a few levels below the mount (its own cgroup).
            if len(pathlib.Path(dirpath).relative_to(root).parts) >= 4:
                dirnames.clear()
            dirnames[:] = [d for d in dirnames if not d.startswith("kernel-gateway-")]
    return found


def kernel_cgroup(gw, kernel_id, controller):
    """The directory of the kernel's cgroup in `controller`'s hierarchy (v2: the one directory)."""
    for base in gateway_cgroups(gw.proc.pid):
        if IS_V2 or base.parts[len(CGROUP_ROOT.parts)] == controller:
            hits = list(base.glob(f"user-*/kernel-{kernel_id}"))
            if hits:
                return hits[0]
    raise AssertionError(f"no {controller} cgroup for kernel {kernel_id}")


def cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return None


def read_int(path):
    return int(pathlib.Path(path).read_text().split()[0])


def procs(directory):
    """Pids in a cgroup and every cgroup below it."""
    pids = []
    for dirpath, _, files in os.walk(directory):
        if "cgroup.procs" in files:
            pids += [int(p) for p in (pathlib.Path(dirpath) / "cgroup.procs").read_text().split()]
    return pids


def stop_and_check_clean(gw):
    """Stops the gateway and asserts its cgroups (and every process in them) are gone."""
    pid = gw.proc.pid
    bases = gateway_cgroups(pid)
    gw.stop()
    leftovers = [str(b) for b in bases if b.exists()]
    assert not leftovers, f"cgroups left behind: {leftovers}"
    assert not gateway_cgroups(pid)


def wait_idle(gw, kid, timeout=60, view=None):
    getter = view.get if view else gw.get
    deadline = time.time() + timeout
    while time.time() < deadline:
        model = getter(f"/api/kernels/{kid}").json()
        if model.get("execution_state") == "idle":
            return model
        time.sleep(0.2)
    raise AssertionError(f"kernel {kid} not idle: {model}")


def status_with_reason(client, timeout=60):
    """The next iopub status message carrying a `reason` (restarting or dead after a failure)."""
    return client.wait_for(lambda m: m["header"]["msg_type"] == "status" and "reason" in m["content"], timeout)


def run(client, code, timeout=60):
    msg = client.execute(code)
    got = client.collect_until_idle(msg, timeout=timeout)
    return "".join(m["content"].get("text", "") for m in got if m["header"]["msg_type"] == "stream")


def kernel_info_rtt(client):
    msg = client.request("kernel_info_request")
    t0 = time.perf_counter()
    client.reply_to(msg, "kernel_info_reply")
    return time.perf_counter() - t0


ALLOCATE = "a = b'\\x01' * ({mib} << 20)"


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="kg-limits-") as d:
        os.chmod(d, 0o700)
        yield pathlib.Path(d)


@pytest.fixture
def started():
    """Gateways to stop (checking that their cgroups are gone) at teardown."""
    gateways = []
    yield gateways
    for gw in gateways:
        if gw.proc.poll() is None:
            stop_and_check_clean(gw)


# ---------------------------------------------------------------------------------------------------------------
# Memory


@needs_cgroups
def test_memory_limit_kills_kernel_with_reason_and_follows_restart_rules(workdir, started):
    gw = MultiUserGateway(workdir, {"alice": "user"}, extra_args=["--kernel-memory-limit", "200M"])
    started.append(gw)
    alice = gw.user("alice")
    status = alice.get("/api/status").json()
    assert not any("no memory limit" in w for w in status["warnings"])
    hog = alice.start_kernel("python3")
    other = alice.start_kernel("echo")
    model = alice.get(f"/api/kernels/{hog}").json()
    assert model["limits"]["memory_bytes"] == 200 * MiB
    assert model["usage"]["memory_bytes"] > 0 and model["usage"]["pids"] >= 1
    assert read_int(kernel_cgroup(gw, hog, "memory") / ("memory.max" if IS_V2 else "memory.limit_in_bytes")) == 200 * MiB

    client = alice.channel(hog)
    echo = alice.channel(other)
    # Same rules as any crash: restarted 5 times in a row, the 6th failure leaves it dead.
    for attempt in range(6):
        wait_idle(gw, hog, view=alice)
        client.execute(ALLOCATE.format(mib=400))
        st = status_with_reason(client)
        assert "out of memory: limit 200 MiB" in st["content"]["reason"], st
        expected = "dead" if attempt == 5 else "restarting"
        assert st["content"]["execution_state"] == expected, (attempt, st)
        # The other kernel keeps answering.
        assert run(echo, "still here") == "still here"
    model = alice.get(f"/api/kernels/{hog}").json()
    assert model["execution_state"] == "dead"
    assert "out of memory: limit 200 MiB" in model["reason"]
    died = [e for e in gw.audit_events() if e.get("action") == "died" and e["resource"] == f"kernels/{hog}"]
    assert len(died) == 6 and all("out of memory: limit 200 MiB" in e["reason"] for e in died), died
    client.close()
    echo.close()


@needs_cgroups
def test_user_limit_is_shared_by_all_of_a_users_kernels(workdir, started):
    gw = MultiUserGateway(workdir, {"alice": "user"},
                          extra_args=["--kernel-memory-limit", "400M", "--user-memory-limit", "300M"])
    started.append(gw)
    alice = gw.user("alice")
    kids = [alice.start_kernel("python3") for _ in range(3)]
    memory = [kernel_cgroup(gw, k, "memory") for k in kids]
    user_dir = memory[0].parent
    assert all(m.parent == user_dir for m in memory), "one user cgroup holds all of the user's kernels"
    assert read_int(user_dir / ("memory.max" if IS_V2 else "memory.limit_in_bytes")) == 300 * MiB
    for k in kids:
        assert alice.get(f"/api/kernels/{k}").json()["limits"]["user"]["memory_bytes"] == 300 * MiB
    baseline = sum(alice.get(f"/api/kernels/{k}").json()["usage"]["memory_bytes"] for k in kids)
    # Each allocation alone fits the kernel limit easily; two together exceed what is left of the user limit.
    each = max(16, (300 * MiB - baseline) // MiB // 2 + 24)
    clients = [alice.channel(k) for k in kids]
    run(clients[0], ALLOCATE.format(mib=each))
    clients[1].execute(ALLOCATE.format(mib=each))
    # The OOM killer picks the biggest of the user's processes: either of the two that allocated.
    deadline = time.time() + 60
    reasons = {}
    while not reasons and time.time() < deadline:
        for k, c in zip(kids, clients):
            try:
                m = c.wait_for(lambda m: m["header"]["msg_type"] == "status" and "reason" in m["content"], timeout=0.5)
                reasons[k] = m["content"]["reason"]
            except Exception:
                pass
    assert reasons, "no kernel was killed although the user's kernels exceeded the user limit"
    assert all("limit 300 MiB for all of alice's kernels" in r for r in reasons.values()), reasons
    if not IS_V2:
        assert read_int(user_dir / "memory.max_usage_in_bytes") <= 300 * MiB
    for c in clients:
        c.close()


def test_missing_cgroup_hierarchy_refuses_limits_at_start(tmp_path):
    missing = tmp_path / "no-cgroups"
    r = subprocess.run([str(BUILD / "kernel-gateway"), "--port", "0", "--token", "t", "--cgroup-root", str(missing),
                        "--kernel-memory-limit", "1G"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "need a writable cgroup hierarchy" in r.stderr and str(missing) in r.stderr, r.stderr
    # Without configured limits the gateway runs; a request that asks for a limit is refused, not ignored.
    gw = Gateway(extra_args=["--cgroup-root", str(missing)])
    try:
        r = gw.post("/api/kernels", {"name": "echo", "env": {"KERNEL_MEMORY_LIMIT": "512M"}})
        assert r.status_code == 500 and "no writable cgroup hierarchy" in r.json()["message"], r.text
        k = gw.start_kernel("echo")
        assert "usage" not in k
    finally:
        gw.stop()


@needs_cgroups
def test_request_may_ask_for_less_never_more(workdir, started):
    specs = workdir / "specs"
    (specs / "echo-small").mkdir(parents=True)
    spec = json.loads((REPO / "kernelspecs" / "echo" / "kernel.json").read_text())
    spec["metadata"] = {"kernel_gateway": {"memory_limit": "256M", "pids_limit": 100}}
    (specs / "echo-small" / "kernel.json").write_text(json.dumps(spec))
    os.chmod(workdir, 0o755)
    for p in (specs, specs / "echo-small"):
        os.chmod(p, 0o755)
    policy = {"version": 1, "roles": {"student": {"inherits": "user", "kernel_limits": {"cpu_limit": 0.5, "memory_limit": "1G"}}}}
    gw = MultiUserGateway(workdir / "gw", {"alice": "student"}, policy=policy,
                          extra_args=["--kernel-memory-limit", "2G", "--kernelspec-dir", str(specs)])
    started.append(gw)
    alice = gw.user("alice")
    # The gateway's 2G is capped by the role's 1G; the kernelspec's 256M replaces the gateway default.
    k = alice.start_kernel("echo")
    assert alice.get(f"/api/kernels/{k}").json()["limits"] == {"memory_bytes": 1 << 30, "cpu_cores": 0.5, "user": {}}
    small = alice.start_kernel("echo-small")
    assert alice.get(f"/api/kernels/{small}").json()["limits"] == {
        "memory_bytes": 256 * MiB, "cpu_cores": 0.5, "pids": 100, "user": {}}
    assert read_int(kernel_cgroup(gw, small, "pids") / "pids.max") == 100
    r = alice.post("/api/kernels", {"name": "echo", "env": {"KERNEL_MEMORY_LIMIT": "512M", "KERNEL_PIDS_LIMIT": "64"}})
    assert r.status_code == 201, r.text
    assert r.json()["limits"] == {"memory_bytes": 512 * MiB, "cpu_cores": 0.5, "pids": 64, "user": {}}
    r = alice.post("/api/kernels", {"name": "echo", "env": {"KERNEL_CPU_LIMIT": "2"}})
    assert r.status_code == 403 and "KERNEL_CPU_LIMIT 2 cores is above the allowed 0.5 cores" in r.json()["message"]
    r = alice.post("/api/kernels", {"name": "echo", "env": {"KERNEL_MEMORY_LIMIT": "lots"}})
    assert r.status_code == 400 and "KERNEL_MEMORY_LIMIT" in r.json()["message"]
    denied = [e for e in gw.audit_events() if e["outcome"] == "denied" and "above the allowed" in (e.get("reason") or "")]
    assert denied


@needs_cgroups
def test_multi_user_without_memory_limit_warns(workdir, started):
    gw = MultiUserGateway(workdir, {"alice": "user"})
    started.append(gw)
    warnings = gw.user("alice").get("/api/status").json()["warnings"]
    assert any("no memory limit" in w for w in warnings), warnings
    assert "no memory limit" in gw.log_text()


# ---------------------------------------------------------------------------------------------------------------
# Processes

FORK_BOMB = """
import os, time
main, end, refused = os.getpid(), time.time() + 3, 0
while time.time() < end:
    try:
        if os.fork() == 0:
            continue          # every child forks as well
    except OSError:
        refused += 1
        time.sleep(0.01)
if os.getpid() != main:
    os._exit(0)
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        break
print("refused", refused > 0)
"""


@needs_cgroups
def test_fork_bomb_stops_at_pids_limit(workdir, started):
    gw = MultiUserGateway(workdir, {"alice": "user"}, extra_args=["--kernel-pids-limit", "32", "--kernel-memory-limit", "1G"])
    started.append(gw)
    alice = gw.user("alice")
    kid = alice.start_kernel("python3")
    other = alice.start_kernel("echo")
    pids_dir = kernel_cgroup(gw, kid, "pids")
    assert read_int(pids_dir / "pids.max") == 32
    client = alice.channel(kid)
    msg = client.execute(FORK_BOMB)
    peak, slowest = 0, 0.0
    echo = alice.channel(other)
    deadline = time.time() + 4
    while time.time() < deadline:
        peak = max(peak, read_int(pids_dir / "pids.current"))
        t0 = time.perf_counter()
        assert alice.get("/api/status").status_code == 200
        assert run(echo, "ping") == "ping"
        slowest = max(slowest, time.perf_counter() - t0)
    got = client.collect_until_idle(msg, timeout=60)
    out = "".join(m["content"].get("text", "") for m in got if m["header"]["msg_type"] == "stream")
    assert "refused True" in out, out
    assert peak <= 32
    assert slowest < 5, f"gateway answered slowly during the fork bomb ({slowest:.2f} s)"
    # Every forked process is gone; only the kernel's own remain.
    kernel_pids = alice.get(f"/api/kernels/{kid}").json()["usage"]["pids"]
    assert kernel_pids < 32
    memory_dir = kernel_cgroup(gw, kid, "memory")
    assert alice.delete(f"/api/kernels/{kid}").status_code == 204
    deadline = time.time() + 10
    while (pids_dir.exists() or memory_dir.exists()) and time.time() < deadline:
        time.sleep(0.1)
    assert not pids_dir.exists() and not memory_dir.exists(), "the kernel's cgroup outlived it"
    client.close()
    echo.close()


@needs_cgroups
def test_leftover_processes_are_killed_with_the_kernel(workdir, started):
    gw = MultiUserGateway(workdir, {"alice": "user"}, extra_args=["--kernel-pids-limit", "64"])
    started.append(gw)
    alice = gw.user("alice")
    kid = alice.start_kernel("python3")
    client = alice.channel(kid)
    # A daemon in its own session: out of the kernel's process group, not out of its cgroup. Found by its unique
    # argument (a sandboxed kernel sees pids of its own namespace).
    marker = f"299.{os.getpid()}{int(time.time() * 1000) % 100000}"
    run(client, f"import subprocess\np = subprocess.Popen(['sleep', '{marker}'], start_new_session=True)")
    daemon = next(int(p) for p in os.listdir("/proc") if p.isdigit() and cmdline(p) == ["sleep", marker])
    assert daemon in procs(kernel_cgroup(gw, kid, "pids"))
    client.close()
    assert alice.delete(f"/api/kernels/{kid}").status_code == 204
    deadline = time.time() + 10
    while os.path.exists(f"/proc/{daemon}") and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{daemon}"), "a process the kernel started outlived it"


# ---------------------------------------------------------------------------------------------------------------
# CPU

CPU_HOG = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def cpu_seconds(gw, kid):
    if IS_V2:
        text = (kernel_cgroup(gw, kid, "cpu") / "cpu.stat").read_text()
        return int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6
    return read_int(kernel_cgroup(gw, kid, "cpuacct") / "cpuacct.usage") / 1e9


@needs_cgroups
def test_cpu_quota_contains_a_busy_loop(workdir, started):
    gw = MultiUserGateway(workdir, {"alice": "user", "bob": "user"}, extra_args=["--kernel-cpu-limit", "0.5"])
    started.append(gw)
    hog = gw.user("alice").start_kernel("python3")
    probe = gw.user("bob").start_kernel("echo")
    quota = kernel_cgroup(gw, hog, "cpu") / ("cpu.max" if IS_V2 else "cpu.cfs_quota_us")
    assert quota.read_text().split()[0] == "50000"
    probe_client = gw.user("bob").channel(probe)
    for _ in range(5):
        kernel_info_rtt(probe_client)  # warm up
    idle = statistics.median(kernel_info_rtt(probe_client) for _ in range(40))

    seconds = 6
    hog_client = gw.user("alice").channel(hog)
    before = cpu_seconds(gw, hog)
    t0 = time.time()
    msg = hog_client.execute(CPU_HOG.format(seconds=seconds))
    time.sleep(1)  # let the loop start
    busy = []
    while time.time() - t0 < seconds - 0.5:
        busy.append(kernel_info_rtt(probe_client))
        time.sleep(0.02)
    hog_client.collect_until_idle(msg, timeout=60)
    used = cpu_seconds(gw, hog) - before
    elapsed = time.time() - t0
    # Containment: the hog got at most its quota (0.5 core) over the window, with 20 % slack.
    assert used <= 0.5 * elapsed * 1.2, f"hog used {used:.2f} s of CPU in {elapsed:.2f} s"
    assert used >= 0.5 * seconds * 0.5, f"hog barely ran ({used:.2f} s): the test measured nothing"
    # Another kernel's round trip stays within 2x of idle (plus a few ms for a busy shared machine).
    p50 = statistics.median(busy)
    assert p50 <= 2 * idle + 0.005, f"kernel_info p50 {p50 * 1000:.1f} ms under the hog vs {idle * 1000:.1f} ms idle"
    hog_client.close()
    probe_client.close()


# ---------------------------------------------------------------------------------------------------------------
# Metrics


@needs_cgroups
def test_metrics_show_usage_by_kernel_and_owner(workdir, started):
    gw = MultiUserGateway(workdir, {"admin": "admin", "alice": "user"}, extra_args=["--kernel-memory-limit", "512M"])
    started.append(gw)
    kid = gw.user("alice").start_kernel("echo")
    text = gw.user("admin").get("/metrics").text
    labels = f'{{kernel_id="{kid}",owner="alice"}}'
    for name in ("kernel_gateway_kernel_memory_bytes", "kernel_gateway_kernel_cpu_seconds_total",
                 "kernel_gateway_kernel_pids"):
        assert f"{name}{labels} " in text, name
    assert f"kernel_gateway_kernel_memory_limit_bytes{labels} {512 * MiB}" in text


# ---------------------------------------------------------------------------------------------------------------
# A kernel attacking its own limits


@needs_cgroups
def test_isolated_kernel_can_neither_raise_its_limits_nor_leave_its_cgroup(workdir, started):
    """The kernel's account tries, from inside the kernel, what a student would: raise its memory limit, raise its
    user's, move itself to the parent or root cgroup, and kill through another cgroup's files. Each must fail, and
    the limits and the membership must be what they were."""
    gw = MultiUserGateway(workdir, {"alice": "user"}, isolation="unix-user",
                          extra_args=["--kernel-memory-limit", "200M", "--user-memory-limit", "300M"])
    started.append(gw)
    alice = gw.user("alice")
    kid = alice.start_kernel("python3")
    memory = kernel_cgroup(gw, kid, "memory")
    limit_file = "memory.max" if IS_V2 else "memory.limit_in_bytes"
    targets = {
        "own_limit": (memory / limit_file, str(4 << 30)),
        "user_limit": (memory.parent / limit_file, str(4 << 30)),
        "parent_procs": (memory.parent / "cgroup.procs", "{pid}"),
        "root_procs": ((CGROUP_ROOT if IS_V2 else CGROUP_ROOT / "memory") / "cgroup.procs", "{pid}"),
    }
    code = "import os, json\nresults = {}\n"
    for name, (path, value) in targets.items():
        code += (f"try:\n    open({str(path)!r}, 'w').write({value!r}.format(pid=os.getpid()))\n"
                 f"    results[{name!r}] = 'written'\nexcept OSError as e:\n    results[{name!r}] = type(e).__name__\n")
    code += "print(json.dumps(results))\n"
    client = alice.channel(kid)
    try:
        out = run(client, code)
        results = json.loads(out.strip().splitlines()[-1])
        assert all(v != "written" for v in results.values()), results
        assert read_int(memory / limit_file) == 200 * MiB
        assert read_int(memory.parent / limit_file) == 300 * MiB
        # The kernel process is still in its own cgroup.
        kernel_pids = procs(memory)
        assert kernel_pids, "the kernel left its cgroup"
    finally:
        client.close()
