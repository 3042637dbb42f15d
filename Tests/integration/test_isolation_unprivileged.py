"""Sandbox mode without root: the gateway runs as an ordinary account and bubblewrap uses an unprivileged user
namespace. Kernels then all run as the gateway's own uid, so the namespaces are what keeps them apart: a kernel
sees only its own processes, no network, no gateway file."""
import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import ACCOUNTS, BUILD, REPO, VENV_SHARE, ChannelClient, free_port, kernel_bin_dir, reachable_by_others

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creating the unprivileged gateway account needs root"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


@pytest.fixture
def unprivileged_gateway():
    entry = ACCOUNTS.ensure("gwrunner")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="kg-unpriv-"))
    os.chown(tmp, entry.pw_uid, entry.pw_gid)
    os.chmod(tmp, 0o700)
    secret = tmp / "gateway-secret.txt"
    secret.write_text("only the gateway may read this")
    os.chown(secret, entry.pw_uid, entry.pw_gid)
    os.chmod(secret, 0o600)
    port, token = free_port(), "unpriv-token"
    if not reachable_by_others(BUILD / "kernel-gateway"):
        pytest.skip("the build directory is not reachable by other accounts")
    args = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--",
            str(BUILD / "kernel-gateway"), "--port", str(port), "--port-retries", "0", "--token", token,
            "--kernelspec-dir", str(REPO / "kernelspecs"), "--runtime-dir", str(tmp / "runtime"),
            "--kernel-isolation", "sandbox", "--config", str(tmp / "config.json")]
    (tmp / "config.json").write_text(json.dumps({"log_level": "debug"}))
    os.chown(tmp / "config.json", entry.pw_uid, entry.pw_gid)
    os.chmod(tmp / "config.json", 0o600)
    env = {"PATH": f"{kernel_bin_dir()}:/usr/bin:/bin", "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data"),
           "LANG": "C.UTF-8", "JUPYTER_PATH": str(VENV_SHARE)}
    log_path = tmp / "gateway.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert time.time() < deadline, log_path.read_text()
                time.sleep(0.05)
        yield {"port": port, "token": token, "uid": entry.pw_uid, "tmp": tmp, "secret": secret, "log": log_path,
               "pid": proc.pid}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


class _Gw:
    def __init__(self, port, token):
        self.ws_base = f"ws://127.0.0.1:{port}"
        self.token = token

    def headers(self, token=None):
        return {"Authorization": f"token {token or self.token}"}


def test_unprivileged_sandbox_separates_kernels_of_one_uid(unprivileged_gateway):
    g = unprivileged_gateway
    base, headers = f"http://127.0.0.1:{g['port']}", {"Authorization": f"token {g['token']}"}
    status = requests.get(base + "/api/status", headers=headers, timeout=10).json()
    assert status["kernel_isolation"] == "sandbox"
    kernels = []
    for _ in range(2):
        r = requests.post(base + "/api/kernels", headers=headers, data=json.dumps({"name": "python3"}), timeout=60)
        assert r.status_code == 201, r.text
        kernels.append(r.json()["id"])
    client = ChannelClient(_Gw(g["port"], g["token"]), kernels[0])
    probe = f"""
import os, json, socket, signal
out = {{"uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
       "ifaces": [n for _, n in socket.if_nameindex()]}}
try:
    out["secret"] = open({str(g['secret'])!r}).read()
except OSError as e:
    out["secret"] = type(e).__name__
try:
    os.kill({g['pid']}, signal.SIGHUP)
    out["hup"] = "delivered"
except OSError as e:
    out["hup"] = type(e).__name__
print("@@" + json.dumps(out))
"""
    msg = client.execute(probe)
    got = client.collect_until_idle(msg, timeout=60)
    text = "".join(m["content"].get("text", "") for m in got if m["header"]["msg_type"] == "stream")
    result = json.loads(text.split("@@", 1)[1])
    client.close()
    assert result["uid"] == g["uid"]          # the gateway's own, unprivileged uid
    assert len(result["pids"]) <= 4, result    # its own pid namespace: bubblewrap's init and the kernel
    assert result["ifaces"] == ["lo"]
    assert result["secret"] in ("FileNotFoundError", "PermissionError"), result
    assert result["hup"] != "delivered"        # the gateway's pid is not in the kernel's namespace
    assert requests.get(base + "/api/status", headers=headers, timeout=10).status_code == 200
    assert "reloaded users and policy" not in g["log"].read_text()
    for kid in kernels:
        assert requests.delete(f"{base}/api/kernels/{kid}", headers=headers, timeout=60).status_code == 204
