"""Issue 10 ("Read means read"), findings 4, 6 and 7, as the attacks were run against the real binary with users made
by `users add`: each test plays the attacker and asserts on what the attacker got.

4. Session squatting: a session for someone else's notebook path, in the squatter's kernel, is never handed to them.
6. Starvation: one user cannot take every kernel slot; admins keep a reserve; the 403 says which limit was hit.
7. Rotated or revoked tokens: WebSockets opened with the old token are closed at the reload (1008).
"""
import json
import uuid

import pytest
import requests
import websocket

from conftest import MultiUserGateway, UserView, add_user, sighup_and_wait, users_cli


def drain(client, seconds):
    """Every message `client` receives within `seconds` (none is an empty list)."""
    got = []
    while True:
        try:
            got.append(client.recv(timeout=seconds))
        except websocket.WebSocketTimeoutException:
            return got


# --- 4. sessions are per owner ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def squat(tmp_path_factory):
    gw = MultiUserGateway(tmp_path_factory.mktemp("authz-squat"), {"alice": "user", "bob": "user", "root": "admin"})
    yield gw
    gw.stop()


def open_notebook(user, path, kernel="python3"):
    """What a frontend does to open a notebook: look for its session by path in the listing (JupyterLab's
    findByPath), else POST one. Returns the session model the user ends up with."""
    for s in user.get("/api/sessions").json():
        if s["path"] == path:
            return s
    r = user.post("/api/sessions", {"path": path, "type": "notebook", "name": path.rsplit("/", 1)[-1],
                                    "kernel": {"name": kernel}})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("victim", ["alice", "root"])
def test_squatted_session_does_not_capture_the_victims_notebook(squat, victim):
    """bob creates a session for the victim's notebook path in his own kernel and grants the victim execute there;
    when the victim opens the notebook, bob must receive none of its code or output."""
    bob, target = squat.user("bob"), squat.user(victim)
    path = f"{victim}/thesis-{uuid.uuid4().hex[:8]}.ipynb"
    r = bob.post("/api/sessions", {"path": path, "type": "notebook", "kernel": {"name": "python3"}})
    assert r.status_code == 201, r.text
    trap = r.json()
    bob.share(trap["kernel"]["id"], victim, "execute")
    spy = bob.channel(trap["kernel"]["id"])
    mine = open_notebook(target, path)
    c = target.channel(mine["kernel"]["id"])
    secret = f"draft-{uuid.uuid4().hex}"
    try:
        msg = c.execute(f"chapter = {secret!r}; print(chapter[::-1])")
        got = c.collect_until_idle(msg, timeout=60)
        assert any(m["header"]["msg_type"] == "stream" and secret[::-1] in m["content"]["text"] for m in got)
        spied = drain(spy, 2)
    finally:
        c.close()
        spy.close()
    leaked = [m for m in spied if secret in json.dumps(m) or secret[::-1] in json.dumps(m)]
    assert leaked == [], f"bob received the {victim}'s code or output: {leaked}"
    assert mine["id"] != trap["id"] and mine["kernel"]["id"] != trap["kernel"]["id"]
    # the victim's kernel is the victim's: bob cannot see it, the victim owns it
    assert bob.get(f"/api/kernels/{mine['kernel']['id']}").status_code == 404
    assert target.get(f"/api/kernels/{mine['kernel']['id']}/access").json()["owner"] == victim
    # each owner lists only their own session for the path; posting again returns the caller's own session
    assert [s["id"] for s in bob.get("/api/sessions").json() if s["path"] == path] == [trap["id"]]
    assert [s["id"] for s in target.get("/api/sessions").json() if s["path"] == path] == [mine["id"]]
    again = target.post("/api/sessions", {"path": path, "kernel": {"name": "python3"}})
    assert again.status_code == 201 and again.json()["id"] == mine["id"]
    again = bob.post("/api/sessions", {"path": path, "kernel": {"name": "python3"}})
    assert again.status_code == 201 and again.json()["id"] == trap["id"]
    target.delete(f"/api/sessions/{mine['id']}")
    bob.delete(f"/api/sessions/{trap['id']}")


def test_shared_users_cannot_take_over_a_session(squat):
    """alice shares her kernel with bob: bob may read her session by id but not list, rename, move or delete it,
    and his own session for the same path lives in his own kernel."""
    alice, bob = squat.user("alice"), squat.user("bob")
    path = f"alice/shared-{uuid.uuid4().hex[:8]}.ipynb"
    r = alice.post("/api/sessions", {"path": path, "kernel": {"name": "echo"}})
    assert r.status_code == 201, r.text
    hers = r.json()
    alice.share(hers["kernel"]["id"], "bob", "execute")
    assert bob.get(f"/api/sessions/{hers['id']}").json()["kernel"]["id"] == hers["kernel"]["id"]
    assert hers["id"] not in {s["id"] for s in bob.get("/api/sessions").json()}
    assert bob.patch(f"/api/sessions/{hers['id']}", {"path": "bob/mine.ipynb"}).status_code == 403
    assert bob.delete(f"/api/sessions/{hers['id']}").status_code == 403
    r = bob.post("/api/sessions", {"path": path, "kernel": {"name": "echo"}})
    assert r.status_code == 201 and r.json()["id"] != hers["id"]
    assert r.json()["kernel"]["id"] != hers["kernel"]["id"]
    assert alice.get(f"/api/sessions/{hers['id']}").json()["path"] == path
    assert [s["id"] for s in alice.get("/api/sessions").json() if s["path"] == path] == [hers["id"]]
    bob.delete(f"/api/sessions/{r.json()['id']}")
    alice.delete(f"/api/sessions/{hers['id']}")


# --- 6. per-user limit and the admins' reserve -----------------------------------------------------------------

def start(user, path=None):
    if path is not None:
        return user.post("/api/sessions", {"path": path, "kernel": {"name": "echo"}})
    return user.post("/api/kernels", {"name": "echo"})


def assert_limit(r, limit, max_kernels, *needles, reserved=None):
    assert r.status_code == 403, (r.status_code, r.text)
    body = r.json()
    assert body["reason"] == "Forbidden" and body["limit"] == limit and body["max_kernels"] == max_kernels, body
    assert body.get("reserved_kernels") == reserved, body
    for needle in needles:
        assert needle in body["message"], (needle, body)


def test_one_user_cannot_starve_the_others(tmp_path):
    gw = MultiUserGateway(tmp_path, {"alice": "user", "bob": "user", "root": "admin"},
                          extra_args=["--max-kernels", "6"])
    try:
        alice, bob, root = gw.user("alice"), gw.user("bob"), gw.user("root")
        got = [start(bob) for _ in range(6)]
        assert [r.status_code for r in got] == [201] * 4 + [403] * 2, [r.text for r in got]
        assert_limit(got[4], "per_user", 4, "bob may not", "per-user kernel limit reached: you own 4 of at most 4")
        assert_limit(start(bob, "bob/more.ipynb"), "per_user", 4, "per-user kernel limit")
        # alice still gets a kernel; the last of the 6 slots is the admins' reserve (10%, at least 1)
        assert start(alice).status_code == 201
        assert_limit(start(alice), "admin_reserve", 6, "alice may not", "reserved for admins", reserved=1)
        assert_limit(start(alice, "alice/x.ipynb"), "admin_reserve", 6, "reserved for admins", reserved=1)
        mine = start(root)
        assert mine.status_code == 201, mine.text
        assert_limit(start(root), "gateway", 6, "root may not", "gateway-wide kernel limit reached: 6 of at most 6")
        assert_limit(start(bob), "per_user", 4)  # the per-user limit is checked first
        assert len(root.get("/api/kernels").json()) == 6
        # a freed slot is usable again
        assert root.delete(f"/api/kernels/{mine.json()['id']}").status_code == 204
        assert start(root).status_code == 201
    finally:
        gw.stop()
    audit = [e for e in gw.audit_events() if e["action"] == "start" and e["outcome"] == "denied"]
    assert {e["user"] for e in audit} >= {"alice", "root"}, audit


def test_the_admin_keeps_a_slot_when_one_user_fills_the_gateway(tmp_path):
    """The finding as reported: --max-kernels 3, bob starts as many kernels as he can."""
    gw = MultiUserGateway(tmp_path, {"alice": "user", "bob": "user", "root": "admin"},
                          extra_args=["--max-kernels", "3"])
    try:
        bob, root = gw.user("bob"), gw.user("root")
        got = [start(bob) for _ in range(3)]
        assert [r.status_code for r in got] == [201, 201, 403], [r.text for r in got]
        assert_limit(got[2], "admin_reserve", 3, "reserved for admins", reserved=1)
        assert start(root).status_code == 201
        assert_limit(start(root), "gateway", 3)
    finally:
        gw.stop()


def test_reserve_and_user_limit_are_configurable(tmp_path):
    policy = {"version": 1, "roles": {"user": {"max_kernels": 1}}}
    gw = MultiUserGateway(tmp_path, {"alice": "user", "bob": "user", "root": "admin"}, policy=policy,
                          extra_args=["--max-kernels", "3", "--admin-reserved-kernels", "0"])
    try:
        alice, bob, root = gw.user("alice"), gw.user("bob"), gw.user("root")
        assert start(bob).status_code == 201
        assert_limit(start(bob), "per_user", 1, "you own 1 of at most 1")
        assert start(alice).status_code == 201
        assert start(root).status_code == 201
        assert_limit(start(root), "gateway", 3)
    finally:
        gw.stop()


# --- 7. rotated and revoked tokens close their sockets ---------------------------------------------------------

def read_until_closed(client, seconds=10):
    """Reads until the gateway closes `client` or `seconds` pass without a message. Returns the close code and
    reason (None, None when it stayed open) and every message that arrived."""
    got = []
    try:
        while True:
            got.append(client.recv(timeout=seconds))
    except websocket.WebSocketConnectionClosedException:
        return client.close_code, client.close_reason, got
    except websocket.WebSocketTimeoutException:
        return None, None, got


def assert_alive(client, text):
    """Runs `print(text)` (echo-kernel echoes the code, ipykernel prints); the output must contain `text`."""
    msg = client.execute(f"print({text!r})")
    got = client.collect_until_idle(msg, timeout=60)
    assert any(m["header"]["msg_type"] == "stream" and text in m["content"]["text"] for m in got), got


def test_rotated_token_closes_the_sockets_it_opened(tmp_path):
    gw = MultiUserGateway(tmp_path, {"carol": "user", "dave": "user", "root": "admin"})
    try:
        carol, dave, root = gw.user("carol"), gw.user("dave"), gw.user("root")
        kid = carol.start_kernel("python3")
        carol.share(kid, "dave", "execute")
        stolen = carol.channel(kid)  # opened with the token that is about to be rotated
        assert_alive(stolen, "before rotation")
        others = [dave.channel(kid), root.channel(kid)]
        new_token = add_user(gw.users_file, "carol", "user")  # the CLI rotates carol's token
        fresh = UserView(gw, "carol", new_token)
        sighup_and_wait(gw, "reloaded users and policy", len(gw.log_text()))
        # what the holder of the old token gets: the socket closed, and no execution of the code it sends
        try:
            stolen.execute("import os; print('after rotation', os.getpid())")
        except (websocket.WebSocketException, OSError):
            pass  # already closed: nothing was sent
        code, reason, got = read_until_closed(stolen)
        assert not [m for m in got if "after rotation" in json.dumps(m)], f"the old token still executes: {got}"
        assert code == 1008 and "token" in reason and "carol" in reason, (code, reason)
        assert requests.get(gw.base + "/api/me", headers=gw.headers(gw.tokens["carol"]), timeout=10).status_code == 401
        # connections opened with tokens that did not change stay, carol's new token works on the channel too
        for c, who in zip(others, ("dave", "root")):
            assert_alive(c, f"{who} still here")
        renewed = fresh.channel(kid)
        assert_alive(renewed, "carol with her new token")
        # removing the user closes the socket of the new token too (as before), naming the removal
        assert users_cli("remove", "carol", "--file", gw.users_file).returncode == 0
        sighup_and_wait(gw, "reloaded users and policy", len(gw.log_text()))
        code, reason, _ = read_until_closed(renewed)
        assert code == 1008 and "carol" in reason and "removed" in reason, (code, reason)
        for c, who in zip(others, ("dave", "root")):
            assert_alive(c, f"{who} after the removal")
            c.close()
        for token in (gw.tokens["carol"], new_token):
            assert token not in gw.log_text() and token not in gw.audit_path.read_text()
    finally:
        gw.stop()


def test_shared_token_sockets_survive_a_reload(make_gateway):
    """Without a users file there is one token (--token); a reload changes nothing for its sockets."""
    gw = make_gateway()
    k = gw.start_kernel("echo")
    from conftest import ChannelClient
    c = ChannelClient(gw, k["id"])
    try:
        sighup_and_wait(gw, "reloaded users and policy", len(gw.log_text()))
        assert_alive(c, "shared token still here")
    finally:
        c.close()
