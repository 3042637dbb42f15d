"""The channel bridge: both WebSocket formats, buffers, stdin, comms, interrupt/restart, routing between clients,
reconnect with replay, identity stamping, and bad input answered with clear errors."""
import json
import time
import uuid

import pytest
import websocket

from conftest import ChannelClient, new_msg


@pytest.mark.parametrize("protocol", ["json", "v1"])
def test_kernel_info_and_execute(gateway, kernel, protocol):
    c = ChannelClient(gateway, kernel["id"], protocol=protocol)
    try:
        info = c.request("kernel_info_request")
        reply = c.reply_to(info, "kernel_info_reply")
        assert reply["content"]["status"] == "ok"
        assert reply["channel"] == "shell"
        msg = c.execute("hello world")
        got = c.collect_until_idle(msg)
        types = [m["header"]["msg_type"] for m in got]
        assert "execute_input" in types and "stream" in types and "execute_result" in types
        stream = [m for m in got if m["header"]["msg_type"] == "stream"][0]
        assert "hello world" in stream["content"]["text"] and stream["channel"] == "iopub"
    finally:
        c.close()


def test_python_kernel_through_gateway(gateway):
    k = gateway.start_kernel("python3")
    c = ChannelClient(gateway, k["id"])
    try:
        msg = c.execute("print(6 * 7)")
        got = c.collect_until_idle(msg, timeout=30)
        assert any(m["header"]["msg_type"] == "stream" and "42" in m["content"]["text"] for m in got)
    finally:
        c.close()
        gateway.delete(f"/api/kernels/{k['id']}")


@pytest.mark.parametrize("protocol", ["json", "v1"])
def test_comm_messages_with_buffers(gateway, kernel, protocol):
    c = ChannelClient(gateway, kernel["id"], protocol=protocol)
    try:
        comm_id = uuid.uuid4().hex
        c.send(new_msg("comm_open", {"comm_id": comm_id, "target_name": "t", "data": {}}, session=c.session_id))
        msg = new_msg("comm_msg", {"comm_id": comm_id, "data": {"x": 1}}, session=c.session_id)
        c.send(msg, buffers=[b"\x00\x01\x02binary", b"second"])
        echo = c.wait_for(lambda m: m["header"]["msg_type"] == "comm_msg" and m["channel"] == "iopub"
                          and m["content"].get("comm_id") == comm_id)
        assert echo["content"]["data"] == {"x": 1}
        assert [bytes(b) for b in echo.get("buffers", [])] == [b"\x00\x01\x02binary", b"second"]
        info = c.request("comm_info_request")
        assert c.reply_to(info, "comm_info_reply")["content"]["status"] == "ok"
    finally:
        c.close()


def test_stdin_round_trip(gateway, kernel):
    c = ChannelClient(gateway, kernel["id"])
    try:
        msg = c.execute("%input name?", allow_stdin=True)
        req = c.wait_for(lambda m: m["header"]["msg_type"] == "input_request")
        assert req["channel"] == "stdin" and req["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        reply = new_msg("input_reply", {"value": "zed"}, channel="stdin", session=c.session_id)
        reply["parent_header"] = req["header"]
        c.send(reply)
        got = c.collect_until_idle(msg)
        assert any("zed" in json.dumps(m["content"]) for m in got if m["header"]["msg_type"] in ("stream", "execute_result"))
    finally:
        c.close()


def test_interrupt_and_restart_during_execution(gateway, kernel):
    c = ChannelClient(gateway, kernel["id"])
    try:
        msg = c.execute("%sleep 30")
        c.wait_for(lambda m: m["header"]["msg_type"] == "execute_input")
        time.sleep(0.2)
        assert gateway.post(f"/api/kernels/{kernel['id']}/interrupt").status_code == 204
        reply = c.reply_to(msg, "execute_reply")
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        msg = c.execute("%sleep 30")
        c.wait_for(lambda m: m["header"]["msg_type"] == "execute_input" and m["parent_header"]["msg_id"] == msg["header"]["msg_id"])
        assert gateway.post(f"/api/kernels/{kernel['id']}/restart").status_code == 200
        c.wait_for(lambda m: m["header"]["msg_type"] == "status" and m["content"]["execution_state"] == "restarting")
        info = c.request("kernel_info_request")
        assert c.reply_to(info, "kernel_info_reply")["content"]["status"] == "ok"
    finally:
        c.close()


def test_automatic_restart_is_announced(gateway, kernel):
    c = ChannelClient(gateway, kernel["id"])
    try:
        c.execute("%exit 3")
        c.wait_for(lambda m: m["header"]["msg_type"] == "status" and m["content"]["execution_state"] == "restarting", timeout=30)
        deadline = time.time() + 30
        while gateway.get(f"/api/kernels/{kernel['id']}").json()["execution_state"] not in ("idle", "busy"):
            assert time.time() < deadline
            time.sleep(0.1)
        info = c.request("kernel_info_request")
        assert c.reply_to(info, "kernel_info_reply", timeout=30)["content"]["status"] == "ok"
    finally:
        c.close()


def test_two_clients_replies_do_not_cross_and_iopub_reaches_both(gateway, kernel):
    a = ChannelClient(gateway, kernel["id"])
    b = ChannelClient(gateway, kernel["id"])
    try:
        assert gateway.get(f"/api/kernels/{kernel['id']}").json()["connections"] == 2
        msg = a.execute("%sleep 1\nfrom a")
        a.wait_for(lambda m: m["header"]["msg_type"] == "execute_input")
        # while a's request is pending, b cannot hijack its msg_id (even claiming a's session) ...
        spoof = new_msg("kernel_info_request", session=a.session_id)
        spoof["header"]["msg_id"] = msg["header"]["msg_id"]
        b.send(spoof)
        err = b.reply_to(spoof, "kernel_info_reply")
        assert err["content"]["status"] == "error" and "already in use" in err["content"]["evalue"]
        a.reply_to(msg, "execute_reply")
        # ... b sees the iopub output of a's execution, but never a's reply
        b.wait_for(lambda m: m["header"]["msg_type"] == "stream" and "from a" in m["content"]["text"])
        own = b.request("kernel_info_request", session=a.session_id)
        b.reply_to(own, "kernel_info_reply")
        with pytest.raises(Exception):
            b.wait_for(lambda m: m["header"]["msg_type"] == "execute_reply", timeout=1)
        with pytest.raises(Exception):
            a.wait_for(lambda m: m["parent_header"].get("msg_id") == own["header"]["msg_id"]
                       and m["header"]["msg_type"] == "kernel_info_reply", timeout=1)
    finally:
        a.close()
        b.close()


def test_username_is_stamped(gateway, kernel):
    c = ChannelClient(gateway, kernel["id"])
    try:
        c.request("kernel_info_request", username="mallory")
        msg = c.execute("%received")
        got = c.collect_until_idle(msg)
        result = [m for m in got if m["header"]["msg_type"] == "execute_result"][0]
        received = json.loads(result["content"]["data"]["text/plain"])
        # the gateway's own readiness probes are signed "kernel-gateway"; every client message carries the
        # authenticated user, whatever the client wrote
        from_clients = [entry for entry in received if entry[2] != "kernel-gateway"]
        assert len(from_clients) >= 2 and all(entry[2] == "admin" for entry in from_clients)
        assert not any(entry[2] == "mallory" for entry in received)
    finally:
        c.close()


@pytest.mark.parametrize("before,after", [("json", "json"), ("json", "v1"), ("v1", "json")])
def test_reconnect_replays_missed_output(gateway, kernel, before, after):
    session = uuid.uuid4().hex
    c = ChannelClient(gateway, kernel["id"], session_id=session, protocol=before)
    msg = c.execute("%sleep 1\nlate output")
    c.wait_for(lambda m: m["header"]["msg_type"] == "execute_input")
    c.close()
    time.sleep(2.0)
    c2 = ChannelClient(gateway, kernel["id"], session_id=session, protocol=after)
    try:
        reply = c2.reply_to(msg, "execute_reply")
        assert reply["content"]["status"] == "ok"
        c2.wait_for(lambda m: m["header"]["msg_type"] == "stream" and "late output" in m["content"]["text"])
    finally:
        c2.close()


def test_reconnect_takes_over_old_connection(gateway, kernel):
    session = uuid.uuid4().hex
    old = ChannelClient(gateway, kernel["id"], session_id=session)
    new = ChannelClient(gateway, kernel["id"], session_id=session)
    try:
        with pytest.raises(Exception):
            for _ in range(5):
                old.recv(timeout=5)
        info = new.request("kernel_info_request")
        new.reply_to(info, "kernel_info_reply")
    finally:
        old.close()
        new.close()


def test_bad_input_gets_errors_and_connection_keeps_working(gateway, kernel):
    c = ChannelClient(gateway, kernel["id"])
    try:
        c.ws.send("{not json")
        err = c.wait_for(lambda m: m["content"].get("ename") == "ProtocolError")
        assert "decode" in err["content"]["evalue"]
        c.ws.send(json.dumps({"header": {"msg_id": "x"}, "content": {}, "channel": "shell"}))
        c.wait_for(lambda m: m["content"].get("ename") == "ProtocolError" and "msg_type" in m["content"]["evalue"])
        c.send(new_msg("status", {}, channel="iopub"))
        c.wait_for(lambda m: m["content"].get("ename") == "ProtocolError" and "iopub" in m["content"]["evalue"])
        c.ws.send(json.dumps({**new_msg("kernel_info_request"), "channel": "bogus"}))
        c.wait_for(lambda m: m["content"].get("ename") == "ProtocolError")
        c.ws.send_binary(b"\x00\x00\x00\x09garbage")
        c.wait_for(lambda m: m["content"].get("ename") == "ProtocolError")
        info = c.request("kernel_info_request")
        assert c.reply_to(info, "kernel_info_reply")["content"]["status"] == "ok"
    finally:
        c.close()
    # invalid UTF-8 in a text frame closes the connection with 1007; the gateway keeps serving
    c = ChannelClient(gateway, kernel["id"])
    c.ws.send(b"\xff\xfe", opcode=websocket.ABNF.OPCODE_TEXT)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        for _ in range(10):
            c.recv(timeout=5)
    assert c.close_code == 1007
    assert gateway.get("/api").status_code == 200


def test_websocket_errors(gateway, kernel):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        ChannelClient(gateway, "no-such-kernel")
    assert e.value.status_code == 404
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        ChannelClient(gateway, kernel["id"], token="bad")
    assert e.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        ChannelClient(gateway, kernel["id"], origin="https://evil.example")
    assert e.value.status_code == 403


def test_deleting_kernel_closes_clients(gateway):
    k = gateway.start_kernel("echo")
    c = ChannelClient(gateway, k["id"])
    gateway.delete(f"/api/kernels/{k['id']}")
    with pytest.raises(Exception):
        for _ in range(20):
            c.recv(timeout=5)
    c.close()


def test_oversized_message_closes_with_1009(make_gateway):
    gw = make_gateway(["--max-message-bytes", "4096"])
    k = gw.start_kernel("echo")
    c = ChannelClient(gw, k["id"])
    try:
        info = c.request("kernel_info_request")
        c.reply_to(info, "kernel_info_reply")
        c.execute("x" * 10_000)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(20):
                c.recv(timeout=5)
        assert c.close_code == 1009
        assert gw.get("/api").status_code == 200
    finally:
        c.close()


@pytest.mark.parametrize("protocol", ["json", "v1"])
def test_mutated_frames_never_break_the_gateway(gateway, kernel, protocol):
    """2,000 seeded mutations of valid frames (bit flips, truncations, splices): the gateway answers or drops
    each one, the connection or a new one keeps working, and the process stays up."""
    import random
    from conftest import encode_v1
    rng = random.Random(1234)
    # text frames get printable ASCII mutations (invalid UTF-8 would just close the connection with 1007,
    # tested elsewhere); binary frames get any byte
    alphabet = list(range(32, 127)) if protocol == "json" else list(range(256))
    base = new_msg("kernel_info_request")
    valid_text = json.dumps(base).encode()
    valid_binary = encode_v1(base)
    c = ChannelClient(gateway, kernel["id"], protocol=protocol)
    sent = 0
    for i in range(2000):
        frame = bytearray(valid_binary if protocol == "v1" else valid_text)
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if op < 0.5 and frame:
                frame[rng.randrange(len(frame))] = rng.choice(alphabet)
            elif op < 0.75 and frame:
                del frame[rng.randrange(len(frame)):]
            else:
                at = rng.randrange(len(frame) + 1)
                frame[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        try:
            if protocol == "v1":
                c.ws.send_binary(bytes(frame))
            else:
                c.ws.send(bytes(frame), opcode=websocket.ABNF.OPCODE_TEXT)
            sent += 1
        except Exception:
            # e.g. invalid UTF-8 closed the connection (1007): start a new one
            c.close()
            c = ChannelClient(gateway, kernel["id"], protocol=protocol)
        if i % 200 == 0:
            c.backlog.clear()
    assert sent > 1000
    c.close()
    fresh = ChannelClient(gateway, kernel["id"], protocol=protocol)
    info = fresh.request("kernel_info_request")
    assert fresh.reply_to(info, "kernel_info_reply", timeout=30)["content"]["status"] == "ok"
    fresh.close()
    assert gateway.proc.poll() is None
    metrics = gateway.get("/metrics").text
    malformed = [l for l in metrics.splitlines() if l.startswith('kernel_gateway_channel_errors_total{reason="malformed"}')]
    assert int(malformed[0].split()[-1]) > 100  # the mutations really reached the decoder


def test_kernel_that_keeps_dying_is_dead_with_a_reason(gateway):
    k = gateway.start_kernel("echo")
    c = ChannelClient(gateway, k["id"])
    try:
        deadline = time.time() + 60
        while gateway.get(f"/api/kernels/{k['id']}").json()["execution_state"] != "dead":
            assert time.time() < deadline
            if gateway.get(f"/api/kernels/{k['id']}").json()["execution_state"] in ("idle", "busy"):
                c.execute("%exit 9")
            time.sleep(0.3)
        model = gateway.get(f"/api/kernels/{k['id']}").json()
        assert model["reason"]
        c.wait_for(lambda m: m["header"]["msg_type"] == "status" and m["content"]["execution_state"] == "dead",
                   timeout=10)
        # a client restart brings it back
        assert gateway.post(f"/api/kernels/{k['id']}/restart").status_code == 200
        assert "reason" not in gateway.get(f"/api/kernels/{k['id']}").json()
    finally:
        c.close()
        gateway.delete(f"/api/kernels/{k['id']}")
