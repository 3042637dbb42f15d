"""Generates websocket_fixtures.json from reference implementations (run with the project venv:
/work/main/.venv/bin/python generate_websocket_fixtures.py).

- client frames: websocket-client's ABNF encoder (masked, fixed mask key so output is stable)
- accept values: hashlib SHA-1 + base64 per RFC 6455 section 4.2.2
"""
import base64
import hashlib
import json
import os

from websocket import ABNF

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MASK = b"\x5a\xa5\x0f\xf0"


def client_frame(opcode, payload, fin=1):
    frame = ABNF(fin=fin, opcode=opcode, mask_value=1, data=payload)
    frame.get_mask_key = lambda n: MASK
    return frame.format()


def main():
    frames = []
    for length in (0, 1, 125, 126, 127, 1000):
        text = bytes((0x61 + i % 26) for i in range(length))
        frames.append({"opcode": 1, "fin": True, "payload": text.hex(), "frame": client_frame(1, text).hex()})
        binary = bytes((i * 7 + 3) & 0xFF for i in range(length))
        frames.append({"opcode": 2, "fin": True, "payload": binary.hex(), "frame": client_frame(2, binary).hex()})
    unicode_text = "Jupyter ✓ κόσμε 𝄞".encode("utf-8")
    frames.append({"opcode": 1, "fin": True, "payload": unicode_text.hex(), "frame": client_frame(1, unicode_text).hex()})
    keys = [base64.b64encode(bytes(range(i, i + 16))).decode() for i in (0, 16, 200)]
    keys.append("dGhlIHNhbXBsZSBub25jZQ==")
    accepts = [
        {"key": key, "accept": base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()}
        for key in keys
    ]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "websocket_fixtures.json")
    with open(out, "w") as handle:
        json.dump({"frames": frames, "accepts": accepts}, handle, indent=1)
        handle.write("\n")


if __name__ == "__main__":
    main()
