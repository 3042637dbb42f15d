#!/usr/bin/env python3
"""Generates fixtures.json for JupyterProtocolTests from the reference Python implementations.

Run with the project's virtualenv (jupyter_client 8.x, jupyter_server 2.x):
    /work/main/.venv/bin/python Tests/JupyterProtocolTests/Fixtures/generate.py

Everything is deterministic: fixed keys, ids, dates and contents. Byte strings are base64 ("b64").
Sections:
  signing        Session.serialize frame lists (identities, delimiter, signature, parts, buffers) per key
  legacy_out     jupyter_server's _reserialize_reply (legacy WS text/binary) for kernel frame lists
  v1_out         jupyter_server's serialize_msg_to_ws_v1 for the same frame lists
  legacy_in      client legacy frames (text and binary) with what Python reads from them
  strings        raw JSON string tokens with Python's decoded value, or null when json.loads rejects it
  dates          (seconds, microseconds) -> the ISO-8601 text jupyter_client writes
"""
import base64
import json
import os
from datetime import datetime, timezone
from types import SimpleNamespace

from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

HERE = os.path.dirname(os.path.abspath(__file__))


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(bytes(data)).decode("ascii")


def header(msg_id, msg_type, session="sess-0001", username="kernel", date="2026-11-24T02:13:45.123456Z"):
    return {
        "msg_id": msg_id,
        "msg_type": msg_type,
        "username": username,
        "session": session,
        "date": datetime.strptime(date, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc),
        "version": "5.3",
    }


REQUEST = header("req-1", "execute_request", username="alice")

# Kernel -> client messages (what arrives on ZeroMQ).
KERNEL_MESSAGES = [
    ("iopub", {"header": header("m-status", "status"), "parent_header": REQUEST, "metadata": {},
               "content": {"execution_state": "busy"}}, []),
    ("shell", {"header": header("m-reply", "execute_reply"), "parent_header": REQUEST,
               "metadata": {"started": "2026-11-24T02:13:45.000001Z", "dependencies_met": True},
               "content": {"status": "ok", "execution_count": 7, "user_expressions": {}, "payload": []}}, []),
    ("iopub", {"header": header("m-stream", "stream"), "parent_header": REQUEST, "metadata": {},
               "content": {"name": "stdout", "text": "line \"one\"\n\ttab \\ backslash\n"}}, []),
    ("iopub", {"header": header("m-display", "display_data"), "parent_header": REQUEST, "metadata": {},
               "content": {"data": {"text/plain": "[1, 2.5, -3e+20, null, true]"}, "metadata": {}, "transient": {}}}, []),
    ("stdin", {"header": header("m-input", "input_request"), "parent_header": REQUEST, "metadata": {},
               "content": {"prompt": "Name: ", "password": False}}, []),
    ("control", {"header": header("m-shut", "shutdown_reply"), "parent_header": {}, "metadata": {},
                 "content": {"status": "ok", "restart": False}}, []),
    ("iopub", {"header": header("m-comm", "comm_msg"), "parent_header": REQUEST, "metadata": {},
               "content": {"comm_id": "c1", "data": {"method": "update", "buffer_paths": [["value"]]}}},
     [b"\x00\x01\x02\xff", b"", b"second buffer"]),
    ("iopub", {"header": header("m-one-buf", "comm_msg"), "parent_header": REQUEST, "metadata": {},
               "content": {"comm_id": "c2", "data": {}}}, [b"x" * 300]),
]

# Messages whose contents are not ASCII: jupyter_server's text output escapes them (ensure_ascii=True)
# while the ZeroMQ bytes carry raw UTF-8, so only semantic equality is expected for these.
UNICODE_MESSAGES = [
    ("iopub", {"header": header("m-uni", "stream"), "parent_header": REQUEST, "metadata": {},
               "content": {"name": "stdout", "text": "héllo wörld ✓ 😀 \u2028 日本"}}, []),
]

KEYS = ["", "6a1d4a43-9b2c-4bd4-8a0e-5c1f2d3e4f50", "k", "ünïcode-kéy-" + "x" * 100]


def session(key):
    return Session(key=key.encode("utf-8"), session="sess-0001", username="kernel", packer="json",
                   signature_scheme="hmac-sha256")


def frames_for(sess, msg, buffers, idents):
    frames = sess.serialize(dict(msg), ident=idents)
    return frames + list(buffers)


def main():
    out = {"signing": [], "legacy_out": [], "v1_out": [], "legacy_in": [], "strings": [], "dates": []}

    for key in KEYS:
        sess = session(key)
        for channel, msg, buffers in KERNEL_MESSAGES + UNICODE_MESSAGES:
            idents = [b"\x00k\x01ident", b"second-identity"] if channel != "iopub" else [b"kernel.abc.status"]
            frames = frames_for(sess, msg, buffers, idents)
            out["signing"].append({
                "key": b64(key),
                "identities": len(idents),
                "frames": [b64(f) for f in frames],
                "signature": frames[len(idents) + 1].decode("ascii"),
            })

    sess = session(KEYS[1])
    fake = SimpleNamespace(session=sess)
    for channel, msg, buffers in KERNEL_MESSAGES + UNICODE_MESSAGES:
        frames = frames_for(sess, msg, buffers, [b"ident"])
        after_delim = frames[2:]  # signature, 4 parts, buffers
        legacy = ZMQChannelsWebsocketConnection._reserialize_reply(fake, list(frames), channel=channel)
        is_binary = isinstance(legacy, bytes)
        out["legacy_out"].append({
            "channel": channel,
            "frames": [b64(f) for f in after_delim],
            "kind": "binary" if is_binary else "text",
            "expected": b64(legacy if is_binary else legacy.encode("utf-8")),
            "byte_exact": all(ord(c) < 128 for c in json.dumps(msg["content"], ensure_ascii=False)),
        })
        v1 = serialize_msg_to_ws_v1(after_delim[1:], channel)
        back_channel, back_parts = deserialize_msg_from_ws_v1(v1)
        assert back_channel == channel and back_parts == after_delim[1:]
        out["v1_out"].append({
            "channel": channel,
            "parts": [b64(f) for f in after_delim[1:]],
            "expected": b64(v1),
        })

    # Client -> gateway legacy frames: different serializers and liberal variants.
    client_msg = {
        "header": {"msg_id": "cli-1", "msg_type": "execute_request", "username": "mallory",
                   "session": "s-9", "date": "2026-11-24T02:13:45.123Z", "version": "5.3"},
        "parent_header": {}, "metadata": {"deletedCells": [], "recordTiming": False, "cellId": "a-b"},
        "content": {"code": "print('hi')\nx = {\"a\": [1, 2.5e-3, -0.0]}", "silent": False,
                    "store_history": True, "user_expressions": {}, "allow_stdin": True, "stop_on_error": True},
        "buffers": [], "channel": "shell",
    }
    texts = [
        ("jupyterlab-compact", json.dumps(client_msg, separators=(",", ":"))),
        ("python-spaces", json.dumps(client_msg)),
        ("indented", json.dumps(client_msg, indent=2)),
        ("ascii-escaped-unicode", json.dumps(dict(client_msg, content=dict(client_msg["content"], code="s = 'é ✓ 😀'")))),
        ("raw-unicode", json.dumps(dict(client_msg, content=dict(client_msg["content"], code="s = 'é ✓ 😀'")), ensure_ascii=False)),
        ("no-channel", json.dumps({k: v for k, v in client_msg.items() if k != "channel"})),
        ("buffers-dict", json.dumps(dict(client_msg, buffers={}))),
        ("extra-keys", json.dumps(dict(client_msg, msg_id="cli-1", msg_type="execute_request", extra={"x": [1, {"y": None}]}))),
        ("control", json.dumps(dict(client_msg, channel="control",
                                    header=dict(client_msg["header"], msg_type="interrupt_request"), content={}))),
        ("stdin-reply", json.dumps(dict(client_msg, channel="stdin",
                                        header=dict(client_msg["header"], msg_type="input_reply"), content={"value": "x"}))),
        ("escaped-header-values", '{"header": {"msg_id": "id\\u002d1", "msg_type": "execute\\u005frequest", '
                                  '"username": "\\u00e9ve", "session": "s\\/1"}, "parent_header": {}, '
                                  '"metadata": {}, "content": {}, "channel": "sh\\u0065ll"}'),
        ("null-parent", '{"header":{"msg_id":"a","msg_type":"kernel_info_request"},"parent_header":null,'
                        '"metadata":null,"content":{},"channel":"shell"}'),
        ("missing-parent-metadata", '{"content":{},"header":{"msg_type":"kernel_info_request","msg_id":"b"}}'),
    ]
    for name, text in texts:
        parsed = json.loads(text)
        out["legacy_in"].append(expected_in(name, "text", text.encode("utf-8"), parsed))
    bin_msg = dict(client_msg, channel="iopub")
    bin_msg = dict(bin_msg, channel="shell", content={"comm_id": "c1", "data": {"buffer_paths": [["a"], ["b"]]}},
                   header=dict(client_msg["header"], msg_type="comm_msg"),
                   buffers=[b"\x01\x02\x03", b"", b"\xff" * 40])
    blob = serialize_binary_message(bin_msg)
    check = deserialize_binary_message(blob)
    assert [bytes(b) for b in check["buffers"]] == bin_msg["buffers"]
    first = int.from_bytes(blob[8:12], "big") if int.from_bytes(blob[:4], "big") > 1 else len(blob)
    out["legacy_in"].append(expected_in("binary-with-buffers", "binary", blob,
                                        json.loads(blob[int.from_bytes(blob[4:8], "big"):first]),
                                        buffers=bin_msg["buffers"]))

    for raw in ['"plain"', '""', '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"', '"\\u0041\\u00e9\\u2713"', '"\\ud83d\\ude00"',
                '"\\uD83D\\uDE00 upper"', '"é ✓ 😀 raw"', '"\\u0000 nul"', '"tab\there"', '"bad \\x escape"',
                '"unterminated', '"\\u12"', '"\\u12G4"', '"ctrl \x01 char"', '"\\\\u0041"', '"\x7f del"']:
        try:
            value = json.loads(raw)
            decoded = b64(value.encode("utf-8"))
        except (ValueError, UnicodeEncodeError):
            decoded = None
        out["strings"].append({"raw": b64(raw), "decoded": decoded})

    for seconds, micros in [(0, 0), (1_795_400_025, 123_456), (951_782_400, 999_999), (1_709_164_800, 1),
                            (4_102_444_799, 500_000), (-86_400, 250), (253_402_300_799, 999_999), (1_234_567_890, 10)]:
        dt = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=micros)
        out["dates"].append({"seconds": seconds, "microseconds": micros,
                             "text": dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                             "jupyter": json.loads(json.dumps({"d": dt}, default=__import__("jupyter_client.jsonutil").jsonutil.json_default))["d"]})

    with open(os.path.join(HERE, "fixtures.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


def canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def expected_in(name, kind, frame, parsed, buffers=()):
    hdr = parsed["header"]
    return {
        "name": name,
        "kind": kind,
        "frame": b64(frame),
        "channel": parsed.get("channel") or "shell",
        "header": canonical(hdr),
        "parent_header": canonical(parsed.get("parent_header") or {}),
        "metadata": canonical(parsed.get("metadata") or {}),
        "content": canonical(parsed["content"]),
        "msg_id": hdr.get("msg_id"),
        "msg_type": hdr.get("msg_type"),
        "username": hdr.get("username"),
        "session": hdr.get("session"),
        "buffers": [b64(b) for b in buffers],
    }


if __name__ == "__main__":
    main()
