"""Kernel isolation (issue 8), attacked for real: two gateway users, alice and bob, each with an ipykernel kernel
started through the REST API, and bob's code (sent over his WebSocket channel like any notebook cell) trying
to get at alice's kernel, her files and the gateway. Parametrized over `unix-user` and `sandbox` (root only).

Every attack records what it achieved (bytes read, messages received, signals delivered) and the test asserts on
that record, next to a positive control showing the same code does work on bob's own things: a failing attack
proves isolation only when the same attack on an unprotected target succeeds.

Also: mode `none` with a users file is refused unless --allow-shared-kernel-user; unmapped accounts, root and
accounts outside --unix-uid-range get 403; private gateway files and unreachable roots are refused at start.
Everything a test creates (accounts, files, processes) is removed again; every wait is bounded."""
import json
import os
import pathlib
import pwd
import re
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import textwrap
import time

import pytest
import requests
import websocket

from conftest import (ACCOUNTS, BUILD, ISOLATION, KERNEL_GATEWAY, REPO, Gateway, MultiUserGateway, UserView, free_port,
                      users_cli)

MODES = ["unix-user", "sandbox"]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="kernel isolation needs a root gateway (tests run as "
                                                           f"uid {os.geteuid()})")


def skip_unless_mode_possible(mode):
    if os.geteuid() != 0:
        pytest.skip(f"{mode}: kernel isolation needs a root gateway")
    if mode == "sandbox" and not os.path.exists("/usr/bin/bwrap"):
        pytest.skip("sandbox: bubblewrap (/usr/bin/bwrap) is not installed (scripts/setup.sh installs it)")


# --- host-side helpers (the test runs as root and sees everything) ----------------------------------------------

def proc_cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def kernel_process(kernel_id, timeout=30):
    """(host pid, uid, cmdline) of the python process of ipykernel kernel `kernel_id` (not bubblewrap/env)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for pid in all_pids():
            cmd = proc_cmdline(pid)
            if cmd and os.path.basename(cmd[0]).startswith("python") and any(kernel_id in a for a in cmd):
                try:
                    return pid, os.stat(f"/proc/{pid}").st_uid, cmd
                except OSError:
                    continue
        time.sleep(0.1)
    raise AssertionError(f"no kernel process for {kernel_id}")


def connection_file_of(cmd):
    return cmd[cmd.index("-f") + 1]


def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        pass
    return inodes


def tcp_listeners(pid="self"):
    """{inode: port} of listening TCP sockets in the network namespace of `pid`."""
    found = {}
    for name in ("tcp", "tcp6"):
        try:
            lines = pathlib.Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A":
                found[f[9]] = int(f[1].split(":")[1], 16)
    return found


def descendants(root_pid):
    children = {}
    for pid in all_pids():
        try:
            ppid = int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def processes_of_uid(uid):
    pids = []
    for pid in all_pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                pids.append(pid)
        except OSError:
            pass
    return pids


# --- running code in a kernel through the gateway ---------------------------------------------------------------

RESULT = "@@RESULT@@"


def run_cell(client, code, timeout=60, store_history=False):
    """Executes `code`; returns (stdout text, execute_reply content)."""
    msg = client.execute(code, store_history=store_history)
    got = client.collect_until_idle(msg, timeout=timeout)
    out = "".join(m["content"]["text"] for m in got
                  if m["header"]["msg_type"] == "stream" and m["content"].get("name") == "stdout")
    reply = [m for m in got if m["header"]["msg_type"] == "execute_reply"][0]["content"]
    return out, reply


def result_of(out, reply):
    assert reply["status"] == "ok", re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(reply.get("traceback", []))) or reply
    lines = [line for line in out.splitlines() if line.startswith(RESULT)]
    assert lines, f"no result line in output:\n{out}"
    return json.loads(lines[-1][len(RESULT):])


def run_json(client, code, knowledge=None, timeout=60):
    """Runs `code` with `K` bound to `knowledge`; the code sets `res`, printed as JSON; returns it."""
    prelude = f"import json, json as _json\nK = _json.loads({json.dumps(json.dumps(knowledge or {}))})\nres = {{}}\n"
    epilogue = f"\nprint({RESULT!r} + _json.dumps(res), flush=True)\n"
    return result_of(*run_cell(client, prelude + textwrap.dedent(code) + epilogue, timeout=timeout))


# Code that runs inside the kernels. `K` is what the test tells the kernel, `res` what it reports.

IDENTITY_CODE = """
import os, socket, sys
res["uid"], res["euid"], res["gid"], res["groups"] = os.getuid(), os.geteuid(), os.getgid(), sorted(os.getgroups())
res["home"], res["cwd"] = os.environ.get("HOME"), os.getcwd()
res["env_keys"] = sorted(os.environ)
old = os.umask(0o022); os.umask(old); res["umask"] = old
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
res["no_new_privs"], res["cap_eff"] = status["NoNewPrivs"].strip(), status["CapEff"].strip()
cmd = open("/proc/self/cmdline", "rb").read().decode().split("\\0")
cf = cmd[cmd.index("-f") + 1]
info = json.load(open(cf))
res["connection_file"], res["transport"], res["ip"] = cf, info["transport"], info["ip"]
res["interfaces"] = sorted(name for _, name in socket.if_nameindex())
res["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
res["pid"] = os.getpid()
import stat as _stat
def size(p):
    try:
        st = os.stat(p)
    except OSError:
        return None  # not there
    if _stat.S_ISCHR(st.st_mode):
        return 0  # masked (/dev/null bound over it)
    return st.st_size if _stat.S_ISREG(st.st_mode) else -1  # -1: a directory
res["visible"] = {p: size(p) for p in K["probe_paths"]}
"""

PIPE_PORT_CODE = """
from ipykernel.kernelapp import IPKernelApp
res["pipe_port"] = getattr(IPKernelApp.instance().iopub_thread, "_pipe_port", None)
"""

ATTACK_FILES_CODE = """
import os, glob, hashlib
def attempt_read(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return {"ok": True, "len": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "has_key": bool(K.get("alice_key")) and K["alice_key"].encode() in data}
    except Exception as e:
        return {"ok": False, "err": f"{type(e).__name__}: {e}"}
def attempt_list(path):
    try:
        return {"ok": True, "entries": sorted(os.listdir(path))}
    except Exception as e:
        return {"ok": False, "err": f"{type(e).__name__}: {e}"}
# 1. every process bob can see, and those whose command line mentions alice's kernel
seen, alice_seen = [], {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    seen.append(int(p))
    try:
        cmd = open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace").split("\\0")
    except Exception:
        continue
    if any(K["alice_kid"] in a for a in cmd):
        alice_seen[p] = cmd
res["visible_pid_count"], res["alice_pids_seen"] = len(seen), alice_seen
res["alice_host_pid_visible"] = os.path.exists(f"/proc/{K['alice_pid']}")
# 2. her connection file: the path from her command line (when visible), the exact path (told), guesses
paths = {K["alice_connection_file"]}
for cmd in alice_seen.values():
    paths.update(a for a in cmd if a.startswith("/") and a.endswith(".json"))
kdir = os.path.join(K["kernel_dir_root"], K["alice_kid"])
paths.update(os.path.join(kdir, n) for n in ("kernel.json", "connection.json", f"kernel-{K['alice_kid']}.json"))
paths.update(glob.glob(os.path.join(kdir, "*")))
res["reads"] = {p: attempt_read(p) for p in sorted(paths)}
# 3. her process: environment, open files, working directory (host pid told by the test, pids seen)
for pid in sorted({str(K["alice_pid"]), *alice_seen}):
    for what in ("environ", "cmdline", "maps"):
        r = attempt_read(f"/proc/{pid}/{what}")
        if what == "cmdline":
            r.pop("sha256", None)
        res["reads"][f"/proc/{pid}/{what}"] = r
    res.setdefault("lists", {})[f"/proc/{pid}/fd"] = attempt_list(f"/proc/{pid}/fd")
    res["lists"][f"/proc/{pid}/cwd"] = attempt_list(f"/proc/{pid}/cwd")
# 4. directory listings that would reveal her kernel or files
for d in (K["kernel_dir_root"], kdir, K["home_root"], K["alice_home"]):
    res.setdefault("lists", {})[d] = attempt_list(d)
# positive control: the same reads work on bob's own kernel
mine = open("/proc/self/cmdline", "rb").read().decode().split("\\0")
res["own_connection_file"] = attempt_read(mine[mine.index("-f") + 1])
res["own_environ"] = attempt_read(f"/proc/{os.getpid()}/environ")
res["own_dir"] = attempt_list(os.path.dirname(mine[mine.index("-f") + 1]))
"""

ATTACK_CHANNELS_CODE = """
import os, socket, time, zmq, faulthandler
_hang = open(os.path.join(os.environ["HOME"], "attack-channels.stack"), "w")
faulthandler.dump_traceback_later(K["window"] + 20, exit=False, file=_hang)
from jupyter_client.session import Session
mine = open("/proc/self/cmdline", "rb").read().decode().split("\\0")
own = json.load(open(mine[mine.index("-f") + 1]))
def url(info, port):
    return f"ipc://{info['ip']}-{port}" if info["transport"] == "ipc" else f"tcp://{info['ip']}:{port}"
# every listening TCP socket bob can see (his network namespace); he tries those of the gateway's process tree
listening = []
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(name).read().splitlines()[1:]
    except OSError:
        continue
    listening += [int(l.split()[1].split(":")[1], 16) for l in lines if l.split()[3] == "0A"]
res["listening_ports"] = sorted(set(listening))
tcp_targets = sorted(set(listening) & set(K["gateway_tree_ports"]))
ipc_targets = sorted(set(K["alice_ipc_paths"]) | {f"{K['kernel_dir_root']}/{K['alice_kid']}/kernel-{i}" for i in range(1, 6)})
targets = [f"tcp://127.0.0.1:{p}" for p in tcp_targets] + [f"ipc://{p}" for p in ipc_targets]
res["targets"] = targets
# plain connects: can bob reach the sockets at all?
res["connects"] = {}
for p in ipc_targets:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(p); res["connects"][p] = "connected"
    except Exception as e:
        res["connects"][p] = f"{type(e).__name__}: {e}"
    finally:
        s.close()
ctx = zmq.Context()
subs, dealers = {}, {}
bob_session = Session(key=own["key"].encode(), signature_scheme=own["signature_scheme"], username="bob")
unsigned = Session(key=b"", username="bob")
for t in targets + [url(own, own["iopub_port"])]:
    s = ctx.socket(zmq.SUB); s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.SUBSCRIBE, b""); s.connect(t)
    subs[t] = s
for t in targets + [url(own, own["control_port"])]:
    d = ctx.socket(zmq.DEALER); d.setsockopt(zmq.LINGER, 0); d.setsockopt(zmq.SNDTIMEO, 1000); d.connect(t)
    dealers[t] = d
time.sleep(1.0)  # slow joiners
res["sent"] = {}
for t, d in dealers.items():
    try:
        bob_session.send(d, "kernel_info_request", {})  # signed with bob's own key: he never got hers
        unsigned.send(d, "kernel_info_request", {})
        res["sent"][t] = "sent"
    except zmq.Again:
        res["sent"][t] = "send timed out"
print("@@READY@@", flush=True)
poller = zmq.Poller()
for s in list(subs.values()) + list(dealers.values()):
    poller.register(s, zmq.POLLIN)
got = {t: [] for t in list(subs) + [f"dealer {t}" for t in dealers]}
names = {id(s): t for t, s in subs.items()}
names.update({id(d): f"dealer {t}" for t, d in dealers.items()})
deadline, i = time.time() + K["window"], 0
while time.time() < deadline:
    print(f"@@PROBE@@{i}", flush=True); i += 1
    for s, _ in poller.poll(500):
        for _ in range(100):
            try:
                frames = s.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            got[names[id(s)]].append(b"".join(frames).decode(errors="replace"))
res["received"] = {t: {"count": len(v), "marker": any(K["marker"] in x for x in v),
                       "probe": any("@@PROBE@@" in x for x in v), "kernel_info": any("kernel_info_reply" in x for x in v)}
                   for t, v in got.items()}
res["own_iopub"], res["own_control"] = url(own, own["iopub_port"]), "dealer " + url(own, own["control_port"])
ctx.destroy(linger=0)
faulthandler.cancel_dump_traceback_later()
"""

ATTACK_PIPE_CODE = """
import os, time, zmq
from jupyter_client.session import Session
mine = open("/proc/self/cmdline", "rb").read().decode().split("\\0")
own = json.load(open(mine[mine.index("-f") + 1]))
listening = set()
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(name).read().splitlines()[1:]
    except OSError:
        continue
    listening |= {int(l.split()[1].split(":")[1], 16) for l in lines if l.split()[3] == "0A"}
targets = sorted(listening & set(K["gateway_tree_ports"]))
session = Session(key=own["key"].encode(), signature_scheme=own["signature_scheme"], username="bob")
ctx = zmq.Context()
pushes = {}
for port in targets:
    p = ctx.socket(zmq.PUSH); p.setsockopt(zmq.LINGER, 0); p.connect(f"tcp://127.0.0.1:{port}")
    pushes[port] = p
time.sleep(1.0)
res["pushed"] = {}
for port, p in pushes.items():
    frames = session.serialize(session.msg("stream", {"name": "stdout", "text": K["forged"]}))
    try:
        p.send_multipart([os.urandom(16), b"stream"] + frames, zmq.NOBLOCK); res["pushed"][port] = "sent"
    except zmq.Again:
        res["pushed"][port] = "not connected"
time.sleep(1.0)
ctx.destroy(linger=0)
"""

ATTACK_LOG_CODE = """
import os, sys
res["fds"] = {}
# the process's original stdout/stderr, which ipykernel keeps (dup'ed) while it captures fds 1 and 2
fds = {getattr(s, "_original_stdstream_copy", None) for s in (sys.stdout, sys.stderr)} - {None}
for fd in sorted(fds):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
        os.write(fd, (K["line"] + "\\n").encode())
        res["fds"][fd] = f"wrote to {target}"
    except OSError as e:
        res["fds"][fd] = f"{type(e).__name__}: {e}"
"""

ATTACK_SIGNAL_ALICE_CODE = """
import os, signal
res["kills"] = {}
for pid in sorted({K["alice_pid"], *K["alice_pids_seen"]}):
    for name in ("SIGKILL", "SIGTERM", "SIGSTOP"):
        try:
            os.kill(pid, getattr(signal, name)); res["kills"][f"{pid} {name}"] = "delivered"
        except Exception as e:
            res["kills"][f"{pid} {name}"] = f"{type(e).__name__}: {e}"
    try:
        os.killpg(pid, signal.SIGKILL); res["kills"][f"group {pid} SIGKILL"] = "delivered"
    except Exception as e:
        res["kills"][f"group {pid} SIGKILL"] = f"{type(e).__name__}: {e}"
"""

ATTACK_GATEWAY_CODE = """
import os, signal, hashlib
def attempt(fn):
    try:
        r = fn()
        return {"ok": True, "value": r}
    except Exception as e:
        return {"ok": False, "err": f"{type(e).__name__}: {e}"}
def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
def append(path):
    with open(path, "ab") as f:
        return f.write(b'{"username": "bob", "roles": ["admin"]} bob-was-here\\n')
def replace(path):
    tmp = path + ".bob"
    with open(tmp, "w") as f:
        f.write('{"version": 1, "users": [{"username": "bob", "roles": ["admin"]}]}')
    os.replace(tmp, path)
    return "replaced"
res["files"] = {}
for path in K["gateway_files"]:
    res["files"][path] = {"read": attempt(lambda: read(path)), "append": attempt(lambda: append(path)),
                          "chmod": attempt(lambda: os.chmod(path, 0o666)), "replace": attempt(lambda: replace(path))}
res["signals"] = {}
for name in ("SIGHUP", "SIGTERM"):
    res["signals"][f"gateway {K['gateway_pid']} {name}"] = attempt(lambda: os.kill(K["gateway_pid"], getattr(signal, name)))
res["gateway_environ"] = attempt(lambda: read(f"/proc/{K['gateway_pid']}/environ"))
res["ppid"] = os.getppid()
"""

ATTACK_PARENT_CODE = """
import os, signal
res["ppid"] = os.getppid()
res["signals"] = {}
for name in ("SIGHUP", "SIGTERM"):
    try:
        os.kill(os.getppid(), getattr(signal, name)); res["signals"][name] = "delivered"
    except Exception as e:
        res["signals"][name] = f"{type(e).__name__}: {e}"
"""

HISTORY_SEARCH_CODE = """
import os, sqlite3, time
found, budget = {}, time.time() + K["budget"]
roots = [os.environ.get("HOME", ""), K["alice_home"], K["alice_home"] + "/.ipython", "/root", K["home_root"],
         K["kernel_dir_root"], "/tmp", "/var/tmp", "/home", "/"]
skip = {"/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/boot", "/run", "/opt"}
def visit(path):
    try:
        data = open(path, "rb").read()
    except Exception as e:
        found[path] = {"ok": False, "err": f"{type(e).__name__}: {e}"}
        return
    entry = {"ok": True, "len": len(data), "needle_bytes": K["needle"].encode() in data, "rows": []}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        entry["rows"] = [r[0] for r in con.execute("select source from history") if K["needle"] in r[0]]
        entry["sources"] = con.execute("select count(*) from history").fetchone()[0]
        con.close()
    except Exception as e:
        entry["sqlite_err"] = f"{type(e).__name__}: {e}"
    found[path] = entry
for p in (K["alice_home"] + "/.ipython/profile_default/history.sqlite",
          "/root/.ipython/profile_default/history.sqlite"):
    visit(p)
for root in roots:
    for d, dirs, files in os.walk(root):
        if time.time() > budget:
            break
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
        for f in files:
            if f.startswith("history.sqlite") and os.path.join(d, f) not in found:
                visit(os.path.join(d, f))
res["files"] = found
res["timed_out"] = time.time() > budget
hm = get_ipython().history_manager
res["api_matches"] = [s for _, _, s in hm.search(f"*{K['needle']}*") if "K = " not in s]
res["own_hist_file"] = str(hm.hist_file)
"""


# --- the world: one gateway per mode, alice and bob with a python kernel each ------------------------------------

class World:
    pass


@pytest.fixture(scope="module", params=MODES)
def world(request):
    mode = request.param
    skip_unless_mode_possible(mode)
    w = World()
    w.mode = mode
    # The gateway's files live in a 0755 directory, like /etc/kernel-gateway: only their own modes protect them
    # (and, in the sandbox, the gateway hiding them: the directory is exposed read-only on purpose).
    w.workdir = pathlib.Path(tempfile.mkdtemp(prefix="kgi-"))
    request.addfinalizer(lambda: shutil.rmtree(w.workdir, ignore_errors=True))
    os.chmod(w.workdir, 0o755)
    w.config_file = w.workdir / "config.json"
    w.config_file.write_text(json.dumps({"cull_interval": 300}))
    os.chmod(w.config_file, 0o600)
    w.public_file = w.workdir / "public.txt"
    w.public_file.write_text("readable by everyone")
    os.chmod(w.public_file, 0o644)
    extra = ["--config", str(w.config_file)]
    if mode == "sandbox":
        extra += ["--sandbox-ro-bind", str(w.workdir)]
    w.gw = MultiUserGateway(w.workdir, {"alice": "user", "bob": "user", "root": "admin"}, policy={"version": 1},
                            extra_args=extra, isolation=mode)
    request.addfinalizer(w.gw.stop)
    w.alice, w.bob, w.root = (w.gw.user(n) for n in ("alice", "bob", "root"))
    w.alice_kid = w.alice.start_kernel("python3")
    w.bob_kid = w.bob.start_kernel("python3")
    w.a = w.alice.channel(w.alice_kid)
    request.addfinalizer(w.a.close)
    w.b = w.bob.channel(w.bob_kid)
    request.addfinalizer(w.b.close)
    w.canary = secrets.token_hex(8)
    run_cell(w.a, f"canary = {w.canary!r}", timeout=90)
    run_cell(w.b, "1", timeout=90)
    w.alice_pid, w.alice_uid, w.alice_cmd = kernel_process(w.alice_kid)
    w.bob_pid, w.bob_uid, w.bob_cmd = kernel_process(w.bob_kid)
    w.alice_account = pwd.getpwnam(ACCOUNTS.account("alice"))
    w.bob_account = pwd.getpwnam(ACCOUNTS.account("bob"))
    w.alice_cf = connection_file_of(w.alice_cmd)
    w.alice_info = json.loads(pathlib.Path(w.alice_cf).read_text())
    w.alice_home = w.gw.kernel_home_root / "alice"
    # Before any attack: bob's code really runs as kgt-bob (never as root), or the attacks below would hit
    # everything on the machine.
    assert w.bob_uid == w.bob_account.pw_uid != 0, (w.bob_uid, w.bob_account)
    assert w.alice_uid == w.alice_account.pw_uid != 0
    return w


def knowledge(w, **more):
    """What the test tells bob: everything an attacker could learn or guess (ids, paths, pids), never a secret."""
    return {"alice_kid": w.alice_kid, "alice_pid": w.alice_pid, "alice_connection_file": w.alice_cf,
            "kernel_dir_root": str(w.gw.kernel_dir_root), "home_root": str(w.gw.kernel_home_root),
            "alice_home": str(w.alice_home), "gateway_pid": w.gw.proc.pid, **more}


def is_denied(read):
    """A read that got nothing: failed, or (sandbox masking) an empty file."""
    return not read["ok"] or read["len"] == 0


# --- f. positive checks: who and where the kernels are -----------------------------------------------------------

def test_kernel_identity_home_umask_transport(world):
    w = world
    probes = [str(w.gw.users_file), str(w.gw.audit_path), str(w.config_file), str(w.gw.policy_file),
              str(w.gw.log_path), str(w.gw.runtime_dir), str(BUILD / "kernel-gateway"), str(REPO / "Sources"),
              str(w.public_file)]
    for who, client, kid, account in (("alice", w.a, w.alice_kid, w.alice_account),
                                      ("bob", w.b, w.bob_kid, w.bob_account)):
        r = run_json(client, IDENTITY_CODE, {"probe_paths": probes})
        home = str(w.gw.kernel_home_root / who)
        assert r["uid"] == r["euid"] == account.pw_uid, (who, r)
        assert r["gid"] == account.pw_gid and 0 not in r["groups"], (who, r)
        assert r["home"] == home and r["cwd"] == home, (who, r)
        assert r["umask"] == 0o077, (who, oct(r["umask"]))
        assert r["no_new_privs"] == "1" and int(r["cap_eff"], 16) == 0, (who, r)
        assert r["transport"] == "ipc", (who, r)
        assert r["ip"].startswith(str(w.gw.kernel_dir_root / kid) + "/"), (who, r)
        assert not any(k.startswith("KG_") for k in r["env_keys"]), r["env_keys"]
        # host side: home and kernel directory belong to the account, 0700; the connection file 0600
        for path, mode in ((home, 0o700), (w.gw.kernel_dir_root / kid, 0o700), (r["connection_file"], 0o600)):
            st = os.lstat(path)
            assert st.st_uid == account.pw_uid and stat.S_IMODE(st.st_mode) == mode, (path, st.st_uid, oct(st.st_mode))
        assert r["interfaces"] == ["lo"], r["interfaces"]  # a network namespace of its own in both modes
        if w.mode == "sandbox":
            assert len(r["pids"]) <= 4, r["pids"]  # bubblewrap's init and the kernel
            # none of the gateway's files (absent, or masked by an empty file), nor the repository
            shown = {p: v for p, v in r["visible"].items() if p != str(w.public_file) and v not in (None, 0)}
            assert not shown, shown
            assert r["visible"][str(w.public_file)] == len("readable by everyone"), \
                "--sandbox-ro-bind did not expose the directory"
        else:
            assert len(r["pids"]) > 10
    # the gateway's own files: the users/policy/config files stay 0600, the audit log was created 0600
    for f in (w.gw.users_file, w.gw.policy_file, w.config_file, w.gw.audit_path):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, (f, oct(os.stat(f).st_mode))
    status = w.alice.get("/api/status").json()
    assert status["kernel_isolation"] == w.mode, status


def test_no_kernel_channel_listens_on_tcp(world):
    """The five channels are ipc sockets. ipykernel itself still binds one loopback TCP port whatever the
    transport: its IOPub "fork pipe" (a PULL socket for output of forked children, which drops every message
    not prefixed by a random 16-byte secret). Anything else listening on TCP is a failure; that pipe is
    attacked in test_bob_cannot_connect_to_alice_channels."""
    w = world
    for client, kid in ((w.a, w.alice_kid), (w.b, w.bob_kid)):
        pipe_port = run_json(client, PIPE_PORT_CODE)["pipe_port"]
        pid, _, _ = kernel_process(kid)
        listeners = tcp_listeners(pid)
        ports = sorted(listeners[i] for i in socket_inodes(pid) & set(listeners))
        assert set(ports) <= {pipe_port}, f"kernel {kid} listens on TCP ports {ports} (ipykernel's pipe: {pipe_port})"


# --- a. finding and reading alice's kernel -----------------------------------------------------------------------

def test_bob_cannot_find_or_read_alice_kernel(world):
    w = world
    r = run_json(w.b, ATTACK_FILES_CODE, knowledge(w, alice_key=w.alice_info["key"]))
    print(f"[{w.mode}] bob sees {r['visible_pid_count']} pids; alice's kernel visible as {sorted(r['alice_pids_seen'])}")
    # positive control: the same code reads bob's own connection file, environment and directory
    assert r["own_connection_file"]["ok"] and r["own_connection_file"]["len"] > 0, r["own_connection_file"]
    assert r["own_environ"]["ok"] and r["own_environ"]["len"] > 0, r["own_environ"]
    assert r["own_dir"]["ok"] and r["own_dir"]["entries"], r["own_dir"]
    readable = {p: v for p, v in r["reads"].items() if not is_denied(v) and not p.endswith("/cmdline")}
    assert not readable, readable
    assert not any(v.get("has_key") for v in r["reads"].values())
    # alice's directories cannot be listed; a listing bob can make (in the sandbox, the directories bubblewrap
    # made for his own binds) names nothing of hers
    assert not r["lists"][str(w.gw.kernel_dir_root / w.alice_kid)]["ok"]
    assert not r["lists"][str(w.alice_home)]["ok"]
    listed = {p: v["entries"] for p, v in r["lists"].items() if v["ok"]}
    assert not any("alice" in e or w.alice_kid in e for v in listed.values() for e in v), listed
    if w.mode == "unix-user":
        assert not listed, listed  # the 0711 roots cannot be listed at all
    if w.mode == "sandbox":
        assert r["alice_pids_seen"] == {} and r["visible_pid_count"] <= 4, r
        assert not r["alice_host_pid_visible"] or str(w.alice_pid) not in r["alice_pids_seen"]
    else:
        # Without a pid namespace bob may see that alice's kernel exists (command lines are public); its
        # secrets are not
        assert r["alice_host_pid_visible"]


# --- b. connecting to alice's channels ---------------------------------------------------------------------------

def gateway_tree_ports(w):
    listeners = tcp_listeners()
    ports = set()
    for pid in descendants(w.gw.proc.pid):
        ports |= {listeners[i] for i in socket_inodes(pid) & set(listeners)}
    return sorted(ports)


def drain(client, seconds):
    """Every message arriving on `client` within `seconds`."""
    got, deadline = [], time.time() + seconds
    while time.time() < deadline:
        try:
            got.append(client.recv(timeout=max(0.05, deadline - time.time())))
        except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException):
            break
    return got


def test_bob_cannot_connect_to_alice_channels(world):
    w = world
    marker = "MARK-" + secrets.token_hex(8)
    alice_ipc = [f"{w.alice_info['ip']}-{w.alice_info[k]}" for k in
                 ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
    assert w.alice_info["transport"] == "ipc" and all(os.path.exists(p) for p in alice_ipc), alice_ipc
    k = knowledge(w, marker=marker, window=5, alice_ipc_paths=alice_ipc, gateway_tree_ports=gateway_tree_ports(w))
    prelude = f"import json, json as _json\nK = _json.loads({json.dumps(json.dumps(k))})\nres = {{}}\n"
    code = prelude + textwrap.dedent(ATTACK_CHANNELS_CODE) + f"\nprint({RESULT!r} + _json.dumps(res), flush=True)\n"
    attack = w.b.execute(code, store_history=False)
    w.b.wait_for(lambda m: m["header"]["msg_type"] == "stream" and "@@READY@@" in m["content"]["text"], timeout=60)
    # while bob listens, alice prints the marker; her own client sees it, so it was really published
    out, reply = run_cell(w.a, f"import time\nfor _ in range(8):\n    print({marker!r}, flush=True); time.sleep(0.3)")
    assert reply["status"] == "ok" and marker in out
    try:
        got = w.b.collect_until_idle(attack, timeout=60)
    except Exception:
        stack = w.gw.kernel_home_root / "bob" / "attack-channels.stack"
        raise AssertionError(f"bob's attack did not finish; his stacks:\n{stack.read_text() if stack.exists() else ''}")
    out = "".join(m["content"]["text"] for m in got if m["header"]["msg_type"] == "stream")
    reply = [m for m in got if m["header"]["msg_type"] == "execute_reply"][0]["content"]
    r = result_of(out, reply)
    print(f"[{w.mode}] bob sees listening TCP ports {r['listening_ports']}; tried {r['targets']}")
    # positive control: bob's SUB on his own iopub got his probes, his DEALER on his own control got a reply
    assert r["received"][r["own_iopub"]]["probe"], r["received"]
    assert r["received"][r["own_control"]]["kernel_info"], r["received"]
    foreign = {t: v for t, v in r["received"].items() if t not in (r["own_iopub"], r["own_control"])}
    assert all(v["count"] == 0 and not v["marker"] for v in foreign.values()), foreign
    assert not any(v == "connected" for v in r["connects"].values()), r["connects"]
    assert set(r["connects"]) >= set(alice_ipc)


def test_bob_cannot_inject_into_alice_output(world, request):
    """ipykernel binds its IOPub fork pipe (a PULL socket) on a loopback TCP port whatever the transport. Bob
    pushes forged output at every TCP port of the gateway's process tree he can see. ipykernel would drop it (no
    secret prefix) but print "Bad pipe message: <the frames>" to its stderr, which it forwards to its iopub: to
    alice's notebook. Every isolated kernel has its own network namespace (--kernel-network none, the default),
    so bob cannot reach that port."""
    w = world
    forged = "FORGED-" + secrets.token_hex(8)
    r = run_json(w.b, ATTACK_PIPE_CODE, knowledge(w, forged=forged, gateway_tree_ports=gateway_tree_ports(w)))
    print(f"[{w.mode}] bob's pushes: {r['pushed']}")
    w.a.backlog.clear()
    run_cell(w.a, "import sys; sys.stderr.flush(); print('after')")
    seen = w.a.backlog + drain(w.a, 1.5)
    leaked = [m["content"] for m in seen if forged in json.dumps(m["content"])]
    assert not leaked, leaked


# --- c. signalling alice's kernel -------------------------------------------------------------------------------

def test_bob_cannot_kill_alice_kernel(world):
    w = world
    pid_before, _, _ = kernel_process(w.alice_kid)
    seen = [int(p) for p in run_json(w.b, ATTACK_FILES_CODE, knowledge(w))["alice_pids_seen"]]
    r = run_json(w.b, ATTACK_SIGNAL_ALICE_CODE, knowledge(w, alice_pids_seen=seen))
    print(f"[{w.mode}] bob's signals: {r['kills']}")
    assert not any(v == "delivered" for v in r["kills"].values()), r["kills"]
    time.sleep(0.5)
    out, reply = run_cell(w.a, "print(canary)", timeout=30)
    assert reply["status"] == "ok" and w.canary in out  # the same kernel process, not a restarted one
    assert kernel_process(w.alice_kid)[0] == pid_before
    state = pathlib.Path(f"/proc/{pid_before}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert state in ("S", "R"), state


# --- d. the gateway's files and process --------------------------------------------------------------------------

def test_bob_cannot_touch_gateway_files_or_signal_gateway(world):
    w = world
    files = [w.gw.users_file, w.gw.policy_file, w.config_file, w.gw.audit_path, w.gw.log_path]
    before = {f: (f.read_bytes(), stat.S_IMODE(os.stat(f).st_mode), os.stat(f).st_uid) for f in files[:3]}
    log_offset = len(w.gw.log_text())
    r = run_json(w.b, ATTACK_GATEWAY_CODE, knowledge(w, gateway_files=[str(f) for f in files]))
    p = run_json(w.b, ATTACK_PARENT_CODE, {})
    print(f"[{w.mode}] bob's ppid {p['ppid']} (gateway {w.gw.proc.pid}): {p['signals']}; gateway: {r['signals']}")
    for path, attempts in r["files"].items():
        assert is_denied(attempts["read"]["value"]) if attempts["read"]["ok"] else True, (path, attempts)
        if "FileNotFoundError" in attempts["read"].get("err", ""):
            assert w.mode == "sandbox", (path, attempts)
            continue  # not in bob's sandbox: whatever he writes there lands in his private /tmp (checked below)
        for action in ("append", "chmod", "replace"):
            assert not attempts[action]["ok"], (path, action, attempts)
    assert not any(v["ok"] for v in r["signals"].values()), r["signals"]
    assert not r["gateway_environ"]["ok"], r["gateway_environ"]
    if p["ppid"] == w.gw.proc.pid:
        assert not any(v == "delivered" for v in p["signals"].values()), p
    time.sleep(0.5)
    # nothing changed: same bytes, modes and owners; the gateway still serves and did not reload; bob is no admin
    for f, (data, mode, uid) in before.items():
        assert f.read_bytes() == data and stat.S_IMODE(os.stat(f).st_mode) == mode and os.stat(f).st_uid == uid, f
    assert stat.S_IMODE(os.stat(w.gw.audit_path).st_mode) == 0o600
    assert "bob-was-here" not in w.gw.audit_path.read_text()
    assert "bob-was-here" not in w.gw.log_text()
    assert stat.S_IMODE(os.stat(w.gw.log_path).st_mode) == 0o600
    assert not list(w.workdir.glob("*.bob"))
    assert w.gw.proc.poll() is None
    assert w.alice.get("/api/status").status_code == 200
    assert "reloaded users and policy" not in w.gw.log_text()[log_offset:]
    assert w.bob.get("/metrics").status_code == 403
    assert w.bob.get("/api/me").json()["identity"]["username"] == "bob"
    assert w.root.get("/metrics").status_code == 200
    # bob's kernel may have killed its own sandbox (its parent there): then the gateway restarts it
    deadline = time.time() + 60
    while w.bob.get(f"/api/kernels/{w.bob_kid}").json()["execution_state"] not in ("idle", "busy"):
        assert time.time() < deadline
        time.sleep(0.2)


def test_bob_cannot_forge_gateway_log_lines(world, request):
    """Bob's code writes a line that looks exactly like one of the gateway's JSON log lines to his kernel's
    stdout and stderr. Kernels write into a pipe the gateway reads: the line reaches the log only escaped, as
    the `line` of a `kernel output` record."""
    w = world
    forged = {"ts": "2026-01-01T00:00:00.000Z", "level": "info", "logger": "gateway",
              "msg": "reloaded users and policy", "forged_by": "bob-" + secrets.token_hex(4)}
    line = json.dumps(forged, separators=(",", ":"))
    r = run_json(w.b, ATTACK_LOG_CODE, {"line": line})
    print(f"[{w.mode}] bob's writes to his original stdout/stderr: {r['fds']}")
    time.sleep(0.3)
    log = w.gw.log_text()
    assert line not in log
    records = [json.loads(l) for l in log.splitlines() if l.startswith("{")]
    assert any(r.get("msg") == "kernel output" and r.get("line") == line for r in records), "bob's line not logged"


# --- e. IPython history -------------------------------------------------------------------------------------------

def alice_history_rows(w, needle):
    path = w.alice_home / ".ipython" / "profile_default" / "history.sqlite"
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    try:
        return [r[0] for r in con.execute("select source from history") if needle in r[0]]
    except sqlite3.Error:
        return []
    finally:
        con.close()


def test_bob_cannot_read_alice_history(world):
    w = world
    secret = f"hunter2-{secrets.token_hex(8)}"
    out, reply = run_cell(w.a, f"secret = {secret!r}", store_history=True)
    assert reply["status"] == "ok"
    # the attack would work without isolation: the secret is in alice's history file on disk
    deadline = time.time() + 20
    while not alice_history_rows(w, secret):
        assert time.time() < deadline, "alice's history.sqlite never got the secret"
        run_cell(w.a, "get_ipython().history_manager.writeout_cache()")
        time.sleep(0.3)
    # bob's own history, so that his search has something of his own to find (positive control)
    own = f"hunter2-bob-{secrets.token_hex(4)}"
    run_cell(w.b, f"mine = {own!r}", store_history=True)
    run_cell(w.b, "get_ipython().history_manager.writeout_cache()")
    r = run_json(w.b, HISTORY_SEARCH_CODE, knowledge(w, needle="hunter2-", budget=20), timeout=90)
    text = json.dumps(r)
    assert secret not in text
    own_file = r["own_hist_file"]
    assert r["files"].get(own_file, {}).get("ok") and any(own in x for x in r["files"][own_file]["rows"]), \
        r["files"].get(own_file)
    alice_file = f"{w.alice_home}/.ipython/profile_default/history.sqlite"
    assert not r["files"][alice_file]["ok"], r["files"][alice_file]
    assert all(secret not in s for s in r["api_matches"])
    # history_request through bob's own kernel (search and tail): his kernel has no idea of alice's secret
    for content in ({"hist_access_type": "search", "pattern": "*hunter2*", "n": 1000, "unique": False},
                    {"hist_access_type": "tail", "n": 1000}):
        msg = w.b.request("history_request", {"output": False, "raw": True, **content})
        h = w.b.reply_to(msg, "history_reply", timeout=30)
        assert h["content"]["status"] == "ok"
        assert secret not in json.dumps(h["content"])
        assert own in json.dumps(h["content"])
    assert alice_history_rows(w, secret)  # and it is still there for alice


# --- cleanup: deleting kernels leaves no process and no directory behind ----------------------------------------

def test_deleting_kernels_leaves_nothing(world):
    w = world
    for who, kid in ((w.alice, w.alice_kid), (w.bob, w.bob_kid)):
        assert who.delete(f"/api/kernels/{kid}").status_code == 204
    deadline = time.time() + 20
    while processes_of_uid(w.alice_account.pw_uid) or processes_of_uid(w.bob_account.pw_uid):
        assert time.time() < deadline, (processes_of_uid(w.alice_account.pw_uid), processes_of_uid(w.bob_account.pw_uid))
        time.sleep(0.1)
    for kid in (w.alice_kid, w.bob_kid):
        assert not (w.gw.kernel_dir_root / kid).exists()


# --- the suites' own gateways really use KG_TEST_ISOLATION ---------------------------------------------------

def test_suite_gateways_use_the_requested_isolation(gateway):
    """A guard for the runs with KG_TEST_ISOLATION (scripts/test.sh): the conftest gateways run in that mode and
    their kernels run as the mapped throw-away account (shared-token identity: admin)."""
    status = gateway.get("/api/status").json()
    assert status["kernel_isolation"] == ISOLATION, status
    kid = gateway.start_kernel("echo")["id"]
    try:
        uids = echo_kernel_uids(kid)
        expected = os.geteuid() if ISOLATION == "none" else pwd.getpwnam(ACCOUNTS.account("admin")).pw_uid
        assert uids == {expected}, (ISOLATION, uids, expected)
    finally:
        gateway.delete(f"/api/kernels/{kid}")


# --- the host network on request --------------------------------------------------------------------------------

@needs_root
@pytest.mark.parametrize("mode", MODES)
def test_host_network_on_request(tmp_path, mode):
    skip_unless_mode_possible(mode)
    gw = MultiUserGateway(tmp_path / "mu", {"alice": "user"}, extra_args=["--kernel-network", "host"],
                          isolation=mode)
    try:
        alice = gw.user("alice")
        kid = alice.start_kernel("python3")
        c = alice.channel(kid)
        try:
            r = run_json(c, IDENTITY_CODE, {"probe_paths": []}, timeout=90)
        finally:
            c.close()
        import socket
        assert r["interfaces"] == sorted(name for _, name in socket.if_nameindex()), r["interfaces"]
        assert r["uid"] == pwd.getpwnam(ACCOUNTS.account("alice")).pw_uid
        assert len(r["pids"]) <= 4 if mode == "sandbox" else len(r["pids"]) > 10
        assert r["transport"] == "ipc"
        alice.delete(f"/api/kernels/{kid}")
    finally:
        gw.stop()


# --- mapping refusals: unmapped, root, outside the uid range; the users-file field wins over the pattern ---------

def echo_kernel_uids(kid, timeout=20):
    """The uids of the echo-kernel processes of kernel `kid` (waits until there is one)."""
    deadline = time.time() + timeout
    while True:
        uids = set()
        for pid in all_pids():
            cmd = proc_cmdline(pid)
            if cmd and os.path.basename(cmd[0]) == "echo-kernel" and any(kid in a for a in cmd):
                try:
                    uids.add(os.stat(f"/proc/{pid}").st_uid)
                except OSError:
                    pass
        if uids or time.time() > deadline:
            return uids
        time.sleep(0.1)


def assert_start_refused(user, *needles):
    r = user.post("/api/kernels", {"name": "echo"})
    assert r.status_code == 403, (user.name, r.status_code, r.text)
    message = r.json()["message"]
    for n in needles:
        assert n in message, (user.name, n, message)
    return message


@needs_root
@pytest.mark.parametrize("mode", MODES)
def test_unmapped_root_and_out_of_range_accounts_are_refused(tmp_path, mode):
    skip_unless_mode_possible(mode)
    users_file = tmp_path / "users.json"
    ghost_account = ACCOUNTS.account("ghost")
    with pytest.raises(KeyError):
        pwd.getpwnam(ghost_account)  # the pattern maps ghost to an account that does not exist
    tokens = {}
    for name, unix_user in (("alice", None), ("ghost", None), ("rooty", "root"), ("daemonic", "daemon"),
                            ("carol", ACCOUNTS.account("bob"))):
        args = ["add", name, "--role", "user", "--file", users_file] + (["--unix-user", unix_user] if unix_user else [])
        r = users_cli(*args)
        assert r.returncode == 0, r.stderr
        tokens[name] = r.stdout.strip()
    os.chmod(users_file, 0o600)
    gw = Gateway(["--users-file", str(users_file), "--metrics-open"], token=None, isolation=mode,
                 usernames=["alice", "bob"])
    try:
        view = {n: UserView(gw, n, t) for n, t in tokens.items()}
        assert_start_refused(view["ghost"], ghost_account)
        msg = assert_start_refused(view["rooty"], "root")
        assert "uid 0" in msg, msg
        msg = assert_start_refused(view["daemonic"], "daemon")
        assert "range" in msg.lower(), msg
        # counted as denials, not as failed kernel starts
        metrics = requests.get(gw.base + "/metrics", timeout=10).text
        assert 'kernel_gateway_http_denials_total{reason="kernel_isolation"} 3' in metrics, metrics
        assert "kernel_gateway_kernel_start_failures_total 0" in metrics, metrics
        # the users file's unix_user wins over the pattern: carol's kernels run as the bob account
        kid = view["carol"].start_kernel("echo")
        bob_uid = pwd.getpwnam(ACCOUNTS.account("bob")).pw_uid
        assert echo_kernel_uids(kid) == {bob_uid}
        kid2 = view["alice"].start_kernel("echo")
        assert echo_kernel_uids(kid2) == {pwd.getpwnam(ACCOUNTS.account("alice")).pw_uid}
        # refused starts left nothing behind: only the two kernels' directories exist
        assert sorted(p.name for p in gw.kernel_dir_root.iterdir() if p.is_dir()) == sorted([kid, kid2])
        assert {k["id"] for k in view["ghost"].get("/api/kernels").json()} == set()
    finally:
        gw.stop()
    # a narrower --unix-uid-range refuses alice's (otherwise fine) account
    gw = Gateway(["--users-file", str(users_file), "--unix-uid-range", "60000-60001"], token=None, isolation=mode,
                 usernames=["alice"])
    try:
        msg = assert_start_refused(UserView(gw, "alice", tokens["alice"]), ACCOUNTS.account("alice"), "60000-60001")
    finally:
        gw.stop()


# --- startup refusals -------------------------------------------------------------------------------------------

def run_gateway_expecting_exit(args, timeout=30):
    """Runs kernel-gateway with `args` on a free port; returns (exit status, output). Kills it (and fails) when
    it starts serving instead of exiting."""
    with tempfile.TemporaryDirectory(prefix="kg-refuse-") as tmp:
        cmd = [str(KERNEL_GATEWAY), "--port", str(free_port()), "--port-retries", "0", "--runtime-dir",
               f"{tmp}/rt", "--kernelspec-dir", str(REPO / "kernelspecs"), *map(str, args)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            raise AssertionError(f"the gateway did not exit: {cmd}\n{out}")
        return proc.returncode, out


def test_users_file_without_isolation_needs_allow_shared_kernel_user(tmp_path):
    users_file = tmp_path / "users.json"
    assert users_cli("add", "alice", "--role", "user", "--file", users_file).returncode == 0
    code, out = run_gateway_expecting_exit(["--users-file", users_file, "--kernel-isolation", "none"])
    assert code != 0 and "--allow-shared-kernel-user" in out, (code, out)
    code, out = run_gateway_expecting_exit(["--users-file", users_file])  # none is the default
    assert code != 0 and "--allow-shared-kernel-user" in out, (code, out)
    gw = MultiUserGateway(tmp_path / "mu", {"alice": "user"}, isolation="none")  # passes the flag
    try:
        status = gw.user("alice").get("/api/status").json()
        assert status["kernel_isolation"] == "none" and status["warnings"], status
        logged = [json.loads(line) for line in gw.log_text().splitlines() if line.startswith("{")]
        assert any(e.get("level") == "warning" and e.get("msg") in status["warnings"] for e in logged), gw.log_text()
    finally:
        gw.stop()
    gw = Gateway(isolation=False)  # shared-token mode: no users file, nothing to allow
    try:
        assert gw.get("/api/status").json()["kernel_isolation"] == "none"
    finally:
        gw.stop()


@needs_root
@pytest.mark.parametrize("mode", MODES)
def test_private_files_and_unreachable_roots_are_refused(tmp_path, mode):
    skip_unless_mode_possible(mode)
    ACCOUNTS.ensure("alice")
    work = tmp_path / "w"
    work.mkdir()
    users_file, policy_file, config_file = work / "users.json", work / "policy.json", work / "config.json"
    assert users_cli("add", "alice", "--role", "user", "--file", users_file).returncode == 0
    policy_file.write_text('{"version": 1}')
    config_file.write_text('{"cull_interval": 300}')
    roots = pathlib.Path(tempfile.mkdtemp(prefix="kgr-"))
    try:
        os.chmod(roots, 0o755)
        common = ["--kernel-isolation", mode, "--unix-user-pattern", ACCOUNTS.pattern,
                  "--users-file", users_file, "--policy-file", policy_file, "--config", config_file]
        base = [*common, "--kernel-home-root", roots / "homes", "--kernel-dir-root", roots / "k"]
        for f in (users_file, policy_file, config_file):
            os.chmod(f, 0o600)
        for f, loose in ((users_file, 0o640), (policy_file, 0o644), (config_file, 0o604), (users_file, 0o620)):
            os.chmod(f, loose)
            code, out = run_gateway_expecting_exit(base)
            os.chmod(f, 0o600)
            assert code != 0 and str(f) in out, (f, oct(loose), code, out)
        # a root below a directory kernel accounts cannot traverse
        hidden = roots / "private"
        hidden.mkdir(mode=0o700)
        for homes, kdirs in ((roots / "homes", hidden / "k"), (hidden / "homes", roots / "k")):
            code, out = run_gateway_expecting_exit([*common, "--kernel-home-root", homes, "--kernel-dir-root", kdirs])
            assert code != 0 and str(hidden) in out, (homes, kdirs, code, out)
    finally:
        shutil.rmtree(roots, ignore_errors=True)
