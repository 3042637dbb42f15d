"""Operational behaviour: graceful stop on SIGTERM, slow-client backpressure, the generated token, --help."""
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import websocket

from conftest import BUILD, ChannelClient, Gateway, free_port


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text() if os.path.exists(f"/proc/{pid}/stat") else ""
    return bool(stat) and stat[stat.rindex(")") + 2] != "Z"


def test_sigterm_stops_gracefully():
    gw = Gateway()
    try:
        k1 = gw.start_kernel("echo")
        k2 = gw.start_kernel("python3")
        c = ChannelClient(gw, k1["id"])
        kernels = children_of(gw.proc.pid)
        assert len(kernels) == 2
        assert len(list(gw.runtime_dir.glob("kernel-*.json"))) == 2
        gw.proc.send_signal(signal.SIGTERM)
        assert gw.proc.wait(timeout=30) == 0
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(10):
                c.recv(timeout=5)
        assert c.close_code == 1001
        assert not [p for p in kernels if alive(p)]
        assert list(gw.runtime_dir.glob("kernel-*.json")) == []
    finally:
        gw.stop()


def test_slow_client_is_bounded_and_told(make_gateway):
    gw = make_gateway(["--outbound-queue-bytes", "262144", "--replay-buffer-bytes", "65536"])
    k = gw.start_kernel("echo")
    slow = ChannelClient(gw, k["id"], session_id="slow-session")
    slow.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # ask for ~40 MB of output and do not read it
    slow.execute("%stream 20000 2000")
    deadline = time.time() + 60
    while gw.get(f"/api/kernels/{k['id']}").json()["connections"] != 0:
        assert time.time() < deadline, "the client that does not read was never disconnected"
        time.sleep(0.1)
    # the gateway's memory stayed bounded (the flood is ~40 MB)
    status = pathlib.Path(f"/proc/{gw.proc.pid}/status").read_text()
    hwm_kib = int([l for l in status.splitlines() if l.startswith("VmHWM")][0].split()[1])
    assert hwm_kib < 150_000
    # other clients are served as before (once the flood is over)
    while gw.get(f"/api/kernels/{k['id']}").json()["execution_state"] != "idle":
        assert time.time() < deadline
        time.sleep(0.1)
    other = ChannelClient(gw, k["id"])
    info = other.request("kernel_info_request")
    assert other.reply_to(info, "kernel_info_reply", timeout=60)["content"]["status"] == "ok"
    # the slow client's session was parked; reconnecting tells it plainly that output was dropped
    again = ChannelClient(gw, k["id"], session_id="slow-session")
    notice = again.wait_for(lambda m: m["header"]["msg_type"] == "stream" and "dropped" in m["content"].get("text", ""))
    assert "kernel-gateway" in notice["content"]["text"]
    for c in (other, again, slow):
        c.close()


def test_generated_token_is_printed_once_and_help_lists_options(tmp_path):
    port = free_port()
    out = open(tmp_path / "out", "wb")
    proc = subprocess.Popen([str(BUILD / "kernel-gateway"), "--port", str(port), "--port-retries", "0",
                             "--runtime-dir", str(tmp_path / "rt")], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and "token=" not in (tmp_path / "out").read_text():
            time.sleep(0.05)
        text = (tmp_path / "out").read_text()
        line = [l for l in text.splitlines() if "token=" in l][0]
        token = line.split("token=")[1].strip()
        assert len(token) == 64 and text.count(token) == 1
        import requests
        assert requests.get(f"http://127.0.0.1:{port}/api", headers={"Authorization": f"token {token}"}, timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        out.close()
    help_text = subprocess.run([str(BUILD / "kernel-gateway"), "--help"], capture_output=True, text=True, timeout=20)
    assert help_text.returncode == 0 and "--cull-idle-timeout" in help_text.stdout and "KG_PORT" in help_text.stdout
    bad = subprocess.run([str(BUILD / "kernel-gateway"), "--port", "nope"], capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2 and "--port" in bad.stderr


def test_busy_port_is_retried(tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy = blocker.getsockname()[1]
    out = open(tmp_path / "out", "wb")
    proc = subprocess.Popen([str(BUILD / "kernel-gateway"), "--port", str(busy), "--port-retries", "20",
                             "--token", "t", "--runtime-dir", str(tmp_path / "rt")], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and "running at" not in (tmp_path / "out").read_text():
            time.sleep(0.05)
        line = [l for l in (tmp_path / "out").read_text().splitlines() if "running at" in l][0]
        port = int(line.split(":")[-1].strip("/ \n"))
        assert port != busy and busy < port <= busy + 20
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        out.close()
        blocker.close()


def test_idle_kernels_are_culled(make_gateway):
    gw = make_gateway(["--cull-idle-timeout", "2", "--cull-interval", "1"])
    k = gw.start_kernel("echo")
    deadline = time.time() + 15
    while gw.get(f"/api/kernels/{k['id']}").status_code == 200:
        assert time.time() < deadline, "idle kernel was not culled"
        time.sleep(0.2)
