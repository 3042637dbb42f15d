"""The REST API against the real gateway binary: every endpoint, errors as JSON with the right codes."""
import json
import socket
import time

import requests

from conftest import REPO


def test_api_and_status(gateway):
    r = gateway.get("/api")
    assert r.status_code == 200 and "version" in r.json()
    s = gateway.get("/api/status").json()
    assert set(s) >= {"started", "last_activity", "connections", "kernels"}


def test_authentication(gateway):
    r = requests.get(gateway.base + "/api/kernels", timeout=10)
    assert r.status_code == 401 and r.json()["message"]
    assert gateway.get("/api/kernels", token="wrong").status_code == 401
    assert requests.get(gateway.base + "/api/kernels?token=" + gateway.token, timeout=10).status_code == 200
    bearer = requests.get(gateway.base + "/api/kernels", headers={"Authorization": "Bearer " + gateway.token}, timeout=10)
    assert bearer.status_code == 200
    assert "test-token" not in gateway.log_text()


def test_unknown_endpoint_and_method(gateway):
    r = gateway.get("/api/nope")
    assert r.status_code == 404 and "message" in r.json()
    r = requests.put(gateway.base + "/api/kernels", headers=gateway.headers(), timeout=10)
    assert r.status_code == 405


def test_kernelspecs(gateway):
    specs = gateway.get("/api/kernelspecs").json()
    assert "echo" in specs["kernelspecs"] and "python3" in specs["kernelspecs"]
    assert specs["default"] in specs["kernelspecs"]
    echo = gateway.get("/api/kernelspecs/echo").json()
    assert echo["spec"]["argv"][0] == "echo-kernel"
    assert gateway.get("/api/kernelspecs/nope").status_code == 404
    py = specs["kernelspecs"]["python3"]
    for url in py["resources"].values():
        r = gateway.get(url)
        assert r.status_code == 200 and len(r.content) > 0
    assert gateway.get("/kernelspecs/python3/..%2F..%2Fkernel.json").status_code == 404
    assert gateway.get("/kernelspecs/python3/kernel.json").status_code in (200, 404)
    assert gateway.get("/kernelspecs/echo/../../../../etc/passwd").status_code == 404


def test_kernel_lifecycle(gateway):
    r = gateway.post("/api/kernels", {"name": "echo"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert r.headers["Location"].endswith("/api/kernels/" + k["id"])
    assert set(k) >= {"id", "name", "last_activity", "execution_state", "connections"}
    assert k["last_activity"].endswith("Z")
    assert any(x["id"] == k["id"] for x in gateway.get("/api/kernels").json())
    assert gateway.get(f"/api/kernels/{k['id']}").json()["name"] == "echo"
    assert gateway.post(f"/api/kernels/{k['id']}/interrupt").status_code == 204
    r = gateway.post(f"/api/kernels/{k['id']}/restart")
    assert r.status_code == 200 and r.json()["id"] == k["id"]
    assert gateway.delete(f"/api/kernels/{k['id']}").status_code == 204
    r = gateway.get(f"/api/kernels/{k['id']}")
    assert r.status_code == 404 and "message" in r.json()
    assert gateway.delete(f"/api/kernels/{k['id']}").status_code == 404


def test_start_kernel_errors(gateway):
    assert gateway.post("/api/kernels", {"name": "no-such-spec"}).status_code == 404
    r = requests.post(gateway.base + "/api/kernels", headers=gateway.headers(), data="{not json", timeout=10)
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    assert gateway.post("/api/kernels", {"name": 5}).status_code == 400
    assert gateway.post("/api/kernels", {"name": "echo", "env": {"KERNEL_X": "a\nb"}}).status_code == 400


def test_start_kernel_without_content_type_and_default_name(gateway):
    r = requests.post(gateway.base + "/api/kernels", headers=gateway.headers(), data=b"", timeout=60)
    assert r.status_code == 201, r.text
    gateway.delete(f"/api/kernels/{r.json()['id']}")


def test_sessions_crud(gateway):
    r = gateway.post("/api/sessions", {"path": "a.ipynb", "name": "a", "type": "notebook", "kernel": {"name": "echo"}})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["kernel"]["name"] == "echo" and s["path"] == "a.ipynb"
    again = gateway.post("/api/sessions", {"path": "a.ipynb", "kernel": {"name": "echo"}}).json()
    assert again["id"] == s["id"]
    assert any(x["id"] == s["id"] for x in gateway.get("/api/sessions").json())
    r = gateway.patch(f"/api/sessions/{s['id']}", {"path": "b.ipynb"})
    assert r.status_code == 200 and r.json()["path"] == "b.ipynb"
    other = gateway.start_kernel("echo")
    old_kernel = s["kernel"]["id"]
    r = gateway.patch(f"/api/sessions/{s['id']}", {"kernel": {"id": other["id"]}})
    assert r.json()["kernel"]["id"] == other["id"]
    # as in Jupyter Server, the kernel a session leaves is shut down
    assert gateway.get(f"/api/kernels/{old_kernel}").status_code == 404
    r = gateway.patch(f"/api/sessions/{s['id']}", {"kernel": {"name": "echo"}})
    new_kernel = r.json()["kernel"]["id"]
    assert new_kernel not in (old_kernel, other["id"])
    assert gateway.get(f"/api/kernels/{other['id']}").status_code == 404
    assert gateway.delete(f"/api/sessions/{s['id']}").status_code == 204
    assert gateway.get(f"/api/sessions/{s['id']}").status_code == 404
    assert gateway.get(f"/api/kernels/{new_kernel}").status_code == 404
    assert gateway.post("/api/sessions", {"name": "x"}).status_code == 400


def test_cors_preflight_without_token(make_gateway):
    gw = make_gateway(["--allow-origin", "https://lab.example"])
    r = requests.options(gw.base + "/api/kernels", headers={"Origin": "https://lab.example",
                                                            "Access-Control-Request-Method": "POST"}, timeout=10)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "https://lab.example"
    r = requests.options(gw.base + "/api/kernels", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in r.headers
    r = gw.get("/api/kernels", headers={"Origin": "https://lab.example"})
    assert r.headers.get("Access-Control-Allow-Origin") == "https://lab.example"


def raw_http(gw, data, read=65536):
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(data)
        chunks = b""
        try:
            while True:
                c = s.recv(read)
                if not c:
                    break
                chunks += c
        except socket.timeout:
            pass
        return chunks


def test_bad_http_gets_clear_errors_and_gateway_keeps_serving(gateway):
    assert raw_http(gateway, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400")
    big_header = b"GET /api HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    assert raw_http(gateway, big_header).split(b"\r\n")[0] in (b"HTTP/1.1 431 Request Header Fields Too Large", b"HTTP/1.1 400 Bad Request")
    # A body is judged on the head alone: without a token 401, with one 413 (1 MiB limit), neither reads it.
    auth = b"Authorization: token " + gateway.token.encode() + b"\r\n"
    head = b"POST /api/kernels HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (17 * 1024 * 1024)
    assert raw_http(gateway, head + b"\r\n").startswith(b"HTTP/1.1 401")
    assert raw_http(gateway, head + auth + b"\r\n").startswith(b"HTTP/1.1 413")
    # pipelined requests answered in order
    two = (b"GET /api HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
           b"GET /api/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + b"\r\n")
    out = raw_http(gateway, two)
    assert out.count(b"HTTP/1.1 ") == 2 and out.index(b"200 OK") < out.index(b"404")
    assert gateway.get("/api").status_code == 200


def test_kernel_env_and_username(gateway):
    from conftest import ChannelClient
    k = gateway.start_kernel("echo", env={"KERNEL_COLOR": "blue", "SECRET": "x", "KERNEL_USERNAME": "mallory"})
    c = ChannelClient(gateway, k["id"])
    try:
        for name, expected in (("KERNEL_COLOR", "blue"), ("SECRET", ""), ("KERNEL_USERNAME", "admin"),
                               ("KG_AUTH_TOKEN", "")):
            msg = c.execute(f"%env {name}")
            out = c.collect_until_idle(msg)
            result = [m for m in out if m["header"]["msg_type"] == "execute_result"][0]
            assert result["content"]["data"]["text/plain"] == expected, name
    finally:
        c.close()
        gateway.delete(f"/api/kernels/{k['id']}")


def test_metrics(gateway):
    from conftest import ChannelClient
    k = gateway.start_kernel("echo")
    c = ChannelClient(gateway, k["id"])
    try:
        msg = c.execute("count me")
        c.collect_until_idle(msg)
        text = gateway.get("/metrics").text
        assert 'kernel_gateway_kernels{kernelspec="echo",state="idle"} 1' in text or \
               'kernel_gateway_kernels{kernelspec="echo",state="busy"} 1' in text
        assert "kernel_gateway_websocket_connections 1" in text
        line = [l for l in text.splitlines() if l.startswith('kernel_gateway_messages_total{channel="shell",direction="to_kernel"}')][0]
        assert int(line.split()[-1]) >= 1
        assert 'kernel_gateway_http_request_duration_seconds_bucket{route="/api/kernels",method="POST",le="+Inf"}' in text
        assert "# TYPE kernel_gateway_kernel_start_duration_seconds histogram" in text
        assert 'kernel_gateway_buffered_bytes{buffer="websocket_outbound"}' in text
        assert 'kernel_gateway_buffered_bytes{buffer="replay"}' in text
        assert "kernel_gateway_kernel_restarts_announced_total 0" in text
        assert "kernel_gateway_kernels_unresponsive 0" in text
        assert 'kernel_gateway_kernel_messages_rejected{reason="bad_signature"} 0' in text
        assert gateway.get("/metrics", token="").status_code == 401
    finally:
        c.close()
        gateway.delete(f"/api/kernels/{k['id']}")
