"""Shared fixtures for the integration tests: build paths, a running gateway, REST and WebSocket helpers.

Every test talks to a real `kernel-gateway` binary over loopback, with real kernels (echo-kernel and ipykernel
from the project's .venv).
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("KG_BUILD_DIR", REPO / ".build" / "debug"))
VENV_SHARE = REPO / ".venv" / "share" / "jupyter"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """A kernel-gateway process started for a test, stopped (by PID) at teardown."""

    def __init__(self, extra_args=(), token="test-token", env=None):
        self.port = free_port()
        self.token = token
        self.tmp = tempfile.TemporaryDirectory(prefix="kg-test-")
        self.runtime_dir = pathlib.Path(self.tmp.name) / "runtime"
        args = [str(BUILD / "kernel-gateway"), "--port", str(self.port), "--port-retries", "0",
                "--kernelspec-dir", str(REPO / "kernelspecs"), "--runtime-dir", str(self.runtime_dir),
                "--log-level", "debug"]
        if token is not None:
            args += ["--token", token]
        args += list(extra_args)
        full_env = {
            "PATH": f"{BUILD}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "JUPYTER_PATH": str(VENV_SHARE),
            "JUPYTER_DATA_DIR": str(pathlib.Path(self.tmp.name) / "data"),
        }
        full_env.update(env or {})
        self.log_path = pathlib.Path(self.tmp.name) / "gateway.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"gateway did not listen:\n{self.log_text()}")

    def log_text(self):
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

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
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
        self.ws.settimeout(timeout)
        opcode, data = self.ws.recv_data(control_frame=False)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close_code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
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


def add_user(users_file, name, *roles):
    """Adds (or updates) a user with the CLI and returns the token it printed."""
    role_args = []
    for role in roles or ("user",):
        role_args += ["--role", role]
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
    `policy` (a dict) is written to a policy file. The audit log is `self.audit_path`."""

    def __init__(self, workdir, users, policy=None, extra_args=(), audit=True):
        workdir = pathlib.Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
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
        # Kernels run as the gateway's own user here; the gateway refuses a users file then unless told it is meant.
        args += ["--allow-shared-kernel-user"]
        super().__init__(extra_args=args + list(extra_args), token=None)

    def user(self, name):
        return UserView(self, name, self.tokens[name])

    def audit_events(self):
        """Every audit line, parsed (each line must be one JSON object)."""
        text = self.audit_path.read_text() if self.audit_path and self.audit_path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def received_log(client, timeout=20):
    """Runs the echo kernel's `%received` hook through `client`; returns its [channel, msg_type, username] list."""
    msg = client.execute("%received")
    got = client.collect_until_idle(msg, timeout=timeout)
    result = [m for m in got if m["header"]["msg_type"] == "execute_result"]
    assert result, f"no execute_result: {[m['header']['msg_type'] for m in got]}"
    return json.loads(result[0]["content"]["data"]["text/plain"])
