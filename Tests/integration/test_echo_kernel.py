"""The echo-kernel on its own (no gateway): protocol shapes, test hooks, interrupts, stdin, signatures.

Each test starts the built `echo-kernel` (from $KG_BUILD_DIR, default <repo>/.build/debug) with a connection
file written by jupyter_client, and talks to it with jupyter_client's BlockingKernelClient, or with
KernelManager over the repo's kernelspecs for the interrupt modes.
"""
import json
import os
import pathlib
import queue
import signal
import subprocess
import time
import uuid

import pytest
import zmq
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpecManager

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("KG_BUILD_DIR", REPO / ".build" / "debug"))
BINARY = BUILD / "echo-kernel"


class EchoKernel:
    """An echo-kernel process plus a connected BlockingKernelClient. Stopped by PID at teardown."""

    def __init__(self, tmp_path, key=None, env=None):
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is missing: run `swift build --product echo-kernel` first")
        self.key = uuid.uuid4().hex.encode() if key is None else key
        self.connection_file, self.info = write_connection_file(
            str(tmp_path / f"kernel-{uuid.uuid4().hex}.json"), ip="127.0.0.1", key=self.key)
        self.stderr_path = tmp_path / "kernel-stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([str(BINARY), "-f", self.connection_file], stderr=self._stderr,
                                     env=full_env, start_new_session=True)
        self.client = BlockingKernelClient(connection_file=self.connection_file)
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=10)
        drain(self.client.iopub_channel)

    def stderr(self):
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self):
        self.client.stop_channels()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._stderr.close()


@pytest.fixture
def kernel(tmp_path):
    k = EchoKernel(tmp_path)
    yield k
    k.stop()


def drain(channel, wait=0.05):
    out = []
    while True:
        try:
            out.append(channel.get_msg(timeout=wait))
        except queue.Empty:
            return out


def iopub_for(client, msg_id, timeout=10):
    """iopub messages whose parent is `msg_id`, up to and including its `status: idle`."""
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    raise AssertionError(f"no idle for {msg_id} within {timeout}s; got {[m['msg_type'] for m in out]}")


def shell_reply(client, msg_id, timeout=10):
    deadline = time.time() + timeout
    while True:
        msg = client.get_shell_msg(timeout=max(0.01, deadline - time.time()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def control_reply(client, msg_id, timeout=10):
    deadline = time.time() + timeout
    while True:
        msg = client.get_control_msg(timeout=max(0.01, deadline - time.time()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def types(msgs):
    return [m["msg_type"] if m["msg_type"] != "status" else "status:" + m["content"]["execution_state"]
            for m in msgs]


def run(client, code, **kw):
    msg_id = client.execute(code, **kw)
    reply = shell_reply(client, msg_id)
    return reply, iopub_for(client, msg_id)


def send_control(client, msg_type, content=None):
    msg = client.session.msg(msg_type, content or {})
    client.control_channel.send(msg)
    return msg["header"]["msg_id"]


# --- basic protocol -------------------------------------------------------------------------------------


def test_kernel_info_reply_and_status_bracketing(kernel):
    c = kernel.client
    msg_id = c.kernel_info()
    reply = shell_reply(c, msg_id)
    content = reply["content"]
    assert reply["msg_type"] == "kernel_info_reply"
    assert reply["parent_header"]["msg_id"] == msg_id
    assert content["status"] == "ok"
    assert content["protocol_version"] == "5.3"
    assert content["implementation"] == "echo-kernel"
    assert content["language_info"]["name"] == "echo"
    assert content["language_info"]["mimetype"] == "text/plain"
    assert content["language_info"]["file_extension"] == ".txt"
    assert content["help_links"] == []
    assert content["banner"]
    assert reply["header"]["version"] == "5.3"
    assert reply["header"]["date"]  # parsed to a datetime by jupyter_client
    assert types(iopub_for(c, msg_id)) == ["status:busy", "status:idle"]


def test_execute_echoes_in_order_and_counts(kernel):
    c = kernel.client
    code = 'héllo "world"\n\tsecond line \\ end'
    reply, io = run(c, code)
    assert types(io) == ["status:busy", "execute_input", "stream", "execute_result", "status:idle"]
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["user_expressions"] == {}
    count = reply["content"]["execution_count"]
    assert io[1]["content"] == {"code": code, "execution_count": count}
    assert io[2]["content"] == {"name": "stdout", "text": code}
    assert io[3]["content"]["data"] == {"text/plain": code}
    assert io[3]["content"]["execution_count"] == count
    assert reply["metadata"]["status"] == "ok"
    reply2, _ = run(c, "again")
    assert reply2["content"]["execution_count"] == count + 1


def test_silent_and_store_history(kernel):
    c = kernel.client
    first, _ = run(c, "a")
    reply, io = run(c, "quiet", silent=True)
    assert reply["content"]["status"] == "ok"
    assert types(io) == ["status:busy", "status:idle"]
    unstored, io = run(c, "not stored", store_history=False)
    assert "stream" in types(io)
    assert unstored["content"]["execution_count"] == first["content"]["execution_count"]
    after, _ = run(c, "b")
    assert after["content"]["execution_count"] == first["content"]["execution_count"] + 1


def test_complete_inspect_is_complete_history_comm_info(kernel):
    c = kernel.client
    r = shell_reply(c, c.complete("%st", 3))
    assert r["msg_type"] == "complete_reply"
    assert r["content"]["status"] == "ok"
    assert r["content"]["matches"] == ["%stream"]
    assert (r["content"]["cursor_start"], r["content"]["cursor_end"]) == (0, 3)
    r = shell_reply(c, c.complete("plain", 2))
    assert r["content"]["matches"] == [] and r["content"]["cursor_end"] == 2

    r = shell_reply(c, c.inspect("thing", 2))
    assert r["msg_type"] == "inspect_reply"
    assert r["content"]["found"] is True and r["content"]["data"] == {"text/plain": "thing"}

    r = shell_reply(c, c.is_complete("x = ("))
    assert r["msg_type"] == "is_complete_reply" and r["content"]["status"] == "complete"

    r = shell_reply(c, c.history())
    assert r["msg_type"] == "history_reply" and r["content"] == {"status": "ok", "history": []}

    r = shell_reply(c, c.comm_info())
    assert r["msg_type"] == "comm_info_reply" and r["content"] == {"status": "ok", "comms": {}}


def test_comm_lifecycle_and_echo(kernel):
    c = kernel.client
    comm_id = uuid.uuid4().hex
    open_msg = c.session.msg("comm_open", {"comm_id": comm_id, "target_name": "echo.target", "data": {}})
    c.shell_channel.send(open_msg)
    assert types(iopub_for(c, open_msg["header"]["msg_id"])) == ["status:busy", "status:idle"]

    r = shell_reply(c, c.comm_info(target_name="echo.target"))
    assert r["content"]["comms"] == {comm_id: {"target_name": "echo.target"}}
    r = shell_reply(c, c.comm_info(target_name="other"))
    assert r["content"]["comms"] == {}

    data = {"n": [1, 2.5, None, True], "s": "é\n\"", "nested": {"k": {}}}
    msg = c.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    c.session.send(c.shell_channel.socket, msg, buffers=[b"\x00\x01binary", b"second"])
    io = iopub_for(c, msg["header"]["msg_id"])
    assert types(io) == ["status:busy", "comm_msg", "status:idle"]
    assert io[1]["content"] == {"comm_id": comm_id, "data": data}
    assert [bytes(b) for b in io[1]["buffers"]] == [b"\x00\x01binary", b"second"]

    close = c.session.msg("comm_close", {"comm_id": comm_id, "data": {}})
    c.shell_channel.send(close)
    iopub_for(c, close["header"]["msg_id"])
    r = shell_reply(c, c.comm_info())
    assert r["content"]["comms"] == {}
    # comm messages get no shell reply: only the comm_info replies arrived.
    assert drain(c.shell_channel, wait=0.2) == []


def test_heartbeat_echoes(kernel):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.REQ)
    s.linger = 0
    s.connect(f"tcp://127.0.0.1:{kernel.info['hb_port']}")
    s.send_multipart([b"ping", b"two"])
    assert s.poll(5000)
    assert s.recv_multipart() == [b"ping", b"two"]
    s.close()


def test_new_iopub_subscriber_gets_welcome(kernel):
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{kernel.info['iopub_port']}")
    assert sub.poll(5000)
    idents, msg = kernel.client.session.feed_identities(sub.recv_multipart())
    msg = kernel.client.session.deserialize(msg)
    assert msg["msg_type"] == "iopub_welcome"
    assert msg["content"] == {"subscription": ""}
    sub.close()


def test_debug_request_gets_unsuccessful_reply(kernel):
    c = kernel.client
    msg_id = send_control(c, "debug_request", {"type": "request", "seq": 7, "command": "initialize"})
    r = control_reply(c, msg_id)
    assert r["msg_type"] == "debug_reply"
    assert r["content"]["success"] is False
    assert r["content"]["request_seq"] == 7 and r["content"]["command"] == "initialize"


def test_unknown_type_is_ignored_but_bracketed(kernel):
    c = kernel.client
    msg = c.session.msg("no_such_request", {})
    c.shell_channel.send(msg)
    assert types(iopub_for(c, msg["header"]["msg_id"])) == ["status:busy", "status:idle"]
    assert drain(c.shell_channel, wait=0.2) == []
    assert "no_such_request" in kernel.stderr()


# --- hooks ------------------------------------------------------------------------------------------------


def test_error_hook(kernel):
    c = kernel.client
    reply, io = run(c, "%error it broke")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "EchoError"
    assert reply["content"]["evalue"] == "it broke"
    assert isinstance(reply["content"]["traceback"], list) and reply["content"]["traceback"]
    assert types(io) == ["status:busy", "execute_input", "error", "status:idle"]
    assert io[2]["content"]["ename"] == "EchoError" and io[2]["content"]["evalue"] == "it broke"
    # The error does not poison later requests.
    ok, _ = run(c, "fine")
    assert ok["content"]["status"] == "ok"


def test_error_aborts_already_queued_executes(kernel):
    c = kernel.client
    first = c.execute("%sleep 0.3\n%error stop")
    second = c.execute("queued behind the error")
    assert shell_reply(c, first)["content"]["status"] == "error"
    r = shell_reply(c, second)
    assert r["content"]["status"] == "aborted"
    assert r["metadata"]["status"] == "aborted"
    iopub_for(c, second)
    assert run(c, "later")[0]["content"]["status"] == "ok"


def test_input_hook_round_trip(kernel):
    c = kernel.client
    msg_id = c.execute("%input Name: ", allow_stdin=True)
    req = c.get_stdin_msg(timeout=5)
    assert req["msg_type"] == "input_request"
    assert req["content"] == {"prompt": "Name: ", "password": False}
    assert req["parent_header"]["msg_id"] == msg_id
    # Control is served while the kernel waits for input.
    info_id = send_control(c, "kernel_info_request")
    assert control_reply(c, info_id)["content"]["status"] == "ok"
    c.input("bob")
    reply = shell_reply(c, msg_id)
    assert reply["content"]["status"] == "ok"
    io = iopub_for(c, msg_id)
    assert types(io) == ["status:busy", "execute_input", "stream", "execute_result", "status:idle"]
    assert io[2]["content"]["text"] == "Name: bob"
    assert io[3]["content"]["data"] == {"text/plain": "bob"}


def test_input_hook_without_stdin_fails_like_ipykernel(kernel):
    reply, io = run(kernel.client, "%input x", allow_stdin=False)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "StdinNotImplementedError"
    assert "error" in types(io)


def test_sleep_interrupted_by_sigint(kernel):
    c = kernel.client
    msg_id = c.execute("%sleep 30")
    time.sleep(0.3)
    started = time.time()
    kernel.proc.send_signal(signal.SIGINT)
    reply = shell_reply(c, msg_id, timeout=5)
    assert time.time() - started < 2
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert "error" in types(iopub_for(c, msg_id))
    assert kernel.proc.poll() is None
    # An interrupt while idle is ignored, and the next execution runs normally.
    kernel.proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    assert run(c, "%sleep 0.2")[0]["content"]["status"] == "ok"


def test_sleep_interrupted_by_interrupt_request(kernel):
    c = kernel.client
    msg_id = c.execute("%sleep 30")
    time.sleep(0.3)
    intr = send_control(c, "interrupt_request")
    r = control_reply(c, intr, timeout=5)
    assert r["msg_type"] == "interrupt_reply" and r["content"]["status"] == "ok"
    reply = shell_reply(c, msg_id, timeout=5)
    assert reply["content"]["ename"] == "KeyboardInterrupt"


def test_sleep_completes_and_heartbeat_stays_alive(kernel):
    c = kernel.client
    started = time.time()
    msg_id = c.execute("%sleep 0.5")
    time.sleep(0.1)
    assert c.is_alive()
    assert shell_reply(c, msg_id)["content"]["status"] == "ok"
    assert time.time() - started >= 0.5


def test_stream_hook_loses_nothing(kernel):
    c = kernel.client
    n, size = 5000, 100
    msg_id = c.execute(f"%stream {n} {size}")
    io = iopub_for(c, msg_id, timeout=30)
    streams = [m["content"]["text"] for m in io if m["msg_type"] == "stream"]
    assert len(streams) == n
    assert [int(t.split(":", 1)[0]) for t in streams] == list(range(n))
    assert all(len(t) == size for t in streams)
    assert shell_reply(c, msg_id)["content"]["status"] == "ok"


def test_subscriber_that_never_reads_does_not_stall_others(kernel):
    ctx = zmq.Context.instance()
    idle_sub = ctx.socket(zmq.SUB)
    idle_sub.linger = 0
    idle_sub.rcvhwm = 10
    idle_sub.setsockopt(zmq.SUBSCRIBE, b"")
    idle_sub.connect(f"tcp://127.0.0.1:{kernel.info['iopub_port']}")
    try:
        time.sleep(0.2)
        c = kernel.client
        msg_id = c.execute("%stream 20000 200")
        io = iopub_for(c, msg_id, timeout=30)
        assert sum(1 for m in io if m["msg_type"] == "stream") == 20000
    finally:
        idle_sub.close()


def test_received_lists_channel_type_and_username(kernel):
    c = kernel.client
    c.session.username = "alice"
    shell_reply(c, c.kernel_info())
    control_reply(c, send_control(c, "kernel_info_request"))
    c.session.username = "bob"
    reply, io = run(c, "%received")
    result = next(m for m in io if m["msg_type"] == "execute_result")["content"]["data"]
    entries = result["application/json"]
    assert json.loads(result["text/plain"]) == entries
    assert entries[-3:] == [["shell", "kernel_info_request", "alice"],
                            ["control", "kernel_info_request", "alice"],
                            ["shell", "execute_request", "bob"]]


def test_bad_signature_is_dropped_and_not_recorded(kernel):
    c = kernel.client
    msg = c.session.msg("kernel_info_request", {})
    msg["header"]["username"] = "mallory"
    frames = c.session.serialize(msg)  # [delimiter, signature, header, parent, metadata, content]
    frames[1] = b"0" * 64
    c.shell_channel.socket.send_multipart(frames)
    assert drain(c.shell_channel, wait=0.5) == []
    reply, io = run(c, "%received")
    entries = next(m for m in io if m["msg_type"] == "execute_result")["content"]["data"]["application/json"]
    assert not any(e[2] == "mallory" for e in entries)
    assert "bad signature" in kernel.stderr()


def test_env_and_display_hooks(tmp_path):
    k = EchoKernel(tmp_path, env={"ECHO_TEST_VALUE": "forty two"})
    try:
        c = k.client
        _, io = run(c, "%env ECHO_TEST_VALUE")
        assert next(m for m in io if m["msg_type"] == "execute_result")["content"]["data"] == {"text/plain": "forty two"}
        _, io = run(c, "%env ECHO_TEST_UNSET_VARIABLE")
        assert next(m for m in io if m["msg_type"] == "execute_result")["content"]["data"] == {"text/plain": ""}
        _, io = run(c, "%display shown")
        assert types(io) == ["status:busy", "execute_input", "display_data", "status:idle"]
        assert io[2]["content"]["data"] == {"text/plain": "shown"}
    finally:
        k.stop()


def test_mixed_cell_runs_lines_in_order(kernel):
    _, io = run(kernel.client, "first\n%display d\nlast")
    assert types(io) == ["status:busy", "execute_input", "stream", "display_data", "stream",
                         "execute_result", "status:idle"]
    assert io[-2]["content"]["data"] == {"text/plain": "first\nlast"}


def test_bad_hook_arguments_fail(kernel):
    reply, _ = run(kernel.client, "%sleep soon")
    assert reply["content"]["status"] == "error" and "usage" in reply["content"]["evalue"]


def test_exit_hook_exits_without_reply(kernel):
    c = kernel.client
    c.execute("%exit 3")
    assert kernel.proc.wait(timeout=5) == 3
    assert drain(c.shell_channel, wait=0.2) == []


def test_shutdown_request_replies_broadcasts_and_exits_zero(kernel):
    c = kernel.client
    msg_id = c.shutdown(restart=True)
    reply = control_reply(c, msg_id)
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"] == {"status": "ok", "restart": True}
    io = iopub_for(c, msg_id)
    assert "shutdown_reply" in types(io)
    assert kernel.proc.wait(timeout=5) == 0


def test_unsigned_session_works(tmp_path):
    k = EchoKernel(tmp_path, key=b"")
    try:
        reply, io = run(k.client, "no key")
        assert reply["content"]["status"] == "ok"
        assert reply["header"] and io[-1]["content"]["execution_state"] == "idle"
    finally:
        k.stop()


# --- kernelspecs with jupyter_client's KernelManager ------------------------------------------------------


@pytest.mark.parametrize("spec,mode", [("echo", "signal"), ("echo-message", "message")])
def test_kernelspec_interrupt_modes(tmp_path, spec, mode):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing")
    ksm = KernelSpecManager(kernel_dirs=[str(REPO / "kernelspecs")])
    assert ksm.get_kernel_spec(spec).interrupt_mode == mode
    km = KernelManager(kernel_name=spec, kernel_spec_manager=ksm)
    km.connection_file = str(tmp_path / "kernel.json")
    env = dict(os.environ, PATH=f"{BUILD}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    km.start_kernel(env=env)
    c = km.client()
    c.start_channels()
    try:
        c.wait_for_ready(timeout=10)
        msg_id = c.execute("%sleep 30")
        time.sleep(0.3)
        km.interrupt_kernel()
        reply = shell_reply(c, msg_id, timeout=5)
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert km.is_alive()
    finally:
        c.stop_channels()
        km.shutdown_kernel(now=False)
    assert not km.is_alive()
