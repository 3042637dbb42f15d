"""Issue 10 ("Read means read"): the attacks of a hostile user of a shared gateway, run against real ipykernel
kernels with users made by `users add`. Each test asserts on what the attacker got, and on a positive control
showing that the same probe does reveal the secret to someone allowed to see it (so a pass is not vacuous)."""
import json
import secrets
import signal
import time

import pytest
import websocket

from conftest import Gateway, MultiUserGateway, add_user, users_cli

USERS = {"alice": "user", "bob": "user", "vera": "viewer", "eve": "user"}
POLICY = {"version": 1, "channel_rules": {"control/shutdown_request": "owner"}}


@pytest.fixture(scope="module")
def mgw(tmp_path_factory):
    gw = MultiUserGateway(tmp_path_factory.mktemp("authz-findings"), USERS, policy=POLICY)
    yield gw
    gw.stop()


def drain(client, seconds=1.0):
    """Everything the client has received (backlog included) until `seconds` pass without a message."""
    got = list(client.backlog)
    client.backlog.clear()
    while True:
        try:
            got.append(client.recv(timeout=seconds))
        except websocket.WebSocketTimeoutException:
            return got


def run_cell(client, code, timeout=60, **content):
    msg = client.execute(code, **content)
    got = client.collect_until_idle(msg, timeout=timeout)
    reply = [m for m in got if m["header"]["msg_type"] == "execute_reply"][0]
    assert reply["content"]["status"] == "ok", reply["content"]
    return got


def ask(client, msg_type, content, channel="shell", timeout=30):
    sent = client.request(msg_type, content, channel=channel)
    reply = client.reply_to(sent, msg_type.replace("_request", "_reply"), timeout=timeout)
    assert reply["channel"] == channel
    return reply


def assert_permission_denied(reply, msg_type, needed, had):
    c = reply["content"]
    assert c["status"] == "error" and c["ename"] == "PermissionDenied", c
    assert msg_type in c["evalue"] and f"needs {needed}" in c["evalue"] and f"you have {had}" in c["evalue"], c


# --- finding 1: read leaks values and code ----------------------------------------------------------------------

# (msg_type, content) of every probe; {name}, {vault} and {needle} are filled in per run, and a cursor_pos of
# None becomes the end of the code.
PROBES = [
    ("inspect_request", {"code": "{name}", "cursor_pos": None, "detail_level": 0}),
    ("inspect_request", {"code": "{name}", "cursor_pos": None, "detail_level": 1}),
    ("complete_request", {"code": "{vault}['", "cursor_pos": None}),
    ("history_request", {"hist_access_type": "search", "pattern": "*{needle}*", "n": 1000, "unique": False,
                         "output": False, "raw": True}),
    ("history_request", {"hist_access_type": "tail", "n": 1000, "output": False, "raw": True}),
    ("history_request", {"hist_access_type": "range", "session": 0, "start": 0, "stop": 1000, "output": False,
                         "raw": True}),
]


def probes(names):
    out = []
    for msg_type, content in PROBES:
        filled = {k: v.format(**names) if isinstance(v, str) else v for k, v in content.items()}
        if "cursor_pos" in filled:
            filled["cursor_pos"] = len(filled["code"])
        out.append((msg_type, filled))
    return out


def test_read_grant_reveals_no_values_keys_or_history(mgw):
    alice, bob, vera = mgw.user("alice"), mgw.user("bob"), mgw.user("vera")
    kid = alice.start_kernel("python3")
    alice.share(kid, "bob", "read")
    alice.share(kid, "vera", "read")  # a viewer: read whatever the grant
    token = secrets.token_hex(6)
    secret, key = f"hunter2-{token}", f"apikey{token}"
    names = {"name": f"password_{token}", "vault": f"vault_{token}", "needle": token}
    a = alice.channel(kid)
    try:
        # alice's session: a value never printed, a dict whose keys are never shown, both in the history
        run_cell(a, f"{names['name']} = {secret!r}\n{names['vault']} = {{{key!r}: 1}}", store_history=True)
        # positive control: the owner's probes do reveal them
        owner_view = json.dumps([ask(a, t, c)["content"] for t, c in probes(names)])
        assert secret in owner_view and key in owner_view
    finally:
        a.close()

    for attacker, had in ((vera, "read"), (bob, "read")):
        c = attacker.channel(kid)
        try:
            replies = []
            for channel in ("shell", "control"):  # ipykernel serves every shell request on control too
                for msg_type, content in probes(names):
                    replies.append(ask(c, msg_type, content, channel=channel))
                    assert_permission_denied(replies[-1], msg_type, "execute", had)
            # what read is for still works: the kernel's description, completeness of given code, open comms
            replies.append(ask(c, "kernel_info_request", {}))
            assert replies[-1]["content"]["status"] == "ok"
            replies.append(ask(c, "is_complete_request", {"code": "x = ("}))
            assert replies[-1]["content"]["status"] == "incomplete"
            replies.append(ask(c, "comm_info_request", {}, channel="control"))
            assert replies[-1]["content"]["status"] == "ok"
            everything = repr(replies) + repr(drain(c))
            assert secret not in everything and key not in everything and names["vault"] not in everything
        finally:
            c.close()
    alice.delete(f"/api/kernels/{kid}")


def test_read_grant_still_watches_broadcasts(mgw):
    alice, vera = mgw.user("alice"), mgw.user("vera")
    kid = alice.start_kernel("python3")
    alice.share(kid, "vera", "read")
    v = vera.channel(kid)
    a = alice.channel(kid)
    try:
        marker = f"public-{secrets.token_hex(4)}"
        run_cell(a, f"print({marker!r})")
        v.wait_for(lambda m: m["header"]["msg_type"] == "stream" and marker in m["content"]["text"], timeout=30)
    finally:
        a.close()
        v.close()
        alice.delete(f"/api/kernels/{kid}")


# --- finding 2: a rule for one channel missed the same message on another ----------------------------------------

def test_owner_only_shutdown_holds_on_shell(mgw):
    alice, bob = mgw.user("alice"), mgw.user("bob")
    kid = alice.start_kernel("python3")
    alice.share(kid, "bob", "execute")
    b = bob.channel(kid)
    try:
        # the policy names control/shutdown_request; ipykernel also shuts down on a shell shutdown_request
        for channel in ("shell", "control"):
            reply = ask(b, "shutdown_request", {"restart": False}, channel=channel)
            assert_permission_denied(reply, "shutdown_request", "owner", "execute")
        time.sleep(1.0)
        # the kernel is alive and untouched: bob may still execute, and no restart happened
        got = run_cell(b, "print('still alive')")
        assert any(m["header"]["msg_type"] == "stream" and "still alive" in m["content"]["text"] for m in got)
        model = alice.get(f"/api/kernels/{kid}").json()
        assert model["execution_state"] in ("idle", "busy"), model
        states = [m["content"].get("execution_state") for m in drain(b, 0.5) if m["header"]["msg_type"] == "status"]
        assert "restarting" not in states and "dead" not in states
    finally:
        b.close()
    # the owner still can (positive control)
    a = alice.channel(kid)
    try:
        reply = ask(a, "shutdown_request", {"restart": False}, channel="shell")
        assert reply["content"]["status"] == "ok" and reply["content"].get("ename") is None, reply["content"]
    finally:
        a.close()
        alice.delete(f"/api/kernels/{kid}")


# --- finding 3: readers could freeze the kernel ------------------------------------------------------------------

def test_readers_are_bounded_in_size_and_rate(mgw):
    """A viewer's 40 kB question used to keep the owner's next cell waiting (38 s for a complete_request); now a
    reader's message over 16 KiB never reaches the kernel, and a flood is cut to the burst plus the sustained rate.
    A user who may execute is not limited (positive control: the same 40 kB message goes through for them)."""
    alice, bob, vera = mgw.user("alice"), mgw.user("bob"), mgw.user("vera")
    kid = alice.start_kernel("python3")
    alice.share(kid, "vera", "read")
    alice.share(kid, "bob", "execute")
    padding = "x" * 40_000
    v, b, a = vera.channel(kid), bob.channel(kid), alice.channel(kid)
    try:
        # size: the padded request is answered by the gateway, not the kernel
        reply = ask(v, "is_complete_request", {"code": "1", "pad": padding})
        c = reply["content"]
        assert c["status"] == "error" and c["ename"] == "MessageTooLarge", c
        assert "16384 bytes" in c["evalue"], c
        assert ask(v, "is_complete_request", {"code": "x = ("})["content"]["status"] == "incomplete"
        assert ask(b, "is_complete_request", {"code": "x = (", "pad": padding})["content"]["status"] == "incomplete"

        # rate: 200 questions at once; the burst (20) and about 10 a second pass, the rest are refused
        started = time.time()
        sent = [v.request("is_complete_request", {"code": "1"}) for _ in range(200)]
        replies = [v.reply_to(m, "is_complete_reply", timeout=60) for m in sent]
        elapsed = time.time() - started
        passed = [r for r in replies if r["content"]["status"] != "error"]
        limited = [r for r in replies if r["content"].get("ename") == "RateLimited"]
        assert len(passed) + len(limited) == 200, [r["content"] for r in replies if r not in passed + limited][:3]
        # the `x = (` question above already used one message of the burst
        assert 1 <= len(passed) <= 20 + 10 * elapsed + 1, (len(passed), elapsed)
        assert "10 messages a second" in limited[0]["content"]["evalue"]

        # the owner's cell runs promptly after all this (the kernel was never given the flood)
        got = run_cell(a, "print('owner ran')", timeout=30)
        assert any(m["header"]["msg_type"] == "stream" and "owner ran" in m["content"]["text"] for m in got)
    finally:
        for client in (v, b, a):
            client.close()
        alice.delete(f"/api/kernels/{kid}")


# --- finding 8: grants to nobody --------------------------------------------------------------------------------

def sighup_and_wait(gw):
    start = len(gw.log_text())
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reloaded users and policy" not in gw.log_text()[start:]:
        assert time.time() < deadline, gw.log_text()[start:]
        time.sleep(0.05)


def assert_invisible(user, kid):
    assert user.get(f"/api/kernels/{kid}").status_code == 404
    assert kid not in {k["id"] for k in user.get("/api/kernels").json()}
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        user.channel(kid)
    assert e.value.status_code == 404


def test_grant_to_unknown_user_is_refused_and_not_inherited(mgw):
    alice = mgw.user("alice")
    kid = alice.start_kernel()
    for permission in ("read", "execute"):
        r = alice.put(f"/api/kernels/{kid}/access", {"user": "nobody-yet", "permission": permission})
        assert r.status_code == 400, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        body = r.json()
        assert body["reason"] == "Bad Request"
        assert "no user named 'nobody-yet'" in body["message"], body
    assert alice.get(f"/api/kernels/{kid}/access").json()["grants"] == []
    # removing a grant of an unknown name is fine (cleans up after removed users)
    assert alice.put(f"/api/kernels/{kid}/access", {"user": "nobody-yet", "permission": "none"}).status_code == 200
    # the account is created later: it inherits nothing
    mgw.tokens["nobody-yet"] = add_user(mgw.users_file, "nobody-yet", "user")
    sighup_and_wait(mgw)
    newcomer = mgw.user("nobody-yet")
    assert newcomer.get("/api/me").status_code == 200
    assert_invisible(newcomer, kid)
    # now that the user exists, the owner may share on purpose
    alice.share(kid, "nobody-yet", "read")
    assert newcomer.get(f"/api/kernels/{kid}").status_code == 200
    alice.delete(f"/api/kernels/{kid}")


def test_removed_users_grant_is_not_inherited_by_a_new_account_of_that_name(mgw):
    alice = mgw.user("alice")
    kid = alice.start_kernel()
    alice.share(kid, "eve", "execute")
    assert mgw.user("eve").get(f"/api/kernels/{kid}").status_code == 200
    r = users_cli("remove", "eve", "--file", mgw.users_file)
    assert r.returncode == 0, r.stderr
    sighup_and_wait(mgw)
    assert alice.get(f"/api/kernels/{kid}/access").json()["grants"] == []
    # a different person is given the name "eve" later
    mgw.tokens["eve"] = add_user(mgw.users_file, "eve", "user")
    sighup_and_wait(mgw)
    assert_invisible(mgw.user("eve"), kid)
    alice.delete(f"/api/kernels/{kid}")


def test_shared_token_mode_has_no_user_list(make_gateway):
    """Without a users file any name is accepted (docs/authorization.md): the one identity is an admin already."""
    gw = make_gateway()
    kid = gw.start_kernel("echo")["id"]
    r = gw.put(f"/api/kernels/{kid}/access", {"user": "nobody-yet", "permission": "read"})
    assert r.status_code == 200, r.text
    assert r.json()["grants"] == [{"user": "nobody-yet", "permission": "read"}]
    gw.delete(f"/api/kernels/{kid}")
