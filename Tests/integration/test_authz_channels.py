"""Per-message authorization on the channels, proven from both sides: the client sees a well-formed
PermissionDenied reply, and the echo kernel's `%received` log shows what was (and was not) forwarded and under
which (authenticated) username. Also sharing and revoking while connected, live watching, and spoofed
header.username / header.session."""
import json
import time
import uuid

import pytest
import websocket

from conftest import MultiUserGateway, new_msg, received_log

USERS = {"alice": "user", "bob": "user", "vera": "viewer", "root": "admin"}

# (channel, msg_type, content, needed level) for client-to-kernel types of the default table, some of them on more
# than one channel (a type needs the same level on every channel), plus unknown types. inspect_request,
# complete_request and history_request reveal the kernel's state: they need execute (issue 10; they were read before).
INSPECT = {"code": "x", "cursor_pos": 1, "detail_level": 0}
COMPLETE = {"code": "%rec", "cursor_pos": 4}
MESSAGES = [
    ("shell", "execute_request", {"code": "hello", "silent": False, "store_history": False, "user_expressions": {},
                                  "allow_stdin": False, "stop_on_error": True}, "execute"),
    ("shell", "comm_open", {"comm_id": "c-1", "target_name": "t", "data": {}}, "execute"),
    ("shell", "comm_msg", {"comm_id": "c-1", "data": {"x": 1}}, "execute"),
    ("shell", "comm_close", {"comm_id": "c-1", "data": {}}, "execute"),
    ("stdin", "input_reply", {"value": "v"}, "execute"),
    ("control", "interrupt_request", {}, "execute"),
    ("control", "debug_request", {"type": "request", "seq": 1, "command": "initialize", "arguments": {}}, "execute"),
    ("control", "shutdown_request", {"restart": False}, "execute"),
    ("shell", "shutdown_request", {"restart": False}, "execute"),
    ("control", "usage_request", {}, "execute"),
    ("control", "create_subshell_request", {}, "execute"),
    ("control", "list_subshell_request", {}, "execute"),
    ("control", "delete_subshell_request", {"subshell_id": "s-1"}, "execute"),
    ("shell", "connect_request", {}, "execute"),
    ("shell", "complete_request", COMPLETE, "execute"),
    ("shell", "inspect_request", INSPECT, "execute"),
    ("shell", "history_request", {"hist_access_type": "tail", "n": 1, "output": False, "raw": True}, "execute"),
    ("control", "inspect_request", INSPECT, "execute"),
    ("stdin", "complete_request", COMPLETE, "execute"),
    ("shell", "frobnicate_request", {}, "execute"),  # unknown type: unknown_message_level (execute)
    ("shell", "frobnicate", {}, "execute"),
    ("shell", "kernel_info_request", {}, "read"),
    ("shell", "is_complete_request", {"code": "x"}, "read"),
    ("shell", "comm_info_request", {}, "read"),
    ("control", "kernel_info_request", {}, "read"),
    ("control", "comm_info_request", {}, "read"),
    ("control", "is_complete_request", {"code": "x"}, "read"),
]
# Kernel replies we can wait for when a message is allowed (the echo kernel answers these on shell and control; it
# ignores the others, and everything on stdin).
KERNEL_REPLIES = {"execute_request", "interrupt_request", "debug_request", "kernel_info_request", "complete_request",
                  "inspect_request", "history_request", "is_complete_request", "comm_info_request"}
RANK = {"none": 0, "read": 1, "execute": 2, "owner": 3}


@pytest.fixture(scope="module")
def mgw(tmp_path_factory):
    # The matrix sends every message type from every role back to back; readers' denied messages count against
    # their rate limit (test_authz_findings.py tests that limit), so it is raised here.
    gw = MultiUserGateway(tmp_path_factory.mktemp("authz-channels"), USERS, extra_args=["--reader-burst", "100000"])
    yield gw
    gw.stop()


def reply_type(msg_type):
    return msg_type[:-len("_request")] + "_reply" if msg_type.endswith("_request") else "error"


def assert_denied_reply(client, sent, channel, msg_type, needed, had):
    """The gateway's answer to a denied message: X_reply (or error) on the same channel, status error,
    ename PermissionDenied, parented to the request; plus an iopub idle for requests."""
    mid = sent["header"]["msg_id"]
    err = client.wait_for(lambda m: m["parent_header"].get("msg_id") == mid and m["channel"] != "iopub", timeout=10)
    assert err["channel"] == channel, err
    assert err["header"]["msg_type"] == reply_type(msg_type), err["header"]
    assert err["parent_header"] == sent["header"]
    c = err["content"]
    assert c["status"] == "error" and c["ename"] == "PermissionDenied", c
    assert msg_type in c["evalue"] and f"needs {needed}" in c["evalue"] and f"you have {had}" in c["evalue"], c
    assert c["traceback"] == []
    if msg_type == "execute_request":
        assert c["execution_count"] is None and c["payload"] == [] and c["user_expressions"] == {}
    if msg_type.endswith("_request"):
        idle = client.wait_for(lambda m: m["parent_header"].get("msg_id") == mid and m["channel"] == "iopub",
                               timeout=10)
        assert idle["header"]["msg_type"] == "status" and idle["content"] == {"execution_state": "idle"}


def exercise(client, level, skip=()):
    """Sends every message type; checks each denied one's reply and each allowed one's kernel reply.
    Returns the (channel, msg_type) pairs that must have reached the kernel."""
    forwarded = set()
    for channel, msg_type, content, needed in MESSAGES:
        if (channel, msg_type) in skip:
            continue
        sent = client.send(new_msg(msg_type, dict(content), channel=channel, session=client.session_id,
                                   username="mallory"))
        if RANK[level] >= RANK[needed]:
            forwarded.add((channel, msg_type))
            if msg_type in KERNEL_REPLIES and channel != "stdin":
                r = client.reply_to(sent, reply_type(msg_type), timeout=10)
                assert r["content"].get("ename") != "PermissionDenied", r
                assert r["channel"] == channel
        else:
            assert_denied_reply(client, sent, channel, msg_type, needed, level)
    # a shell round trip so everything sent before has reached the kernel
    info = client.request("kernel_info_request")
    client.reply_to(info, "kernel_info_reply")
    forwarded.add(("shell", "kernel_info_request"))
    return forwarded


def received_by(entries, username):
    return {(ch, t) for ch, t, u in entries if u == username}


@pytest.fixture(scope="module")
def kernels(mgw):
    alice = mgw.user("alice")
    k = {"own": alice.start_kernel(), "read": alice.start_kernel(), "exec": alice.start_kernel()}
    for who in ("bob", "vera"):
        alice.share(k["read"], who, "read")
        alice.share(k["exec"], who, "execute")
    return k


# (actor, kernel, usable level): alice owns; root is admin on alice's kernel; bob and vera on shared kernels
CASES = [
    ("alice", "own", "owner"),
    ("root", "own", "owner"),
    ("bob", "read", "read"),
    ("vera", "read", "read"),
    ("bob", "exec", "execute"),
    ("vera", "exec", "read"),  # viewers are capped at read whatever the grant
]


@pytest.mark.parametrize("protocol", ["json", "v1"])
def test_channel_message_matrix(mgw, kernels, protocol):
    owner = mgw.user("alice")
    expected = {}
    for actor, kernel, level in CASES:
        client = mgw.user(actor).channel(kernels[kernel], protocol=protocol)
        try:
            # shutdown_request, when allowed, really stops the kernel: it is tested separately
            skip = {("control", "shutdown_request"), ("shell", "shutdown_request")} \
                if RANK[level] >= RANK["execute"] else set()
            expected[(actor, kernel)] = exercise(client, level, skip)
        finally:
            client.close()
    time.sleep(0.2)
    for kernel in ("own", "read", "exec"):
        watcher = owner.channel(kernels[kernel], protocol=protocol)
        try:
            entries = received_log(watcher)
        finally:
            watcher.close()
        assert not any(u == "mallory" for _, _, u in entries)  # client-written usernames never reach the kernel
        for (actor, k), forwarded in expected.items():
            if k != kernel or actor == "alice":
                continue
            assert received_by(entries, actor) == forwarded, (actor, kernel, received_by(entries, actor) ^ forwarded)
        if kernel == "own":
            got = received_by(entries, "alice")
            assert got >= expected[("alice", "own")] and got - expected[("alice", "own")] <= {("shell", "execute_request")}


def test_allowed_shutdown_request_reaches_kernel(mgw):
    alice, bob = mgw.user("alice"), mgw.user("bob")
    kid = alice.start_kernel()
    alice.share(kid, "bob", "execute")
    c = bob.channel(kid)
    try:
        sent = c.request("shutdown_request", {"restart": True}, channel="control")
        r = c.reply_to(sent, "shutdown_reply", timeout=10)
        assert r["content"] == {"status": "ok", "restart": True}
    finally:
        c.close()
        alice.delete(f"/api/kernels/{kid}")


def test_share_and_revoke_while_connected(mgw):
    alice, bob, vera = mgw.user("alice"), mgw.user("bob"), mgw.user("vera")
    kid = alice.start_kernel()
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        bob.channel(kid)
    assert e.value.status_code == 404
    alice.share(kid, "bob", "read")
    alice.share(kid, "vera", "read")
    b = bob.channel(kid)
    v = vera.channel(kid)
    a = alice.channel(kid)
    try:
        msg = b.execute("try 1")
        assert_denied_reply(b, msg, "shell", "execute_request", "execute", "read")
        # upgrade on the open connection: the very next message may execute
        alice.share(kid, "bob", "execute")
        msg = b.execute("try 2")
        got = b.collect_until_idle(msg)
        reply = [m for m in got if m["header"]["msg_type"] == "execute_reply"][0]
        assert reply["content"]["status"] == "ok"
        assert any(m["header"]["msg_type"] == "stream" and "try 2" in m["content"]["text"] for m in got)
        # the viewer watching the kernel sees bob's and alice's outputs live, and never their replies
        v.wait_for(lambda m: m["header"]["msg_type"] == "stream" and "try 2" in m["content"]["text"])
        own = a.execute("from alice")
        a.reply_to(own, "execute_reply")
        v.wait_for(lambda m: m["header"]["msg_type"] == "stream" and "from alice" in m["content"]["text"])
        v.wait_for(lambda m: m["header"]["msg_type"] == "execute_input" and m["content"]["code"] == "from alice")
        assert not any(m["channel"] == "shell" for m in v.backlog)
        # downgrade: next execute denied, reading still fine
        alice.share(kid, "bob", "read")
        msg = b.execute("try 3")
        assert_denied_reply(b, msg, "shell", "execute_request", "execute", "read")
        info = b.request("kernel_info_request")
        assert b.reply_to(info, "kernel_info_reply")["content"]["status"] == "ok"
        # revoke: bob's connection is closed, bob cannot see the kernel any more; vera is unaffected
        alice.share(kid, "bob", "none")
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(50):
                b.recv(timeout=5)
        assert b.close_code == 1008
        assert bob.get(f"/api/kernels/{kid}").status_code == 404
        assert kid not in {k["id"] for k in bob.get("/api/kernels").json()}
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            bob.channel(kid)
        assert e.value.status_code == 404
        info = v.request("kernel_info_request")
        assert v.reply_to(info, "kernel_info_reply")["content"]["status"] == "ok"
        entries = received_log(a)
        assert ("shell", "execute_request", "bob") in [tuple(x) for x in entries]
        bob_execs = [x for x in entries if x[2] == "bob" and x[1] == "execute_request"]
        assert len(bob_execs) == 1  # only "try 2"
    finally:
        for c in (a, b, v):
            c.close()
        alice.delete(f"/api/kernels/{kid}")


def test_spoofed_username_and_session_do_not_change_identity_or_routing(mgw):
    alice, bob = mgw.user("alice"), mgw.user("bob")
    kid = alice.start_kernel()
    alice.share(kid, "bob", "execute")
    session = uuid.uuid4().hex
    a = alice.channel(kid, session_id=session)
    # bob connects claiming alice's session id: he must not take over her connection
    b = bob.channel(kid, session_id=session)
    try:
        info = a.request("kernel_info_request")
        assert a.reply_to(info, "kernel_info_reply")["content"]["status"] == "ok"
        slow = a.execute("%sleep 0.5\nalice secret")
        # bob's messages claim to be alice, in alice's session
        spoof = b.request("kernel_info_request", session=session, username="alice")
        assert b.reply_to(spoof, "kernel_info_reply")["content"]["status"] == "ok"
        spoof_exec = b.send(new_msg("execute_request", {"code": "bob here", "silent": False}, session=session,
                                    username="alice"))
        b.reply_to(spoof_exec, "execute_reply")
        a.reply_to(slow, "execute_reply")
        # replies never crossed: bob has none of alice's, alice none of bob's
        time.sleep(0.3)
        for c, foreign in ((b, slow), (a, spoof), (a, spoof_exec)):
            with pytest.raises(Exception):
                c.wait_for(lambda m: m["parent_header"].get("msg_id") == foreign["header"]["msg_id"]
                           and m["channel"] != "iopub", timeout=0.5)
        # alice disconnects with a request pending; bob (same session id) must not get her replay
        pending = a.execute("%sleep 1\nlate for alice")
        a.wait_for(lambda m: m["header"]["msg_type"] == "execute_input"
                   and m["parent_header"].get("msg_id") == pending["header"]["msg_id"])
        a.close()
        b.close()
        b = bob.channel(kid, session_id=session)
        time.sleep(1.5)
        with pytest.raises(Exception):
            b.wait_for(lambda m: m["parent_header"].get("msg_id") == pending["header"]["msg_id"]
                       and m["channel"] == "shell", timeout=0.5)
        a = alice.channel(kid, session_id=session)
        assert a.reply_to(pending, "execute_reply")["content"]["status"] == "ok"  # alice's replay reached alice
        entries = [tuple(x) for x in received_log(a)]
        bob_entries = [e for e in entries if e[2] == "bob"]
        assert ("shell", "kernel_info_request", "bob") in bob_entries
        assert ("shell", "execute_request", "bob") in bob_entries
        alice_execs = [e for e in entries if e[2] == "alice" and e[1] == "execute_request"]
        assert len(alice_execs) == 3  # slow, pending, %received: bob's spoofed execute is not counted as alice's
    finally:
        a.close()
        b.close()
        alice.delete(f"/api/kernels/{kid}")
