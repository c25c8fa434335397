"""The real microphone path: a sound server, ALSA's pulse plugin, PortAudio, PyAudio, the listener.

A PulseAudio or a PipeWire of the test's own (sound_server.py) has a virtual microphone; `paplay` plays
a spoken command into it in real time while `va client` (no --input) listens, and a real
`va server` transcribes. What a user would see is checked: `va devices` lists the device and
says it goes through the sound server, `microphone.device` picks it by part of its name, and the
client's log says the command ran. Also: a device that only offers 48 kHz and overflows
(audio_shim/), and a client that stalls for seconds (SIGSTOP) while the sound keeps coming.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from sound_server import PipeWire, PulseAudio, unavailable
from procs import Process, environment, start_server, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(unavailable() is not None, reason=str(unavailable())),
    pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None, reason="no engine for a va server (a client-only install)"),
]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RECORDER = ROOT / "tests" / "client_commands" / "recorder.py"
SHIM = ROOT / "tests" / "audio_shim"
RAN = re.compile(r"Heard '[^']*': ran what_time_is_it\(\)")


def write_config(folder: Path, port: int, device: str) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        f"""\
keyword: computer
server_url: ws://127.0.0.1:{port}
server: {{host: 127.0.0.1, port: {port}, model: tiny.en}}
commands: {{modules: [], paths: [{json.dumps(str(RECORDER))}]}}
microphone: {{device: {device}, calibrate_seconds: 1}}
client: {{reconnect_min_delay: 0.1, reconnect_max_delay: 1.0}}
"""
    )
    return config


@pytest.fixture(scope="module", params=["PulseAudio", "PipeWire"])
def pulse(request, tmp_path_factory) -> Iterator[PulseAudio]:
    if unavailable(request.param):
        pytest.skip(str(unavailable(request.param)))
    kind = PipeWire if request.param == "PipeWire" else PulseAudio
    with kind(tmp_path_factory.mktemp(request.param.lower())) as server:
        yield server


@pytest.fixture(scope="module")
def server_port(tmp_path_factory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("server")
    server = start_server(folder, write_config(folder, 0, "null"))
    yield server.port
    server.stop()


def client_env(tmp_path: Path, pulse: PulseAudio, **extra: str) -> dict:
    return environment(tmp_path, **pulse.env, **extra)


def listening_client(tmp_path: Path, config: Path, env: dict) -> Process:
    client = Process(tmp_path, "client", ["client", "--config", str(config)], env)
    wait_until(lambda: "va-client is ready" in client.text(), "the client to calibrate and reach the server", client.popen)
    return client


def heard(client: Process, count: int) -> None:
    wait_until(lambda: len(RAN.findall(client.text())) >= count, f"{count} x 'ran what_time_is_it' in the client log", client.popen)


def test_va_devices_lists_the_sound_server_device_and_picks_it_by_name(tmp_path, pulse, server_port):
    config = write_config(tmp_path, server_port, "test_mic")
    result = subprocess.run([sys.executable, "-m", "va", "devices", "--config", str(config)], env=client_env(tmp_path, pulse),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    chosen = [line for line in result.stdout.splitlines() if "<- microphone.device" in line]
    assert len(chosen) == 1 and "va_test_mic" in chosen[0] and "[sound server]" in chosen[0], result.stdout
    assert f"sound server: PulseAudio or PipeWire ($PULSE_SERVER) at unix:{pulse.socket}" in result.stdout
    assert re.search(r"va listens on: va_test_mic, sound server: .*" + re.escape(str(pulse.socket)), result.stdout)


def test_without_a_reachable_sound_server_va_devices_says_so(tmp_path, pulse):
    env = {**client_env(tmp_path, pulse), "PULSE_SERVER": "unix:" + str(tmp_path / "nothing-here")}
    result = subprocess.run([sys.executable, "-m", "va", "devices"], env=env, capture_output=True, text=True, timeout=120)
    assert "va_test_mic" not in result.stdout, result.stdout  # PortAudio cannot open the server's devices
    assert f"sound server: PulseAudio or PipeWire ($PULSE_SERVER, but no socket there) at unix:{tmp_path / 'nothing-here'}" in result.stdout


def test_the_client_hears_a_spoken_command_through_the_sound_server_and_survives_a_stall(tmp_path, pulse, server_port):
    config = write_config(tmp_path, server_port, "test_mic")
    client = listening_client(tmp_path, config, client_env(tmp_path, pulse))
    try:
        assert re.search(r"Listening on va_test_mic at 16000 Hz \(sound server", client.text()), client.text()
        pulse.play(FIXTURES / "time-joe.wav")
        heard(client, 1)
        client.popen.send_signal(signal.SIGSTOP)  # a starved client: the sound keeps coming
        try:
            pulse.play(FIXTURES / "nokey-joe.wav")
            time.sleep(1.0)
        finally:
            client.popen.send_signal(signal.SIGCONT)
        pulse.play(FIXTURES / "time-joe.wav")
        heard(client, 2)
    finally:
        client.stop()
    assert client.popen.returncode == 0, client.text()


def test_a_device_that_only_offers_48_khz_and_overflows_still_hears(tmp_path, pulse, server_port):
    config = write_config(tmp_path, server_port, "test_mic")
    env = client_env(tmp_path, pulse, VA_TEST_ONLY_RATE="48000", VA_TEST_OVERFLOW_EVERY="7")
    env["PYTHONPATH"] = os.pathsep.join([str(SHIM), env["PYTHONPATH"]])
    client = listening_client(tmp_path, config, env)
    try:
        assert "Listening on va_test_mic at 48000 Hz" in client.text(), client.text()
        pulse.play(FIXTURES / "time-joe.wav")
        heard(client, 1)
    finally:
        client.stop()
