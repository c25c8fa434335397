"""Faults of issue 10 that live in `va client` and the command line, each against the real client
(`python -m va client --input ...`) and a real server, or a small fake server where the fault is the
client's reading of a reply.

Every test here failed on the main branch of 2026-11-29 (before the fixes) and names the fault's
number in the issue.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trustme
from websockets.asyncio.server import serve

from procs import (ROOT, environment, ran, refused_port, silence_wav, start_client, start_server,
                   stop_all, wait_until, write_config)

pytestmark = pytest.mark.slow

SIGTERM_BOUND = 60.0
"""Seconds a daemon may take to honour SIGTERM: a bound on failure (systemd kills after 90 s)."""


@pytest.fixture(autouse=True)
def _no_process_left_behind():
    yield
    stop_all()


def _names(tmp_path):
    return [entry["name"] for entry in ran(tmp_path)]


# -- 1: wss:// with a private CA, and with the system trust store --------------------------------


@pytest.fixture
def tls_server(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for index, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(paths["cert"]), append=index > 0)
    tls = {"server": {"tls": {"cert": str(paths["cert"]), "key": str(paths["key"])}}}
    config = write_config(tmp_path / "server.yaml", 0, tls, scheme="wss")
    context = ssl.create_default_context(cafile=str(paths["ca"]))
    return start_server(tmp_path, config, context=context).port, tls, paths["ca"]


def test_1_the_client_talks_wss_with_a_private_ca(tmp_path, tls_server):
    port, tls, ca = tls_server
    config = write_config(tmp_path / "client.yaml", port, {**tls, "client": {"tls": {"ca": str(ca)}}}, scheme="wss")
    client = start_client(tmp_path, config, ["timer-joe.wav"])
    assert client.wait() == 0, client.text()
    assert [(entry["name"], entry["args"]) for entry in ran(tmp_path)] == [("set_timer", {"minutes": 25})]


def test_1_the_client_trusts_the_system_store_by_default_and_fails_over(tmp_path, tls_server):
    port, tls, ca = tls_server
    with refused_port() as nobody:
        dead = f"wss://127.0.0.1:{nobody}"
        config = write_config(tmp_path / "client.yaml", port, {**tls, "server_url": [dead, f"wss://127.0.0.1:{port}"]})
        client = start_client(tmp_path, config, ["timer-joe.wav"], SSL_CERT_FILE=str(ca))  # OpenSSL's default store
        assert client.wait() == 0, client.text()
    assert _names(tmp_path) == ["set_timer"], client.text()


def test_1_an_untrusted_certificate_is_refused_with_a_clear_reason(tmp_path, tls_server):
    port, tls, _ = tls_server
    config = write_config(tmp_path / "client.yaml", port, tls, scheme="wss")
    client = start_client(tmp_path, config, ["timer-joe.wav"])
    wait_until(lambda: "certificate" in client.text().lower(), "the refusal", client)
    client.stop()
    assert _names(tmp_path) == []
    assert "incompatible" not in client.text()


# -- 3: SIGTERM during a reload whose command module hangs at import -----------------------------


def test_3_sigterm_is_honoured_while_a_reload_hangs_importing_a_command(tmp_path):
    commands = tmp_path / "commands"
    commands.mkdir()
    (commands / "recorded.py").write_text((ROOT / "tests" / "client_commands" / "recorder.py").read_text())
    extra = {"commands": {"paths": [str(commands)]}}
    server = start_server(tmp_path, write_config(tmp_path / "server.yaml", 0, extra))
    config = write_config(tmp_path / "config.yaml", server.port, extra)
    mark = tmp_path / "importing"
    client = start_client(tmp_path, config, [silence_wav(tmp_path / "quiet.wav", 240)], VA_INPUT_PACE="1",
                          VA_HANG_MARK=str(mark))
    wait_until(lambda: "Listening on" in client.text(), "the client to listen", client)
    (commands / "hangs.py").write_text(
        "import os, pathlib, time\npathlib.Path(os.environ['VA_HANG_MARK']).touch()\ntime.sleep(600)\n")
    client.send(signal.SIGHUP)
    wait_until(mark.exists, "the reload to hang in the import", client)
    client.send(signal.SIGTERM)
    try:
        code = client.wait(SIGTERM_BOUND)
    except subprocess.TimeoutExpired:
        pytest.fail("SIGTERM was not honoured while a reload hung")
    assert code == 0, client.text()
    assert "reload" in client.text().lower() and "abandon" in client.text().lower(), client.text()


# -- 10: control characters in the config: file:line, exit 2 -------------------------------------


@pytest.mark.parametrize("byte", ["\x00", "\x1b"])
def test_10_a_control_character_in_the_config_names_file_and_line(tmp_path, byte):
    config = tmp_path / "config.yaml"
    config.write_text(f"keyword: computer\nserver:\n  model: tiny{byte}.en\n")
    result = _va(tmp_path, "check", "--config", str(config))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{config}:3:" in result.stderr and "Traceback" not in result.stderr, result.stderr


# -- 11: a 5000-digit number in a transcript -----------------------------------------------------


def test_11_a_five_thousand_digit_number_loses_no_phrase(tmp_path):
    huge = "9" * 5000
    answers = [f"Computer, set a timer for {huge} minutes.", "Computer, add numbers 3 and 4.", "Computer, what time is it?"]
    with _fake_server(answers) as fake:
        config = write_config(tmp_path / "config.yaml", fake.port)
        client = start_client(tmp_path, config, ["timer-joe.wav", "add-joe.wav", "time-joe.wav"])
        assert client.wait() == 0, client.text()
    log = client.text()
    assert "Traceback" not in log, log[-3000:]
    assert len([line for line in log.splitlines() if "va.client.assistant: Heard" in line]) == 3, log[-3000:]
    # the two commands run on runner threads and may finish in either order
    assert sorted(_names(tmp_path)) == ["add_numbers", "what_time_is_it"], log[-3000:]


def test_11_va_match_reads_a_five_thousand_digit_number_without_a_traceback(tmp_path):
    config = write_config(tmp_path / "config.yaml")
    result = _va(tmp_path, "match", "computer set a timer for " + "9" * 5000 + " minutes", "--config", str(config))
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode in (0, 1), result.stderr[-2000:]


# -- 12: a command that ends its process -------------------------------------------------------------


def test_12_a_command_calling_os_exit_does_not_kill_the_client(tmp_path):
    commands = tmp_path / "commands"
    commands.mkdir()
    recorder = (ROOT / "tests" / "client_commands" / "recorder.py").read_text()
    (commands / "crashy.py").write_text(recorder.replace('    return _record("set_timer", minutes=minutes)',
                                                         "    os._exit(3)"))
    extra = {"commands": {"paths": [str(commands)], "isolation": "process"}}
    server = start_server(tmp_path, write_config(tmp_path / "server.yaml", 0, extra))
    config = write_config(tmp_path / "config.yaml", server.port, extra)
    client = start_client(tmp_path, config, ["timer-joe.wav", "time-joe.wav"])
    assert client.wait() == 0, client.text()
    assert _names(tmp_path) == ["what_time_is_it"], client.text()
    assert "set_timer(minutes=25) failed" in client.text() and "exit" in client.text(), client.text()


# -- minor: va check and commands.paths; a FIFO as --config --------------------------------------


def test_va_check_says_clearly_that_a_commands_folder_is_missing(tmp_path):
    missing = tmp_path / "no-such-folder"
    config = tmp_path / "config.yaml"
    config.write_text(f"commands:\n  modules: [clock]\n  paths: [{json.dumps(str(missing))}]\n")
    result = _va(tmp_path, "check", "--config", str(config))
    assert result.returncode == 1, result.stdout
    assert f"commands.paths: {missing} does not exist" in result.stdout, result.stdout


def test_a_fifo_as_config_is_refused_instead_of_hanging(tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    result = _va(tmp_path, "check", "--config", str(fifo), timeout=60)  # 60 s: a bound on the hang
    assert result.returncode == 2, result.stderr
    assert f"{fifo}:" in result.stderr and "not a regular file" in result.stderr, result.stderr


# -- helpers ---------------------------------------------------------------------------------------


def _va(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", "va", *args], cwd=tmp_path, env=environment(tmp_path),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"va {' '.join(args)[:80]} did not finish in {timeout:g} s")


class _fake_server:
    """A websocket server that answers the n-th audio_input with answers[n] (in a thread)."""

    def __init__(self, answers):
        self.port, self.answers = 0, list(answers)  # the port it got, once entered
        self.loop = asyncio.new_event_loop()
        self.started, self.thread = threading.Event(), threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.started.wait(30)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stopping.set_result, None)
        self.thread.join(30)

    def _run(self):
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        self.stopping = self.loop.create_future()
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self.started.set()
            await self.stopping

    async def _handle(self, connection):
        async for frame in connection:
            message = json.loads(frame)
            if message["type"] == "hello":
                await connection.send(json.dumps({"type": "ready", "engine": "fake", "model": "fake"}))
            else:
                text = self.answers.pop(0) if self.answers else ""
                await connection.send(json.dumps({"type": "transcript", "data": text, "id": message.get("id")}))
