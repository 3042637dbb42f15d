"""The audit log: one JSON object per line for authentication failures, every denial (HTTP and channel) and
kernel start/stop/restart/interrupt/share with the acting user; and no issued token in any log."""
import json
import re
import uuid

import pytest
import requests
import websocket

from conftest import MultiUserGateway, new_msg

USERS = {"alice": "user", "bob": "user", "vera": "viewer", "root": "admin"}


@pytest.fixture(scope="module")
def mgw(tmp_path_factory):
    gw = MultiUserGateway(tmp_path_factory.mktemp("authz-audit"), USERS)
    yield gw
    gw.stop()


def find(events, **fields):
    def match(e):
        for k, v in fields.items():
            if callable(v):
                if not v(e.get(k)):
                    return False
            elif e.get(k) != v:
                return False
        return True
    return [e for e in events if match(e)]


def test_audit_log_records_who_did_what(mgw):
    alice, bob, vera, root = (mgw.user(n) for n in ("alice", "bob", "vera", "root"))
    # authentication failures: no token, a wrong token in the header, a token-shaped guess in the query string
    guess = uuid.uuid4().hex + uuid.uuid4().hex
    assert requests.get(mgw.base + "/api/kernels", timeout=10).status_code == 401
    assert requests.get(mgw.base + "/api/kernels", headers={"Authorization": "token wrong"}, timeout=10).status_code == 401
    assert requests.get(mgw.base + f"/api/status?token={guess}", timeout=10).status_code == 401
    # lifecycle by the owner and an admin
    kid = alice.start_kernel()
    assert alice.post(f"/api/kernels/{kid}/interrupt").status_code == 204
    assert alice.post(f"/api/kernels/{kid}/restart").status_code == 200
    alice.share(kid, "vera", "read")
    # HTTP denials: hidden (404), forbidden (403) at type level and at kernel level, a session hidden from bob
    assert bob.get(f"/api/kernels/{kid}").status_code == 404
    assert vera.post("/api/kernels", {"name": "echo"}).status_code == 403
    assert vera.post(f"/api/kernels/{kid}/restart").status_code == 403
    assert alice.get("/metrics").status_code == 403
    r = alice.post("/api/sessions", {"path": "audit.ipynb", "kernel": {"id": kid}})
    assert r.status_code == 201
    sid = r.json()["id"]
    assert bob.get(f"/api/sessions/{sid}").status_code == 404
    assert bob.delete(f"/api/sessions/{sid}").status_code == 404
    alice.share(kid, "bob", "read")
    assert bob.post(f"/api/kernels/{kid}/restart").status_code == 403
    # a channel denial
    c = vera.channel(kid)
    try:
        sent = c.execute("nope")
        c.reply_to(sent, "execute_reply")
        sent_input = c.send(new_msg("input_reply", {"value": "x"}, channel="stdin", session=c.session_id))
        c.wait_for(lambda m: m["parent_header"].get("msg_id") == sent_input["header"]["msg_id"])
    finally:
        c.close()
    # a cross-origin WebSocket refused
    with pytest.raises(websocket.WebSocketBadStatusException):
        alice.channel(kid, origin="https://evil.example")
    assert root.delete(f"/api/kernels/{kid}").status_code == 204

    text = mgw.audit_path.read_text()
    lines = text.splitlines()
    assert lines and text.endswith("\n")
    events = [json.loads(line) for line in lines]  # every line is exactly one JSON object
    for e in events:
        assert {"time", "user", "action", "resource", "outcome"} <= set(e), e
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["time"]), e
        assert e["outcome"] in ("allowed", "denied", "unauthenticated", "failed")

    unauth = find(events, outcome="unauthenticated")
    assert len(unauth) >= 3 and all(e["user"] is None and e["action"] == "authenticate" for e in unauth)
    assert find(unauth, reason="no token", resource="/api/kernels")
    assert len(find(unauth, reason="invalid token")) >= 2
    assert guess not in text

    for action in ("start", "interrupt", "restart", "share"):
        got = find(events, action=action, user="alice", resource=f"kernels/{kid}", outcome="allowed")
        assert got, action
    assert find(events, action="share", user="alice", reason="vera=read")
    assert find(events, action="start", reason="echo")
    assert find(events, action="shutdown", user="root", resource=f"kernels/{kid}", outcome="allowed")

    denied = find(events, outcome="denied")
    assert find(denied, user="bob", action="read", resource=lambda r: kid in r, reason="kernel not found")
    assert find(denied, user="vera", action="write", reason=lambda r: "write on kernels" in r)
    assert find(denied, user="vera", action="write", resource=f"kernel {kid}",
                reason="your roles do not allow write on kernels")
    assert find(denied, user="bob", action="write", resource=f"kernel {kid}",
                reason="you have read access to this kernel; write on it needs owner")
    assert find(denied, user="alice", action="read", resource="metrics")
    assert find(denied, user="vera", action="execute", resource=f"kernels/{kid}/shell/execute_request",
                reason="execute_request on shell needs execute access; you have read")
    assert find(denied, user="vera", action="execute", resource=f"kernels/{kid}/stdin/input_reply")
    assert find(denied, user="alice", action="connect", reason=lambda r: "evil.example" in r)
    assert find(denied, user="bob", action="read", resource=f"session {sid}", reason="session not found")
    assert find(denied, user="bob", action="write", resource=f"session {sid}", reason="session not found")
    # HTTP and channel events name the client's address
    assert all(e.get("remote", "").startswith("127.0.0.1:") for e in unauth)
    assert all(e.get("remote", "").startswith("127.0.0.1:") for e in find(denied, resource=lambda r: "/shell/" in r))


def test_no_token_in_any_log(mgw):
    """Every issued token, used in headers and query strings, good and bad, never appears in the gateway's
    log or the audit log (nor does its hash)."""
    import hashlib
    for name, token in mgw.tokens.items():
        assert requests.get(mgw.base + f"/api/me?token={token}", timeout=10).status_code == 200
        assert requests.get(mgw.base + "/api/kernels", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code == 200
        # a token with one character changed, in the URL: rejected and not logged either
        bad = token[:-1] + ("0" if token[-1] != "0" else "1")
        assert requests.get(mgw.base + f"/api/kernels?token={bad}", timeout=10).status_code == 401
        kid = mgw.user("root").start_kernel()
        ws = websocket.create_connection(f"{mgw.ws_base}/api/kernels/{kid}/channels?token={mgw.tokens['root']}",
                                         timeout=10)
        ws.close()
        mgw.user("root").delete(f"/api/kernels/{kid}")
    logs = {"gateway log": mgw.log_text(), "audit log": mgw.audit_path.read_text()}
    assert "unauthenticated" in logs["audit log"]
    for where, text in logs.items():
        for name, token in mgw.tokens.items():
            assert token not in text, f"{name}'s token in the {where}"
            assert token[:-1] not in text, f"{name}'s token prefix in the {where}"
            assert hashlib.sha256(token.encode()).hexdigest() not in text, f"{name}'s token hash in the {where}"
