"""REST authorization matrix against the real binary in multi-user mode: roles admin (root), user (alice, bob, carol)
and viewer (vera) on every route, private and shared kernels, 401/403/404 bodies, hidden kernels that look exactly
like unknown ids, filtered listings and /api/me."""
import json
import re
import uuid

import pytest
import requests
import websocket

from conftest import MultiUserGateway

USERS = {"alice": "user", "bob": "user", "carol": "user", "vera": "viewer", "root": "admin"}


@pytest.fixture(scope="module")
def mgw(tmp_path_factory):
    gw = MultiUserGateway(tmp_path_factory.mktemp("authz-rest"), USERS)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def world(mgw):
    """alice owns ka (private), kr (bob+vera read), kx (bob+vera execute); bob owns kb. Sessions on ka and kr."""
    alice, bob = mgw.user("alice"), mgw.user("bob")
    w = {"ka": alice.start_kernel(), "kr": alice.start_kernel(), "kx": alice.start_kernel(), "kb": bob.start_kernel()}
    for who in ("bob", "vera"):
        alice.share(w["kr"], who, "read")
        alice.share(w["kx"], who, "execute")
    for name in ("ka", "kr"):
        r = alice.post("/api/sessions", {"path": f"{name}.ipynb", "type": "notebook", "name": name,
                                         "kernel": {"id": w[name]}})
        assert r.status_code == 201, r.text
        w["s" + name[1]] = r.json()["id"]
    return w


def ws_headers():
    return {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def kernel_routes(kid):
    """(label, method, path, body, extra headers) for every route that names a kernel."""
    return [
        ("get", "GET", f"/api/kernels/{kid}", None, None),
        ("delete", "DELETE", f"/api/kernels/{kid}", None, None),
        ("interrupt", "POST", f"/api/kernels/{kid}/interrupt", None, None),
        ("restart", "POST", f"/api/kernels/{kid}/restart", None, None),
        ("access-get", "GET", f"/api/kernels/{kid}/access", None, None),
        ("access-put", "PUT", f"/api/kernels/{kid}/access", {"user": "carol", "permission": "read"}, None),
        ("channels", "GET", f"/api/kernels/{kid}/channels", None, ws_headers()),
        ("session-create", "POST", "/api/sessions", {"path": f"x-{uuid.uuid4().hex}.ipynb", "kernel": {"id": kid}}, None),
    ]


def session_routes(sid):
    return [
        ("session-get", "GET", f"/api/sessions/{sid}", None, None),
        ("session-patch", "PATCH", f"/api/sessions/{sid}", {"name": "renamed"}, None),
        ("session-delete", "DELETE", f"/api/sessions/{sid}", None, None),
    ]


def call(user, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body)
    return requests.request(method, user.gw.base + path, data=data, timeout=60,
                            headers={**user.gw.headers(user.token), **(headers or {})})


def assert_error_json(r, status, *needles):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"message", "reason"}, body
    for needle in needles:
        assert needle in body["message"], (needle, body)
    return body


def comparable(r, secret_id, fake_id):
    """Status, body and headers of a response with the ids blanked, for 'hidden looks like unknown' checks."""
    text = r.text.replace(secret_id, "<id>").replace(fake_id, "<id>")
    headers = {k.lower(): v for k, v in r.headers.items() if k.lower() != "date"}
    return r.status_code, text, headers


# --- type-level routes ---------------------------------------------------------------------------------------

TYPE_ROUTES = {
    # route: expected status for alice (user), vera (viewer), root (admin)
    "/api": (200, 200, 200),
    "/api/status": (200, 200, 200),
    "/api/me": (200, 200, 200),
    "/api/kernelspecs": (200, 200, 200),
    "/api/kernelspecs/echo": (200, 200, 200),
    "/kernelspecs/echo/kernel.json": (200, 200, 200),
    "/api/kernels": (200, 200, 200),
    "/api/sessions": (200, 200, 200),
    "/metrics": (403, 403, 200),
}


@pytest.mark.parametrize("path", list(TYPE_ROUTES))
def test_type_level_routes(mgw, world, path):
    for who, expected in zip(("alice", "vera", "root"), TYPE_ROUTES[path]):
        r = mgw.user(who).get(path)
        if expected == 403:
            body = assert_error_json(r, 403, who, "read", "metrics")
            assert body["reason"] == "Forbidden"
        else:
            assert r.status_code == expected, (who, path, r.status_code, r.text)


def test_start_kernel_and_session_by_role(mgw, world):
    vera = mgw.user("vera")
    body = assert_error_json(vera.post("/api/kernels", {"name": "echo"}), 403, "vera may not write", "kernels")
    assert body["reason"] == "Forbidden"
    assert_error_json(vera.post("/api/sessions", {"path": "v.ipynb", "kernel": {"name": "echo"}}), 403,
                      "vera may not write", "sessions")
    for who in ("alice", "bob", "root"):
        u = mgw.user(who)
        r = u.post("/api/kernels", {"name": "echo"})
        assert r.status_code == 201, r.text
        assert u.delete(f"/api/kernels/{r.json()['id']}").status_code == 204
        r = u.post("/api/sessions", {"path": f"{who}-new.ipynb", "kernel": {"name": "echo"}})
        assert r.status_code == 201, r.text
        assert u.delete(f"/api/sessions/{r.json()['id']}").status_code == 204


# --- kernel and session routes -------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["bob", "vera"])
def test_private_kernel_is_invisible_and_indistinguishable_from_unknown(mgw, world, who):
    """Every route on someone else's private kernel answers 404, byte-for-byte like a nonexistent id."""
    user = mgw.user(who)
    secret, fake = world["ka"], str(uuid.uuid4())
    assert len(fake) == len(secret)
    for (label, method, path, body, headers), (_, _, fpath, fbody, _) in zip(kernel_routes(secret), kernel_routes(fake)):
        if label == "session-create":
            fbody = {**fbody, "path": body["path"]}
        hidden = call(user, method, path, body, headers)
        unknown = call(user, method, fpath, fbody, headers)
        assert hidden.status_code == 404, (label, hidden.text)
        assert comparable(hidden, secret, fake) == comparable(unknown, secret, fake), label
        assert_error_json(hidden, 404, "not found")
    secret_s, fake_s = world["sa"], str(uuid.uuid4())
    for (label, method, path, body, headers), (_, _, fpath, _, _) in zip(session_routes(secret_s), session_routes(fake_s)):
        hidden = call(user, method, path, body, headers)
        unknown = call(user, method, fpath, body, headers)
        assert hidden.status_code == 404, (label, hidden.text)
        assert comparable(hidden, secret_s, fake_s) == comparable(unknown, secret_s, fake_s), label
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        user.channel(secret)
    assert e.value.status_code == 404
    # nothing changed: the kernel and session are still alive and alice is still the only one with access
    alice = mgw.user("alice")
    assert alice.get(f"/api/kernels/{secret}").status_code == 200
    assert alice.get(f"/api/kernels/{secret}/access").json() == {"owner": "alice", "grants": []}
    assert alice.get(f"/api/sessions/{secret_s}").json()["name"] == "ka"


# expected status per route label for a non-owner with the given usable level
SHARED_EXPECT = {
    "read": {"get": 200, "delete": 403, "interrupt": 403, "restart": 403, "access-get": 403, "access-put": 403,
             "channels": 101, "session-create": 403},
    "execute": {"get": 200, "delete": 403, "interrupt": 204, "restart": 403, "access-get": 403, "access-put": 403,
                "channels": 101, "session-create": 403},
}
SHARED_SESSION_EXPECT = {"session-get": 200, "session-patch": 403, "session-delete": 403}


@pytest.mark.parametrize("who, kernel, level", [
    ("bob", "kr", "read"), ("vera", "kr", "read"),
    ("bob", "kx", "execute"),
    ("vera", "kx", "read"),  # a viewer's execute grant is capped at read
])
def test_shared_kernel_routes(mgw, world, who, kernel, level):
    user = mgw.user(who)
    kid = world[kernel]
    for label, method, path, body, headers in kernel_routes(kid):
        expected = SHARED_EXPECT[level][label]
        if label == "channels":
            c = user.channel(kid)
            c.close()
            continue
        r = call(user, method, path, body, headers)
        if expected == 403:
            action = {"interrupt": "execute", "get": "read", "access-get": "read"}.get(label, "write")
            assert_error_json(r, 403, f"{who} may not {action}", kid)
        else:
            assert r.status_code == expected, (label, r.status_code, r.text)
    if kernel == "kr":
        for label, method, path, body, headers in session_routes(world["sr"]):
            r = call(user, method, path, body, headers)
            expected = SHARED_SESSION_EXPECT[label]
            if expected == 403:
                assert_error_json(r, 403, f"{who} may not write")
            else:
                assert r.status_code == expected and r.json()["kernel"]["id"] == kid
    alice = mgw.user("alice")
    assert alice.get(f"/api/kernels/{kid}").status_code == 200
    assert alice.get(f"/api/sessions/{world['sr']}").json()["name"] == "kr"
    access = alice.get(f"/api/kernels/{kid}/access").json()
    assert {g["user"] for g in access["grants"]} == {"bob", "vera"}


@pytest.mark.parametrize("who", ["alice", "root"])
def test_owner_and_admin_may_do_everything(mgw, world, who):
    user = mgw.user(who)
    kid, sid = world["ka"], world["sa"]
    assert user.get(f"/api/kernels/{kid}").status_code == 200
    assert user.post(f"/api/kernels/{kid}/interrupt").status_code == 204
    r = user.post(f"/api/kernels/{kid}/restart")
    assert r.status_code == 200 and r.json()["id"] == kid
    assert user.get(f"/api/kernels/{kid}/access").json()["owner"] == "alice"
    assert user.put(f"/api/kernels/{kid}/access", {"user": "carol", "permission": "read"}).json()["grants"] == \
        [{"user": "carol", "permission": "read"}]
    assert user.put(f"/api/kernels/{kid}/access", {"user": "carol", "permission": "none"}).json()["grants"] == []
    assert_error_json(user.put(f"/api/kernels/{kid}/access", {"user": "carol", "permission": "owner"}), 400, "permission")
    c = user.channel(kid)
    info = c.request("kernel_info_request")
    assert c.reply_to(info, "kernel_info_reply")["content"]["status"] == "ok"
    c.close()
    assert user.get(f"/api/sessions/{sid}").json()["kernel"]["id"] == kid
    r = user.patch(f"/api/sessions/{sid}", {"name": f"ka-{who}"})
    assert r.status_code == 200 and r.json()["name"] == f"ka-{who}"
    user.patch(f"/api/sessions/{sid}", {"name": "ka"})
    # deleting: a throwaway kernel and a throwaway session of alice's
    alice = mgw.user("alice")
    spare = alice.start_kernel()
    assert user.delete(f"/api/kernels/{spare}").status_code == 204
    assert alice.get(f"/api/kernels/{spare}").status_code == 404
    r = alice.post("/api/sessions", {"path": f"spare-{who}.ipynb", "kernel": {"name": "echo"}})
    assert r.status_code == 201
    spare_session = r.json()
    assert user.delete(f"/api/sessions/{spare_session['id']}").status_code == 204
    assert alice.get(f"/api/sessions/{spare_session['id']}").status_code == 404
    assert alice.get(f"/api/kernels/{spare_session['kernel']['id']}").status_code == 404


def test_unauthenticated_requests_get_401_json(mgw, world):
    kid = world["ka"]
    paths = ["/api", "/api/status", "/api/me", "/api/kernelspecs", "/api/kernels", f"/api/kernels/{kid}",
             "/api/sessions", "/metrics", f"/api/kernels/{kid}/channels"]
    bad_tokens = {None: "authentication required", "": "authentication required", "not-a-token": "invalid token",
                  "0" * 64: "invalid token", mgw.tokens["alice"][:-1]: "invalid token"}
    for path in paths:
        for token, message in bad_tokens.items():
            headers = {"Authorization": f"token {token}"} if token is not None else {}
            r = requests.get(mgw.base + path, headers=headers, timeout=10)
            body = assert_error_json(r, 401, message)
            assert body["reason"] == "Unauthorized"
    r = requests.post(mgw.base + "/api/kernels", data='{"name": "echo"}', timeout=10)
    assert_error_json(r, 401)
    r = requests.delete(mgw.base + f"/api/kernels/{kid}", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert_error_json(r, 401, "invalid token")
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(f"{mgw.ws_base}/api/kernels/{kid}/channels", timeout=10)
    assert e.value.status_code == 401
    # the token works in the query string and with the Bearer scheme
    alice_token = mgw.tokens["alice"]
    assert requests.get(mgw.base + f"/api/kernels/{kid}?token={alice_token}", timeout=10).status_code == 200
    assert requests.get(mgw.base + "/api/me", headers={"Authorization": f"Bearer {alice_token}"},
                        timeout=10).json()["identity"]["username"] == "alice"
    assert mgw.get(f"/api/kernels/{kid}").status_code == 401  # the fixture's default: no token at all


# --- listings and /api/me --------------------------------------------------------------------------------------

def test_listings_show_readable_kernels_and_own_sessions(mgw, world):
    """Kernels: those the caller may read. Sessions: only the caller's own (on kernels they own), admins included,
    since frontends pick a session from the listing by path and connect to its kernel."""
    ka, kr, kx, kb = world["ka"], world["kr"], world["kx"], world["kb"]
    expected = {
        "alice": {ka, kr, kx},
        "bob": {kr, kx, kb},
        "vera": {kr, kx},
        "carol": set(),
        "root": {ka, kr, kx, kb},
    }
    for who, kernels in expected.items():
        u = mgw.user(who)
        listed = {k["id"] for k in u.get("/api/kernels").json()}
        # other tests may leave (their own) throwaway kernels; only the world's kernels are compared
        assert listed & {ka, kr, kx, kb} == kernels, who
        sessions = {s["kernel"]["id"] for s in u.get("/api/sessions").json()}
        assert sessions & {ka, kr} == ({ka, kr} if who == "alice" else set()), who
        status = u.get("/api/status").json()
        assert status["kernels"] >= 4  # status is a gateway-wide count for everyone who may read the api


ME_QUERY = {"kernels": ["read", "write", "execute"], "sessions": ["read", "write", "execute"],
            "kernelspecs": ["read", "write"], "api": ["read", "write"], "metrics": ["read"],
            "contents": ["read"], "kernels2": ["read"]}
ME_EXPECT = {
    "root": {"kernels": ["read", "write", "execute"], "sessions": ["read", "write", "execute"],
             "kernelspecs": ["read", "write"], "api": ["read", "write"], "metrics": ["read"]},
    "alice": {"kernels": ["read", "write", "execute"], "sessions": ["read", "write"], "kernelspecs": ["read"],
              "api": ["read"], "metrics": []},
    "vera": {"kernels": ["read"], "sessions": ["read"], "kernelspecs": ["read"], "api": ["read"], "metrics": []},
}


@pytest.mark.parametrize("who", list(ME_EXPECT))
def test_api_me_permissions_per_role(mgw, who):
    u = mgw.user(who)
    r = u.get("/api/me", params={"permissions": json.dumps(ME_QUERY)})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["identity"]["username"] == who and me["identity"]["name"] == who
    perms = me["permissions"]
    assert perms == {**ME_EXPECT[who], "contents": [], "kernels2": [], "updatable_fields": []}
    plain = u.get("/api/me").json()
    assert plain["permissions"] == {"updatable_fields": []}
    r = u.get("/api/me", params={"permissions": '{"kernels": "read"}'})
    assert_error_json(r, 400, "permissions")
    r = u.get("/api/me", params={"permissions": "{not json"})
    assert_error_json(r, 400, "permissions")
