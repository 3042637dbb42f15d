"""`kernel-gateway users`: add prints only a fresh token, the file holds only hashes (mode 0600), update, remove,
list, and clear errors with a non-zero exit for bad invocations."""
import hashlib
import json
import os
import re
import stat

import pytest

from conftest import users_cli

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def read_users(path):
    return {u["username"]: u for u in json.loads(path.read_text())["users"]}


def test_add_prints_only_a_token_and_stores_only_its_hash(tmp_path):
    f = tmp_path / "users.json"
    r = users_cli("add", "alice", "--role", "user", "--file", f)
    assert r.returncode == 0, r.stderr
    assert HEX64.match(r.stdout.strip()), repr(r.stdout)
    assert r.stdout == r.stdout.strip() + "\n"  # nothing but the token on stdout
    token = r.stdout.strip()
    assert token not in r.stderr
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    text = f.read_text()
    assert token not in text
    doc = json.loads(text)
    assert doc["version"] == 1
    (alice,) = doc["users"]
    assert alice["username"] == "alice" and alice["roles"] == ["user"]
    assert alice["token_hash"] == "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    # a second user: tokens differ, both hashes kept, still 0600, no leftover temporary files
    r2 = users_cli("add", "vera", "--role", "viewer", "--file", f)
    assert r2.returncode == 0 and HEX64.match(r2.stdout.strip()) and r2.stdout.strip() != token
    users = read_users(f)
    assert set(users) == {"alice", "vera"} and users["vera"]["roles"] == ["viewer"]
    assert token not in f.read_text() and r2.stdout.strip() not in f.read_text()
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.json"]


def test_existing_file_with_loose_mode_is_rewritten_0600(tmp_path):
    f = tmp_path / "users.json"
    f.write_text('{"version": 1, "users": []}')
    os.chmod(f, 0o644)
    assert users_cli("add", "bob", "--role", "user", "--file", f).returncode == 0
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600


def test_update_role_remove_and_list(tmp_path):
    f = tmp_path / "users.json"
    t1 = users_cli("add", "bob", "--role", "user", "--file", f).stdout.strip()
    users_cli("add", "root", "--role", "admin", "--role", "user", "--file", f)
    r = users_cli("list", "--file", f)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines == ["bob\tuser", "root\tadmin,user"]
    assert not re.search(r"[0-9a-f]{64}", r.stdout)  # list never shows hashes or tokens
    # updating re-issues the token: the old hash is gone
    r = users_cli("add", "bob", "--role", "viewer", "--file", f)
    assert r.returncode == 0
    t2 = r.stdout.strip()
    assert HEX64.match(t2) and t2 != t1
    bob = read_users(f)["bob"]
    assert bob["roles"] == ["viewer"]
    assert bob["token_hash"] == "sha256:" + hashlib.sha256(t2.encode()).hexdigest()
    assert users_cli("list", "--file", f).stdout.splitlines()[0] == "bob\tviewer"
    # remove
    r = users_cli("remove", "bob", "--file", f)
    assert r.returncode == 0 and r.stdout == ""
    assert set(read_users(f)) == {"root"}
    assert users_cli("list", "--file", f).stdout.splitlines() == ["root\tadmin,user"]


@pytest.mark.parametrize("args, message", [
    ([], "missing verb"),
    (["frob", "--file", "{f}"], "unknown verb frob"),
    (["add", "--role", "user", "--file", "{f}"], "add needs a user name"),
    (["add", "carol", "--role", "user"], "--file is required"),
    (["add", "carol", "--role"], "--role needs a value"),
    (["add", "carol", "--file"], "--file needs a value"),
    (["add", "carol", "--frobnicate", "--file", "{f}"], "unknown option --frobnicate"),
    (["add", "bad name!", "--role", "user", "--file", "{f}"], "invalid username"),
    (["add", "carol", "dave", "--file", "{f}"], "unexpected argument dave"),
    (["remove", "nobody", "--file", "{f}"], "no user nobody"),
    (["remove", "--file", "{f}"], "remove needs a user name"),
    (["list", "--file", "{missing}"], "cannot read users file"),
    (["remove", "alice", "--file", "{missing}"], "cannot read users file"),
    (["list", "--file", "{broken}"], "users file"),
    (["add", "carol", "--file", "{broken}"], "users file"),
])
def test_bad_invocations_fail_clearly(tmp_path, args, message):
    f = tmp_path / "users.json"
    assert users_cli("add", "alice", "--file", f).returncode == 0
    before = f.read_bytes()
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "users": [{"username": "x", "roles": "user"}]}')
    broken_before = broken.read_bytes()
    subst = {"{f}": str(f), "{missing}": str(tmp_path / "missing.json"), "{broken}": str(broken)}
    r = users_cli(*[subst.get(a, a) for a in args])
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "usage:" in r.stderr
    assert r.stdout == ""  # nothing that looks like a token
    # a failed command changes nothing
    assert f.read_bytes() == before and broken.read_bytes() == broken_before
    assert not (tmp_path / "missing.json").exists()


def test_broken_file_error_names_the_field(tmp_path):
    broken = tmp_path / "users.json"
    broken.write_text('{"version": 1, "users": [{"username": "x", "roles": "user"}]}')
    r = users_cli("list", "--file", broken)
    assert r.returncode != 0 and "users[0].roles" in r.stderr, r.stderr
