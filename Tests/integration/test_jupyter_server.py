"""Jupyter Server 2.x in gateway mode (`--gateway-url`) in front of our gateway: start a kernel, execute code and
read its output through Jupyter Server's own REST and WebSocket endpoints, interrupt, restart, shut down."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests
import websocket

from conftest import REPO, free_port


@pytest.fixture
def jupyter_server(gateway):
    port = free_port()
    token = "js-token"
    tmp = tempfile.TemporaryDirectory(prefix="kg-js-")
    log = open(pathlib.Path(tmp.name) / "server.log", "wb")
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(pathlib.Path(tmp.name) / "config")
    env["JUPYTER_DATA_DIR"] = str(pathlib.Path(tmp.name) / "data")
    env["JUPYTER_RUNTIME_DIR"] = str(pathlib.Path(tmp.name) / "runtime")
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "jupyter-server"), "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--gateway-url={gateway.base}",
         f"--GatewayClient.auth_token={gateway.token}", f"--ServerApp.root_dir={tmp.name}",
         "--GatewayClient.request_timeout=60"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            if requests.get(base + "/api", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("jupyter server did not start: " + (pathlib.Path(tmp.name) / "server.log").read_text())
    yield base, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    tmp.cleanup()


def test_jupyter_server_gateway_mode(gateway, jupyter_server):
    base, token = jupyter_server
    h = {"Authorization": f"token {token}"}
    specs = requests.get(base + "/api/kernelspecs", headers=h, timeout=30).json()
    assert "echo" in specs["kernelspecs"]
    r = requests.post(base + "/api/kernels", headers=h, json={"name": "echo"}, timeout=60)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    assert any(k["id"] == kid for k in gateway.get("/api/kernels").json())

    session = uuid.uuid4().hex
    ws = websocket.create_connection(f"ws://127.0.0.1:{base.rsplit(':', 1)[1]}/api/kernels/{kid}/channels?session_id={session}",
                                     header=[f"Authorization: token {token}"], timeout=30)
    try:
        def send(msg_type, content, channel="shell"):
            msg = {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "u", "session": session,
                              "date": "2026-01-01T00:00:00Z", "version": "5.3"},
                   "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}
            ws.send(json.dumps(msg))
            return msg["header"]["msg_id"]

        def wait(pred, timeout=30):
            deadline = time.time() + timeout
            while time.time() < deadline:
                ws.settimeout(max(0.1, deadline - time.time()))
                m = json.loads(ws.recv())
                if pred(m):
                    return m
            raise TimeoutError

        mid = send("execute_request", {"code": "through jupyter server", "silent": False, "store_history": True,
                                       "user_expressions": {}, "allow_stdin": False})
        wait(lambda m: m["header"]["msg_type"] == "stream" and m["parent_header"].get("msg_id") == mid
             and "through jupyter server" in m["content"]["text"])
        wait(lambda m: m["header"]["msg_type"] == "execute_reply" and m["parent_header"].get("msg_id") == mid)

        mid = send("execute_request", {"code": "%sleep 30", "silent": False, "store_history": True,
                                       "user_expressions": {}, "allow_stdin": False})
        wait(lambda m: m["header"]["msg_type"] == "execute_input" and m["parent_header"].get("msg_id") == mid)
        assert requests.post(base + f"/api/kernels/{kid}/interrupt", headers=h, timeout=30).status_code == 204
        reply = wait(lambda m: m["header"]["msg_type"] == "execute_reply" and m["parent_header"].get("msg_id") == mid)
        assert reply["content"]["status"] == "error"
    finally:
        ws.close()

    r = requests.post(base + f"/api/kernels/{kid}/restart", headers=h, timeout=60)
    assert r.status_code == 200, r.text
    assert requests.delete(base + f"/api/kernels/{kid}", headers=h, timeout=60).status_code == 204
    deadline = time.time() + 10
    while any(k["id"] == kid for k in gateway.get("/api/kernels").json()):
        assert time.time() < deadline
        time.sleep(0.1)
