"""Regression tests for problems found in review: replay after a revoke, the per-session request bound, a
half-closed client spinning a loop, --max-kernels under concurrency, half-closed HTTP clients."""
import os
import pathlib
import socket
import threading
import time
import uuid

import pytest
import requests
import websocket

from conftest import ChannelClient, MultiUserGateway, new_msg


def drain(client, seconds=2):
    """Every message until `client` has been silent for `seconds` or the gateway closed it; any other failure
    (a malformed frame, a broken connection) is the test's failure."""
    got = []
    try:
        while True:
            got.append(client.recv(timeout=seconds))
    except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException):
        pass
    return got


def test_revoked_user_gets_no_replay_after_regrant(tmp_path):
    gw = MultiUserGateway(tmp_path / "mu", {"alice": "user", "bob": "user"})
    try:
        alice, bob = gw.user("alice"), gw.user("bob")
        kid = alice.start_kernel("echo")
        alice.share(kid, "bob", "read")
        session = "bob-session"
        b = bob.channel(kid, session_id=session)
        time.sleep(0.2)
        alice.share(kid, "bob", "none")
        drain(b, 3)
        a = alice.channel(kid)
        m = a.execute("TOP-SECRET-WHILE-REVOKED")
        a.collect_until_idle(m)
        alice.share(kid, "bob", "read")
        b2 = bob.channel(kid, session_id=session)
        replayed = drain(b2, 2)
        assert not [x for x in replayed if "TOP-SECRET" in str(x)]
        for c in (a, b, b2):
            c.close()
    finally:
        gw.stop()


def test_pending_request_bound_survives_reconnects(make_gateway):
    gw = make_gateway()
    k = gw.start_kernel("echo")
    session = uuid.uuid4().hex
    # the echo kernel never answers unknown requests, so they stay pending
    for _ in range(2):
        c = ChannelClient(gw, k["id"], session_id=session)
        for _ in range(6000):
            c.ws.send(__import__("json").dumps(new_msg("never_answered_request", session=session)))
        c.close()
    c = ChannelClient(gw, k["id"], session_id=session)
    msg = c.request("never_answered_request")
    err = c.reply_to(msg, "never_answered_reply", timeout=30)
    assert err["content"]["ename"] == "TooManyRequests"
    long_id = new_msg("kernel_info_request", session=session)
    long_id["header"]["msg_id"] = "x" * 1000
    c.send(long_id)
    err = c.wait_for(lambda m: m["content"].get("ename") == "ProtocolError" and "msg_id" in m["content"]["evalue"])
    c.close()


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_half_closed_paused_client_does_not_spin(make_gateway):
    gw = make_gateway(["--outbound-queue-bytes", "1048576", "--replay-buffer-bytes", "65536", "--loops", "1"])
    k = gw.start_kernel("echo")
    c = ChannelClient(gw, k["id"])
    c.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # flood it without reading, so the gateway pauses reading from it, then half-close
    c.execute("%stream 3000 1000")
    time.sleep(1.0)
    c.ws.sock.shutdown(socket.SHUT_WR)
    time.sleep(0.5)
    before = cpu_seconds(gw.proc.pid)
    time.sleep(2.0)
    used = cpu_seconds(gw.proc.pid) - before
    assert used < 1.0, f"gateway used {used:.2f} s of CPU in 2 s with an idle half-closed client"
    c.close()


def test_max_kernels_counts_each_kernel_once(make_gateway):
    gw = make_gateway(["--max-kernels", "3"])
    gw.start_kernel("echo")
    results = []

    def start():
        results.append(gw.post("/api/kernels", {"name": "echo"}).status_code)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 201]
    assert gw.post("/api/kernels", {"name": "echo"}).status_code == 403


def test_half_closed_http_client_still_gets_its_response(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\nAuthorization: token " + gateway.token.encode()
                  + b"\r\nConnection: close\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")


def test_replay_buffer_must_fit_the_outbound_queue(make_gateway):
    with pytest.raises(RuntimeError):
        make_gateway(["--outbound-queue-bytes", "65536", "--replay-buffer-bytes", "1048576"])
