"""Shared fixtures for the integration tests: build paths, a running gateway, REST and WebSocket helpers.

Every test talks to a real `kernel-gateway` binary over loopback, with real kernels (echo-kernel and ipykernel
from the project's .venv).

Kernel isolation: `KG_TEST_ISOLATION=none|unix-user|sandbox` (default none) applies to every gateway the suites
start. In `unix-user` and `sandbox` (root only) each gateway user's kernels run as a throw-away Unix account
`kgt-<username>` that this module creates on demand (regular uid, no home, nologin shell) and removes again at
the end of the session; see `UnixAccounts`.
"""
import atexit
import fcntl
import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("KG_BUILD_DIR", REPO / ".build" / "debug"))
# The venv may be a symlink to a directory every account can reach (scripts/setup.sh): name it by its real path,
# which is the one its kernelspec uses and the one a sandbox mounts.
VENV_SHARE = (REPO / ".venv").resolve() / "share" / "jupyter"

ISOLATION_MODES = ("none", "unix-user", "sandbox")
ISOLATION = os.environ.get("KG_TEST_ISOLATION", "").strip() or "none"
if ISOLATION not in ISOLATION_MODES:
    raise RuntimeError(f"KG_TEST_ISOLATION={ISOLATION!r}: expected one of {', '.join(ISOLATION_MODES)}")

# Tests of existing modules that cannot run under kernel isolation, with the reason (node id prefix -> reason).
# Applied by pytest_collection_modifyitems; keep this list minimal.
NONE_ONLY_TESTS = {
    # counts connection files in --runtime-dir; under isolation they live in --kernel-dir-root/<kernel id>/
    # (test_isolation.py checks those, and that they are removed with their kernel)
    "test_operations.py::test_sigterm_stops_gracefully":
        "asserts on connection files in --runtime-dir, where isolated kernels have none",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "isolation_none_only(reason): run only when KG_TEST_ISOLATION is none")
    if ISOLATION != "none" and os.geteuid() != 0:
        raise pytest.UsageError(f"KG_TEST_ISOLATION={ISOLATION} needs root: the gateway must run as root to start "
                                "kernels as other Unix accounts")


def pytest_collection_modifyitems(config, items):
    if ISOLATION == "none":
        return
    for item in items:
        marker = item.get_closest_marker("isolation_none_only")
        reason = marker and (marker.args[0] if marker.args else marker.kwargs.get("reason", ""))
        for prefix, why in NONE_ONLY_TESTS.items():
            if item.nodeid.startswith(prefix) or item.nodeid.split("/")[-1].startswith(prefix):
                reason = why
        if reason is not None and reason is not False:
            item.add_marker(pytest.mark.skip(reason=f"only without kernel isolation: {reason}"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------------------
# Throw-away Unix accounts for kernel isolation.

def reachable_by_others(path):
    """True when every directory from / down to `path` (itself included) has o+x."""
    p = pathlib.Path(os.path.realpath(path))
    for d in [p, *p.parents]:
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False
    return True


class UnixAccounts:
    """Creates `<prefix><username>` accounts on demand and removes exactly those at the end of the session.

    Only accounts this suite made are ever removed: each carries ACCOUNT_MARKER and the creating pid in its GECOS
    field. One pytest session at a time uses the plain `kgt-` prefix (an flock on LOCK_PATH); a concurrent
    session uses `kgt<pid>-` so that neither deletes the other's accounts. The `kgt-` holder also removes
    marked accounts left behind by sessions that died (their pid is gone)."""

    ACCOUNT_MARKER = "kernel-gateway integration test account"
    LOCK_PATH = "/run/lock/kernel-gateway-test-accounts.lock"

    def __init__(self):
        self.created = []
        self.prefix = None
        self._lock = None

    def _start(self):
        if self.prefix is not None:
            return
        lock_dir = os.path.dirname(self.LOCK_PATH)
        path = self.LOCK_PATH if os.path.isdir(lock_dir) else os.path.join(tempfile.gettempdir(),
                                                                            os.path.basename(self.LOCK_PATH))
        self._lock = open(path, "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.prefix = "kgt-"
            self._remove_stale()
        except BlockingIOError:
            self.prefix = f"kgt{os.getpid()}-"

    @property
    def pattern(self):
        self._start()
        return self.prefix + "{username}"

    def account(self, username):
        self._start()
        return self.prefix + username

    @classmethod
    def _creator(cls, entry):
        """The pid that created a marked account, or None when the account is not one of ours."""
        gecos = entry.pw_gecos
        if not gecos.startswith(cls.ACCOUNT_MARKER):
            return None
        try:
            return int(gecos.rsplit("pid ", 1)[1].rstrip(")"))
        except (IndexError, ValueError):
            return 0

    def _remove_stale(self):
        for entry in pwd.getpwall():
            pid = self._creator(entry)
            if pid is None or pid == os.getpid():
                continue
            if pid and os.path.exists(f"/proc/{pid}"):
                continue
            print(f"conftest: removing account {entry.pw_name} left by a dead test session (pid {pid})",
                  file=sys.stderr)
            self._userdel(entry.pw_name)

    def ensure(self, username):
        """The account for gateway user `username`, created if needed; returns its pwd entry."""
        name = self.account(username)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            entry = None
        if entry is not None:
            if name in self.created:
                return entry
            raise RuntimeError(f"Unix account {name} exists but was not created by this test session "
                               f"(GECOS {entry.pw_gecos!r}); the isolation tests will not use or remove it")
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        r = subprocess.run([useradd, "--no-create-home", "--shell", "/usr/sbin/nologin",
                            "--comment", f"{self.ACCOUNT_MARKER} (pid {os.getpid()})",
                            "--key", "UID_MIN=1000", "--key", "UID_MAX=59999", name],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"useradd {name} failed: {r.stderr.strip()}")
        self.created.append(name)
        return pwd.getpwnam(name)

    @staticmethod
    def _processes_of(uid):
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        pids.append(int(entry))
                except OSError:
                    pass
        return pids

    def _userdel(self, name):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return
        if self._creator(entry) is None:
            return  # not ours (any more): never touched
        deadline = time.time() + 10
        while self._processes_of(entry.pw_uid) and time.time() < deadline:
            time.sleep(0.1)
        leftovers = self._processes_of(entry.pw_uid)
        if leftovers:
            # Kernels of a stopped gateway that outlived it: report them, then they go with the account.
            print(f"conftest: processes of {name} still running after their gateways stopped: {leftovers}; "
                  "killing them", file=sys.stderr)
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.2)
        userdel = shutil.which("userdel") or "/usr/sbin/userdel"
        r = subprocess.run([userdel, "--force", name], capture_output=True, text=True, timeout=60)
        if r.returncode not in (0, 6):  # 6: no such user
            print(f"conftest: userdel {name} failed: {r.stderr.strip()}", file=sys.stderr)

    def remove_all(self):
        while self.created:
            self._userdel(self.created.pop())


ACCOUNTS = UnixAccounts()
atexit.register(ACCOUNTS.remove_all)


@pytest.fixture(scope="session", autouse=True)
def _unix_accounts_cleanup():
    """Removes the session's throw-away accounts after every other fixture (and so every gateway) is gone."""
    yield ACCOUNTS
    ACCOUNTS.remove_all()


_kernel_bin_dir = None


def kernel_bin_dir():
    """A directory holding echo-kernel that every account can reach: the build directory itself when it is
    reachable, else a 0755 copy (laid out as <tmp>/debug/echo-kernel, like the build directory)."""
    global _kernel_bin_dir
    if _kernel_bin_dir is None:
        if reachable_by_others(BUILD / "echo-kernel"):
            _kernel_bin_dir = BUILD
        else:
            root = pathlib.Path(tempfile.mkdtemp(prefix="kg-bin-"))
            atexit.register(shutil.rmtree, root, True)
            os.chmod(root, 0o755)
            target = root / "debug"
            target.mkdir(mode=0o755)
            os.chmod(target, 0o755)
            shutil.copy2(BUILD / "echo-kernel", target / "echo-kernel")
            os.chmod(target / "echo-kernel", 0o755)
            if not reachable_by_others(target / "echo-kernel"):
                raise RuntimeError(f"{target} is not reachable by other accounts")
            _kernel_bin_dir = target
    return _kernel_bin_dir


def isolation_args(mode, tmp, usernames=()):
    """Creates the accounts for `usernames` and returns the gateway flags of isolation `mode` with homes and
    kernel directories under `tmp` (which becomes 0711: traversable, not listable)."""
    if mode == "none":
        return []
    for name in {"admin", "anonymous", *usernames}:
        ACCOUNTS.ensure(name)
    tmp = pathlib.Path(tmp)
    os.chmod(tmp, 0o711)
    homes, kdirs = tmp / "homes", tmp / "k"  # short: ipc socket paths must stay under 107 bytes
    for d in (homes, kdirs):
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o711)
    return ["--kernel-isolation", mode, "--unix-user-pattern", ACCOUNTS.pattern,
            "--kernel-home-root", str(homes), "--kernel-dir-root", str(kdirs)]


class Gateway:
    """A kernel-gateway process started for a test, stopped (by PID) at teardown.

    `isolation` (default: KG_TEST_ISOLATION) adds the isolation flags (see isolation_args) for the accounts of
    `usernames` (plus admin and anonymous); `isolation=False` adds none, for tests that pass their own."""

    def __init__(self, extra_args=(), token="test-token", env=None, isolation=None, usernames=()):
        self.port = free_port()
        self.token = token
        self.tmp = tempfile.TemporaryDirectory(prefix="kg-test-")
        self.runtime_dir = pathlib.Path(self.tmp.name) / "runtime"
        self.isolation = ISOLATION if isolation is None else (isolation or "none")
        args = [str(BUILD / "kernel-gateway"), "--port", str(self.port), "--port-retries", "0",
                "--kernelspec-dir", str(REPO / "kernelspecs"), "--runtime-dir", str(self.runtime_dir),
                "--log-level", "debug"]
        if token is not None:
            args += ["--token", token]
        path = f"{BUILD}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        self.kernel_home_root = self.kernel_dir_root = None
        if isolation is not False and self.isolation != "none":
            args += isolation_args(self.isolation, self.tmp.name, usernames)
            self.kernel_home_root = pathlib.Path(self.tmp.name) / "homes"
            self.kernel_dir_root = pathlib.Path(self.tmp.name) / "k"
            if kernel_bin_dir() != BUILD:
                path = f"{kernel_bin_dir()}:{path}"  # first: before BUILD, which other accounts cannot reach
        args += list(extra_args)
        self.args = args
        full_env = {
            "PATH": path,
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "JUPYTER_PATH": str(VENV_SHARE),
            "JUPYTER_DATA_DIR": str(pathlib.Path(self.tmp.name) / "data"),
        }
        full_env.update(env or {})
        self.log_path = pathlib.Path(self.tmp.name) / "gateway.log"
        # 0600: the log is the gateway's; with isolation, kernel accounts can traverse the 0711 temp directory
        self.log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                text = self.log_path.read_text(errors="replace")
                self.tmp.cleanup()
                raise RuntimeError(f"gateway exited early ({self.proc.returncode}):\n{text}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop(cleanup=False)
            raise RuntimeError(f"gateway did not listen:\n{self.log_text()}")

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def headers(self, token=None):
        t = self.token if token is None else token
        return {"Authorization": f"token {t}"} if t else {}

    def get(self, path, token=None, headers=None, **kw):
        return requests.get(self.base + path, headers={**self.headers(token), **(headers or {})}, timeout=30, **kw)

    def post(self, path, body=None, token=None, **kw):
        return requests.post(self.base + path, headers=self.headers(token),
                             data=None if body is None else json.dumps(body), timeout=60, **kw)

    def delete(self, path, token=None, headers=None, **kw):
        return requests.delete(self.base + path, headers={**self.headers(token), **(headers or {})}, timeout=60, **kw)

    def patch(self, path, body, token=None, **kw):
        return requests.patch(self.base + path, headers=self.headers(token), data=json.dumps(body), timeout=60, **kw)

    def put(self, path, body, token=None, **kw):
        return requests.put(self.base + path, headers=self.headers(token), data=json.dumps(body), timeout=60, **kw)

    def start_kernel(self, name="echo", token=None, **body):
        r = self.post("/api/kernels", {"name": name, **body}, token=token)
        assert r.status_code == 201, r.text
        return r.json()

    def stop(self, cleanup=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        if cleanup:
            self.tmp.cleanup()


@pytest.fixture
def gateway():
    gw = Gateway()
    yield gw
    gw.stop()


@pytest.fixture
def make_gateway():
    started = []

    def make(*args, **kw):
        gw = Gateway(*args, **kw)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


def new_msg(msg_type, content=None, channel="shell", session=None, username="client"):
    """A legacy-JSON channel message as a frontend would send it."""
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": username,
                   "session": session or uuid.uuid4().hex, "date": "2026-01-01T00:00:00.000000Z",
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "content": content or {}, "buffers": [], "channel": channel,
    }


import struct

import websocket  # websocket-client


class ChannelClient:
    """A WebSocket client of /api/kernels/{id}/channels speaking legacy JSON or v1."""

    def __init__(self, gw, kernel_id, session_id=None, protocol="json", token=None, headers=None, origin=None):
        self.session_id = session_id or uuid.uuid4().hex
        self.protocol = protocol
        url = f"{gw.ws_base}/api/kernels/{kernel_id}/channels?session_id={self.session_id}"
        hdrs = [f"{k}: {v}" for k, v in gw.headers(token).items()] + list(headers or [])
        sub = ["v1.kernel.websocket.jupyter.org"] if protocol == "v1" else None
        extra = {"origin": origin} if origin else {}
        self.ws = websocket.create_connection(url, header=hdrs, subprotocols=sub, timeout=20, **extra)
        self.backlog = []

    def send(self, msg, buffers=()):
        if self.protocol == "v1":
            self.ws.send_binary(encode_v1(msg, buffers))
        elif buffers:
            self.ws.send_binary(encode_legacy_binary(msg, buffers))
        else:
            self.ws.send(json.dumps(msg))
        return msg

    def request(self, msg_type, content=None, channel="shell", **kw):
        kw.setdefault("session", self.session_id)
        msg = new_msg(msg_type, content, channel=channel, **kw)
        return self.send(msg)

    def recv(self, timeout=20):
        # Control frames are returned (and pings answered) so that the deadline holds: with control_frame=False
        # websocket-client keeps reading past the gateway's pings (every 30 s), each read with a fresh timeout,
        # and a silent kernel would block this call forever.
        deadline = time.time() + timeout
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise websocket.WebSocketTimeoutException(f"no message within {timeout} s")
            self.ws.settimeout(remaining)
            opcode, data = self.ws.recv_data(control_frame=True)
            if opcode not in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                break
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close_code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
            self.close_reason = data[2:].decode(errors="replace")
            raise websocket.WebSocketConnectionClosedException(f"closed with {self.close_code}")
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return json.loads(data.decode())
        if self.protocol == "v1":
            return decode_v1(data)
        return decode_legacy_binary(data)

    def wait_for(self, predicate, timeout=20):
        for i, m in enumerate(self.backlog):
            if predicate(m):
                return self.backlog.pop(i)
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.recv(timeout=max(0.1, deadline - time.time()))
            if predicate(m):
                return m
            self.backlog.append(m)
        raise TimeoutError("message not received")

    def reply_to(self, msg, msg_type=None, timeout=20):
        mid = msg["header"]["msg_id"]
        return self.wait_for(lambda m: m["parent_header"].get("msg_id") == mid
                             and (msg_type is None or m["header"]["msg_type"] == msg_type), timeout)

    def execute(self, code, timeout=20, **content):
        msg = self.request("execute_request", {"code": code, "silent": False, "store_history": True,
                                               "user_expressions": {}, "allow_stdin": content.pop("allow_stdin", False),
                                               "stop_on_error": True, **content})
        return msg

    def collect_until_idle(self, msg, timeout=20):
        """All messages parented to msg until its reply and its iopub idle status both arrived."""
        mid = msg["header"]["msg_id"]
        got, reply, idle = [], None, False
        deadline = time.time() + timeout
        while (reply is None or not idle) and time.time() < deadline:
            m = self.wait_for(lambda m: m["parent_header"].get("msg_id") == mid, timeout=max(0.1, deadline - time.time()))
            got.append(m)
            if m["header"]["msg_type"].endswith("_reply"):
                reply = m
            if m["header"]["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
                idle = True
        assert reply is not None and idle, f"incomplete: {[x['header']['msg_type'] for x in got]}"
        return got

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def _parts(msg):
    return [json.dumps(msg.get(k) or {}).encode() for k in ("header", "parent_header", "metadata", "content")]


def encode_v1(msg, buffers=()):
    parts = [msg.get("channel", "shell").encode()] + _parts(msg) + [bytes(b) for b in buffers]
    n = len(parts)
    offsets, pos = [], 8 * (n + 2)
    for p in parts:
        offsets.append(pos)
        pos += len(p)
    offsets.append(pos)
    return struct.pack("<Q", n + 1) + b"".join(struct.pack("<Q", o) for o in offsets) + b"".join(parts)


def decode_v1(data):
    n = struct.unpack_from("<Q", data, 0)[0]
    offs = [struct.unpack_from("<Q", data, 8 * (i + 1))[0] for i in range(n)]
    parts = [data[offs[i]:offs[i + 1]] for i in range(n - 1)]
    msg = {"channel": parts[0].decode()}
    for key, raw in zip(("header", "parent_header", "metadata", "content"), parts[1:5]):
        msg[key] = json.loads(raw)
    msg["buffers"] = parts[5:]
    return msg


def encode_legacy_binary(msg, buffers):
    body = dict(msg)
    body.pop("buffers", None)
    parts = [json.dumps(body).encode()] + [bytes(b) for b in buffers]
    n = len(parts)
    offsets, pos = [], 4 * (n + 1)
    for p in parts:
        offsets.append(pos)
        pos += len(p)
    return struct.pack(">I", n) + b"".join(struct.pack(">I", o) for o in offsets) + b"".join(parts)


def decode_legacy_binary(data):
    n = struct.unpack_from(">I", data, 0)[0]
    offs = [struct.unpack_from(">I", data, 4 * (i + 1))[0] for i in range(n)] + [len(data)]
    msg = json.loads(data[offs[0]:offs[1]])
    msg["buffers"] = [data[offs[i]:offs[i + 1]] for i in range(1, n)]
    return msg


@pytest.fixture
def kernel(gateway):
    k = gateway.start_kernel("echo")
    yield k
    gateway.delete(f"/api/kernels/{k['id']}")


# ---------------------------------------------------------------------------------------------------------------
# Multi-user helpers (authorization tests): the `users` CLI, a gateway started with --users-file / --audit-log /
# --policy-file, and per-user views of it.

KERNEL_GATEWAY = BUILD / "kernel-gateway"


def users_cli(*args, timeout=30):
    """Runs `kernel-gateway users ARGS...`; returns the CompletedProcess (text mode)."""
    return subprocess.run([str(KERNEL_GATEWAY), "users", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def add_user(users_file, name, *roles, unix_user=None):
    """Adds (or updates) a user with the CLI and returns the token it printed. Under kernel isolation the user's
    throw-away account is created too (unless `unix_user` names the account explicitly)."""
    role_args = []
    for role in roles or ("user",):
        role_args += ["--role", role]
    if unix_user is not None:
        role_args += ["--unix-user", unix_user]
    elif ISOLATION != "none":
        ACCOUNTS.ensure(name)
    r = users_cli("add", name, *role_args, "--file", users_file)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class UserView:
    """One user's side of a multi-user gateway: REST calls and channel connections with that user's token."""

    def __init__(self, gw, name, token):
        self.gw, self.name, self.token = gw, name, token

    def request(self, method, path, body=None, **kw):
        data = None if body is None else json.dumps(body)
        return requests.request(method, self.gw.base + path, headers=self.gw.headers(self.token), data=data,
                                timeout=60, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def start_kernel(self, name="echo"):
        r = self.post("/api/kernels", {"name": name})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def share(self, kernel_id, user, permission):
        r = self.put(f"/api/kernels/{kernel_id}/access", {"user": user, "permission": permission})
        assert r.status_code == 200, r.text
        return r.json()

    def channel(self, kernel_id, **kw):
        return ChannelClient(self.gw, kernel_id, token=self.token, **kw)


class MultiUserGateway(Gateway):
    """A gateway in multi-user mode. `users` maps name -> role (or list of roles); tokens come from the CLI.
    `policy` (a dict) is written to a policy file. The audit log is `self.audit_path`.

    Without kernel isolation it passes --allow-shared-kernel-user (a users file with every kernel running as the
    gateway's user is refused otherwise); with isolation the users and policy files are made 0600 (the gateway
    refuses group/other-accessible ones) and every user gets a throw-away account."""

    def __init__(self, workdir, users, policy=None, extra_args=(), audit=True, isolation=None):
        workdir = pathlib.Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        mode = ISOLATION if isolation is None else (isolation or "none")
        self.users_file = workdir / "users.json"
        self.tokens = {}
        for name, roles in users.items():
            roles = [roles] if isinstance(roles, str) else list(roles)
            self.tokens[name] = add_user(self.users_file, name, *roles)
        args = ["--users-file", str(self.users_file)]
        self.audit_path = workdir / "audit.log" if audit else None
        if audit:
            args += ["--audit-log", str(self.audit_path)]
        self.policy_file = None
        if policy is not None:
            self.policy_file = workdir / "policy.json"
            self.policy_file.write_text(json.dumps(policy))
            args += ["--policy-file", str(self.policy_file)]
        if mode == "none":
            args += ["--allow-shared-kernel-user"]
        else:
            for f in (self.users_file, self.policy_file):
                if f is not None:
                    os.chmod(f, 0o600)
        super().__init__(extra_args=args + list(extra_args), token=None, isolation=isolation, usernames=list(users))

    def user(self, name):
        return UserView(self, name, self.tokens[name])

    def audit_events(self):
        """Every audit line, parsed (each line must be one JSON object)."""
        text = self.audit_path.read_text() if self.audit_path and self.audit_path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def sighup_and_wait(gw, line, previous_log_length):
    """Sends SIGHUP to the gateway and waits for a log line containing `line` written after `previous_log_length`
    characters of its log; returns that line, parsed."""
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        new = gw.log_text()[previous_log_length:]
        hits = [json.loads(x) for x in new.splitlines() if line in x]
        if hits:
            return hits[0]
        time.sleep(0.05)
    raise AssertionError(f"no '{line}' log line after SIGHUP:\n{gw.log_text()[previous_log_length:]}")


def received_log(client, timeout=20):
    """Runs the echo kernel's `%received` hook through `client`; returns its [channel, msg_type, username] list."""
    msg = client.execute("%received")
    got = client.collect_until_idle(msg, timeout=timeout)
    result = [m for m in got if m["header"]["msg_type"] == "execute_result"]
    assert result, f"no execute_result: {[m['header']['msg_type'] for m in got]}"
    return json.loads(result[0]["content"]["data"]["text/plain"])
