"""Per-role kernel limits and allowed kernelspecs from a policy file (docs/authorization.md), on REST kernel
and session starts; also a custom channel rule."""
import pytest

from conftest import MultiUserGateway

POLICY = {
    "version": 1,
    "roles": {
        "user": {"kernelspecs": ["echo"], "max_kernels": 2},
        "restricted": {"inherits": "user", "kernelspecs": ["echo-*"], "max_kernels": 1},
    },
    "channel_rules": {"control/shutdown_request": "owner"},
}
USERS = {"alice": "user", "bob": "user", "carol": "restricted", "root": "admin", "vera": "viewer"}


@pytest.fixture(scope="module")
def mgw(tmp_path_factory):
    gw = MultiUserGateway(tmp_path_factory.mktemp("authz-policy"), USERS, policy=POLICY)
    yield gw
    gw.stop()


def start(user, name="echo"):
    return user.post("/api/kernels", {"name": name})


def assert_403(r, *needles):
    assert r.status_code == 403, (r.status_code, r.text)
    body = r.json()
    assert body["reason"] == "Forbidden"
    for n in needles:
        assert n in body["message"], (n, body)


def test_max_kernels_per_user(mgw):
    alice, bob = mgw.user("alice"), mgw.user("bob")
    first, second = start(alice), start(alice)
    assert first.status_code == 201 and second.status_code == 201
    assert_403(start(alice), "alice may not write", "kernel limit reached: you own 2 of at most 2")
    assert_403(alice.post("/api/sessions", {"path": "over.ipynb", "kernel": {"name": "echo"}}),
               "kernel limit reached")
    assert len([k for k in alice.get("/api/kernels").json()]) == 2  # nothing was started
    # the limit is per user: bob is unaffected, and a kernel shared with bob does not count as his
    alice.share(first.json()["id"], "bob", "execute")
    b1, b2 = start(bob), start(bob)
    assert b1.status_code == 201 and b2.status_code == 201
    assert_403(start(bob), "you own 2 of at most 2")
    # freeing one makes room again
    assert alice.delete(f"/api/kernels/{second.json()['id']}").status_code == 204
    third = alice.post("/api/sessions", {"path": "room.ipynb", "kernel": {"name": "echo"}})
    assert third.status_code == 201, third.text
    assert_403(start(alice), "kernel limit reached")
    # admins have no limit
    root = mgw.user("root")
    mine = [start(root) for _ in range(3)]
    assert all(r.status_code == 201 for r in mine)
    for r in mine:
        root.delete(f"/api/kernels/{r.json()['id']}")
    for r in (first, b1, b2):
        root.delete(f"/api/kernels/{r.json()['id']}")
    alice.delete(f"/api/sessions/{third.json()['id']}")


def test_allowed_kernelspecs(mgw):
    alice, carol, root, vera = (mgw.user(n) for n in ("alice", "carol", "root", "vera"))
    assert_403(start(alice, "echo-message"), "alice may not write kernelspec echo-message",
               "starting kernels from kernelspec 'echo-message' is not allowed")
    assert_403(start(alice, "python3"), "'python3' is not allowed")
    # an unknown kernelspec the role may not use is refused the same way (nothing about what exists leaks)
    assert_403(start(alice, "no-such-spec"), "'no-such-spec' is not allowed")
    assert_403(alice.post("/api/sessions", {"path": "py.ipynb", "kernel": {"name": "python3"}}), "not allowed")
    # carol's role inherits user's permissions but replaces kernelspecs and the limit
    assert_403(start(carol, "echo"), "'echo' is not allowed")
    k = start(carol, "echo-message")
    assert k.status_code == 201, k.text
    assert_403(start(carol, "echo-message"), "you own 1 of at most 1")
    carol.delete(f"/api/kernels/{k.json()['id']}")
    # a session moved to a disallowed kernelspec is refused and keeps its kernel
    s = alice.post("/api/sessions", {"path": "move.ipynb", "kernel": {"name": "echo"}})
    assert s.status_code == 201
    sid, kid = s.json()["id"], s.json()["kernel"]["id"]
    assert_403(alice.patch(f"/api/sessions/{sid}", {"kernel": {"name": "python3"}}), "not allowed")
    assert alice.get(f"/api/sessions/{sid}").json()["kernel"]["id"] == kid
    alice.delete(f"/api/sessions/{sid}")
    # admin: every kernelspec; viewer: none
    r = start(root, "echo-message")
    assert r.status_code == 201
    root.delete(f"/api/kernels/{r.json()['id']}")
    assert_403(start(vera, "echo"), "vera may not write")


def test_policy_channel_rule_makes_shutdown_owner_only(mgw):
    alice, bob = mgw.user("alice"), mgw.user("bob")
    kid = alice.start_kernel()
    alice.share(kid, "bob", "execute")
    c = bob.channel(kid)
    try:
        sent = c.request("shutdown_request", {"restart": False}, channel="control")
        err = c.reply_to(sent, "shutdown_reply")
        assert err["channel"] == "control"
        assert err["content"]["ename"] == "PermissionDenied" and "needs owner" in err["content"]["evalue"]
        ok = c.execute("bob may still execute")
        assert c.reply_to(ok, "execute_reply")["content"]["status"] == "ok"
    finally:
        c.close()
    assert alice.get(f"/api/kernels/{kid}").json()["execution_state"] in ("idle", "busy")
    alice.delete(f"/api/kernels/{kid}")


def test_concurrent_starts_cannot_exceed_the_limit(mgw):
    """The limit holds when one user fires many start requests at once (no check-then-start race)."""
    from concurrent.futures import ThreadPoolExecutor
    bob = mgw.user("bob")
    for k in bob.get("/api/kernels").json():
        bob.delete(f"/api/kernels/{k['id']}")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: start(bob), range(8)))
    codes = sorted(r.status_code for r in results)
    owned = [k["id"] for k in bob.get("/api/kernels").json()]
    for kid in owned:
        bob.delete(f"/api/kernels/{kid}")
    assert codes.count(201) == 2 and codes.count(403) == 6, codes
    assert len(owned) == 2
