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

    def get(self, path, token=None, **kw):
        return requests.get(self.base + path, headers=self.headers(token), timeout=30, **kw)

    def post(self, path, body=None, token=None, **kw):
        return requests.post(self.base + path, headers=self.headers(token),
                             data=None if body is None else json.dumps(body), timeout=60, **kw)

    def delete(self, path, token=None, **kw):
        return requests.delete(self.base + path, headers=self.headers(token), timeout=60, **kw)

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
