"""The Wyoming endpoint, driven by the `wyoming` package's own async TCP client as Home Assistant does.

Real model (bundled tiny.en), real speech fixtures, a real server on port 0. Home Assistant's
speech-to-text entity opens one connection per utterance: transcribe, audio-start, 16 kHz s16
mono chunks of 1,024 samples, audio-stop, then it reads events until `transcript`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
import warnings
import wave
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("wyoming")

with warnings.catch_warnings():  # wyoming.audio imports audioop, deprecated since Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from wyoming.asr import Transcribe, Transcript  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.error import Error  # noqa: E402
from wyoming.event import Event  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402

from va.stt.audio import float_to_pcm16, pcm16_to_float, resample  # noqa: E402
from va.config import ConfigError, ServerSettings, Settings, WyomingSettings, parse_settings  # noqa: E402
from va.server.app import SpeechServer  # noqa: E402

from procs import words  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
TEXTS = sorted({entry["text"] for entry in MANIFEST})
TIMEOUT = 180.0  # seconds for any one wait: the machine is shared and slow
JOE = [entry for entry in MANIFEST if entry["voice"] == "joe" and not entry["noisy"]]


# -- helpers -----------------------------------------------------------------------------------


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT * 2))


def pcm(name: str) -> bytes:
    with wave.open(str(FIXTURES / name), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


def assert_heard(text: str, entry: dict) -> None:
    """Close to what was said, and closer to it than to any other fixture's words."""
    score = {known: SequenceMatcher(None, words(text), known).ratio() for known in TEXTS}
    assert max(score, key=score.get) == entry["text"], (entry["file"], text)
    assert score[entry["text"]] >= 0.8, (entry["file"], text)


def settings_for(wyoming_port=0, partial_every=0.0, **server) -> Settings:
    """One transcript per utterance unless `partial_every` asks for streamed ones."""
    base = Settings()
    wyoming = WyomingSettings(port=wyoming_port, partial_every=partial_every)
    config = dataclasses.replace(base.server, host="127.0.0.1", port=0, wyoming=wyoming, **server)
    return dataclasses.replace(base, server=config)


@contextlib.asynccontextmanager
async def running(engine, **server):
    speech = SpeechServer(settings_for(**server), engine_factory=lambda _: engine)
    await asyncio.wait_for(speech.start(), TIMEOUT)
    try:
        yield speech
    finally:
        await asyncio.wait_for(speech.stop(), TIMEOUT)


def chunks(audio: bytes, rate: int = 16000, width: int = 2, channels: int = 1, samples: int = 1024):
    step = samples * width * channels
    for offset in range(0, len(audio), step):
        yield AudioChunk(rate=rate, width=width, channels=channels, audio=audio[offset : offset + step])


async def read_until(client: AsyncTcpClient, *types: str) -> Event:
    """The next event of one of `types`, skipping others (as Home Assistant does)."""
    while True:
        event = await asyncio.wait_for(client.read_event(), TIMEOUT)
        assert event is not None, "the server closed the connection"
        if event.type in types:
            return event


async def home_assistant(port: int, audio: bytes, rate=16000, width=2, channels=1, start=True, **transcribe) -> Event:
    """One utterance on its own connection, the way Home Assistant's Wyoming STT entity sends it."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en", **transcribe).event())
        if start:
            await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
        for chunk in chunks(audio, rate, width, channels):
            await client.write_event(chunk.event())
        await client.write_event(AudioStop().event())
        return await read_until(client, "transcript", "error")


async def transcript(port: int, audio: bytes, **audio_format) -> str:
    event = await home_assistant(port, audio, **audio_format)
    assert Transcript.is_type(event.type), event
    return Transcript.from_event(event).text


def reformat(audio: bytes, rate: int, width: int, channels: int) -> bytes:
    """16 kHz s16 mono -> `rate` Hz, `width`-byte samples, `channels` channels (the second one quieter)."""
    samples = resample(pcm16_to_float(audio), 16000, rate) * 0.9
    frames = np.stack([samples * (1.0 - 0.3 * channel) for channel in range(channels)], axis=1).reshape(-1)
    if width == 1:  # unsigned 8-bit
        return (np.clip(frames, -1, 1) * 127 + 128).round().astype(np.uint8).tobytes()
    if width == 2:
        return float_to_pcm16(frames)
    whole = (np.clip(frames, -1, 1) * 2147483647).astype("<i4")
    return whole.tobytes() if width == 4 else whole.view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()  # 24-bit: top 3 bytes


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        return json.load(response)


async def health(server) -> dict:
    return await asyncio.to_thread(get_json, f"http://127.0.0.1:{server.port}/health")


async def until(condition, what: str) -> None:
    async def poll():
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(f"waited {TIMEOUT:.0f} s for: {what}") from None


class GatedEngine:
    """The real engine behind a gate: records batch sizes and can hold a decode."""

    def __init__(self, engine):
        self.engine = engine
        self.name, self.model, self.device = engine.name, engine.model, engine.device
        self.batches = []
        self.prompts = []
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def transcribe(self, audio, prompt=None):
        self.prompts.append(prompt)
        return self._hold([audio], lambda: [self.engine.transcribe(audio, prompt=prompt)])[0]

    def transcribe_batch(self, audios, prompts):
        self.prompts.extend(prompts)
        return self._hold(audios, lambda: self.engine.transcribe_batch(audios, prompts))

    def _hold(self, audios, decode):
        self.batches.append(len(audios))
        self.started.set()
        assert self.gate.wait(TIMEOUT)
        return decode()


@pytest.fixture(scope="session")
def engine():
    from va.stt import create_engine

    return create_engine(dataclasses.replace(ServerSettings(), engine="faster-whisper", device="cpu"))


# -- describe -----------------------------------------------------------------------------------


def test_describe_answers_info_with_the_loaded_model(engine):
    async def scenario():
        async with running(engine) as server:
            async with AsyncTcpClient("127.0.0.1", server.wyoming.port) as client:
                await client.write_event(Describe().event())
                return Info.from_event(await read_until(client, "info"))

    info = run(scenario())
    assert [program.name for program in info.asr] == ["va"]
    program = info.asr[0]
    assert program.installed and program.attribution.name and program.attribution.url
    assert [(model.name, model.languages, model.installed) for model in program.models] == [("tiny.en", ["en"], True)]
    assert program.models[0].attribution.name and program.models[0].description
    assert not info.tts and not info.wake  # speech-to-text only


# -- utterances ---------------------------------------------------------------------------------


def test_every_fixture_on_its_own_connection_in_16k_chunks_of_1024(engine, caplog):
    caplog.set_level(logging.INFO, logger="va")

    async def scenario():
        async with running(engine) as server:
            texts = [await transcript(server.wyoming.port, pcm(entry["file"])) for entry in MANIFEST]
            return texts, await health(server)

    texts, state = run(scenario())
    for text, entry in zip(texts, MANIFEST):
        assert_heard(text, entry)
    assert state["wyoming"]["requests"] == state["wyoming"]["transcripts"] == len(MANIFEST)
    assert state["served"] == len(MANIFEST)
    journal = [record for record in caplog.records if getattr(record, "VA_PROTOCOL", None) == "wyoming"]
    assert len(journal) == len(MANIFEST)
    assert all(record.VA_CLIENT.startswith("127.0.0.1:") and record.VA_LATENCY_MS >= 0 for record in journal)
    assert [record.VA_TRANSCRIPT for record in journal] == [text.strip() for text in texts]


@pytest.mark.parametrize("rate, width, channels", [(48000, 2, 2), (44100, 4, 1), (22050, 2, 3), (32000, 3, 1), (16000, 1, 2)])
def test_other_rates_widths_and_channel_counts_are_converted(engine, rate, width, channels):
    entry = JOE[0]
    audio = reformat(pcm(entry["file"]), rate, width, channels)

    async def scenario():
        async with running(engine) as server:
            return await transcript(server.wyoming.port, audio, rate=rate, width=width, channels=channels)

    assert_heard(run(scenario()), entry)


def test_chunks_without_audio_start_are_one_utterance(engine):
    entry = JOE[1]

    async def scenario():
        async with running(engine) as server:
            event = await home_assistant(server.wyoming.port, pcm(entry["file"]), start=False)
            return Transcript.from_event(event).text

    assert_heard(run(scenario()), entry)


def test_wyoming_and_websocket_clients_share_one_batching_worker(engine):
    gated = GatedEngine(engine)
    entries = JOE[:4]

    async def scenario():
        async with running(gated) as server:
            gated.gate.clear()  # hold the worker on a first websocket request: the next ones queue up
            async with connect(server.url) as ws:
                await ws.send(pcm(entries[0]["file"]))
                await asyncio.to_thread(gated.started.wait, TIMEOUT)
                port = server.wyoming.port
                talking = [asyncio.create_task(transcript(port, pcm(entry["file"]))) for entry in entries[1:]]
                await until(lambda: server.queue_depth == len(entries), "all four queued")
                assert "1 client, 3 Wyoming" in server.status()
                gated.gate.set()
                texts = await asyncio.gather(*talking)
                first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        return first, texts

    first, texts = run(scenario())
    assert_heard(first["data"], entries[0])
    for text, entry in zip(texts, entries[1:]):
        assert_heard(text, entry)
    assert gated.batches == [1, 3]  # the three Wyoming utterances were decoded in one batch


@pytest.mark.parametrize("use_prompt", [True, False])
def test_names_and_terms_from_transcribe_are_the_prompt_when_use_prompt_is_on(engine, use_prompt):
    gated = GatedEngine(engine)
    entry = JOE[0]

    async def scenario():
        async with running(gated, use_prompt=use_prompt) as server:
            return await home_assistant(
                server.wyoming.port, pcm(entry["file"]),
                transcript_names=["Kitchen Light", 5, " "], transcript_terms=["timer", "Kitchen Light"],
            )

    event = run(scenario())
    assert_heard(Transcript.from_event(event).text, entry)
    assert gated.prompts == ["Kitchen Light, timer." if use_prompt else None]


# -- clients that misbehave ---------------------------------------------------------------------


def test_a_client_leaving_mid_utterance_costs_nothing_and_the_server_goes_on(engine, caplog):
    caplog.set_level(logging.INFO, logger="va")
    entry = JOE[2]
    audio = pcm(entry["file"])

    async def scenario():
        async with running(engine) as server:
            async with AsyncTcpClient("127.0.0.1", server.wyoming.port) as client:
                await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
                for chunk in list(chunks(audio))[:20]:
                    await client.write_event(chunk.event())
                await until(lambda: server.wyoming.health()["clients"] == 1, "the client is seen")
            await until(lambda: server.wyoming.health()["clients"] == 0, "the client is gone")
            text = await transcript(server.wyoming.port, audio)
            return text, server.wyoming.health(), server.served

    text, state, served = run(scenario())
    assert_heard(text, entry)
    assert (state["requests"], state["transcripts"], served) == (1, 1, 1)  # nothing was decoded for the leaver
    assert any("left mid-utterance" in record.getMessage() for record in caplog.records)


def test_a_client_leaving_while_its_utterance_is_decoded_does_not_disturb_the_next(engine):
    gated = GatedEngine(engine)
    entry = JOE[3]

    async def scenario():
        async with running(gated) as server:
            gated.gate.clear()
            async with AsyncTcpClient("127.0.0.1", server.wyoming.port) as client:
                for chunk in chunks(pcm(JOE[0]["file"])):
                    await client.write_event(chunk.event())
                await client.write_event(AudioStop().event())
                await asyncio.to_thread(gated.started.wait, TIMEOUT)
            gated.gate.set()  # its transcript now has nobody to go to
            return await transcript(server.wyoming.port, pcm(entry["file"]))

    assert_heard(run(scenario()), entry)


NOT_WYOMING = {
    "http": b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "binary": bytes(range(256)) * 4 + b"\n",
    "json list": b"[1, 2, 3]\n",
    "json without type": b'{"data": {}}\n',
    "huge payload": b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 99999999999}\n',
    "endless line": b"x" * 200_000,
    "bad format": b'{"type": "audio-start", "data": {"rate": "fast", "width": 2, "channels": 1}}\n',
    "chunk without format": b'{"type": "audio-chunk", "data": {}}\n',
}


@pytest.mark.parametrize("name", sorted(NOT_WYOMING))
def test_a_client_that_does_not_speak_wyoming_is_closed_and_the_server_goes_on(engine, name):
    entry = JOE[0]

    async def scenario():
        async with running(engine) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.wyoming.port)
            writer.write(NOT_WYOMING[name])
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            answer = await asyncio.wait_for(reader.read(), TIMEOUT)  # until the server closes
            writer.close()
            return answer, await transcript(server.wyoming.port, pcm(entry["file"]))

    answer, text = run(scenario())
    assert json.loads(answer.splitlines()[0])["type"] == "error"
    assert_heard(text, entry)


def test_audio_over_max_audio_seconds_gets_an_error_event(engine):
    async def scenario():
        async with running(engine, max_audio_seconds=1.0) as server:
            event = await home_assistant(server.wyoming.port, pcm(JOE[0]["file"]))
            return Error.from_event(event), server.served

    error, served = run(scenario())
    assert "too long" in error.text and error.code == "audio-too-long"
    assert served == 0


def test_audio_stop_without_audio_is_an_empty_transcript(engine):
    async def scenario():
        async with running(engine) as server:
            return await transcript(server.wyoming.port, b"")

    assert run(scenario()) == ""


# -- settings and lifecycle ---------------------------------------------------------------------


def test_wyoming_is_off_unless_a_port_is_set(engine):
    assert Settings().server.wyoming == WyomingSettings(host="127.0.0.1", port=None)
    assert parse_settings("server:\n  wyoming:\n    port: 10300\n").server.wyoming.port == 10300
    with pytest.raises(ConfigError, match=r"config.yaml:3: server.wyoming.port must be null \(off\) or a TCP port"):
        parse_settings("server:\n  wyoming:\n    port: 70000\n")

    async def scenario():
        async with running(engine, wyoming_port=None) as server:
            return server.wyoming, await health(server)

    endpoint, state = run(scenario())
    assert endpoint is None and state["wyoming"] is None


class FakeZeroconf:
    """Stands in for zeroconf's AsyncZeroconf: records what would be announced, sends nothing."""

    made = []

    def __init__(self, interfaces):
        self.interfaces, self.registered, self.unregistered, self.closed = interfaces, [], [], False
        FakeZeroconf.made.append(self)

    async def async_register_service(self, info):
        self.registered.append(info)

    async def async_unregister_service(self, info):
        self.unregistered.append(info)

    async def async_close(self):
        self.closed = True


def test_zeroconf_is_off_by_default_and_refused_on_loopback():
    assert Settings().server.wyoming.zeroconf is False
    wyoming = parse_settings("server:\n  wyoming:\n    host: 0.0.0.0\n    port: 10300\n    zeroconf: true\n").server.wyoming
    assert wyoming.zeroconf and wyoming.host == "0.0.0.0"
    with pytest.raises(ConfigError, match=r"config.yaml:3: server.wyoming.zeroconf announces the endpoint on the network"):
        parse_settings("server:\n  wyoming:\n    port: 10300\n    zeroconf: true\n")


def test_zeroconf_announces_the_wyoming_port_and_withdraws_it_on_stop(engine, monkeypatch):
    pytest.importorskip("zeroconf")
    import va.server.homeassistant.announce

    monkeypatch.setattr(va.server.homeassistant.announce, "ZEROCONF_FACTORY", FakeZeroconf)
    FakeZeroconf.made.clear()

    async def scenario():
        speech = SpeechServer(settings_for(), engine_factory=lambda _: engine)
        speech.settings = dataclasses.replace(speech.settings, server=dataclasses.replace(
            speech.settings.server, wyoming=WyomingSettings(port=0, zeroconf=True)))  # loopback: a test sends nothing
        await asyncio.wait_for(speech.start(), TIMEOUT)
        try:
            port = speech.wyoming.port
            text = await transcript(port, pcm(JOE[0]["file"]))
        finally:
            await asyncio.wait_for(speech.stop(), TIMEOUT)
        return port, text

    port, text = run(scenario())
    assert_heard(text, JOE[0])
    [zeroconf] = FakeZeroconf.made
    [info] = zeroconf.registered
    assert (info.type, info.port, info.parsed_addresses()) == ("_wyoming._tcp.local.", port, ["127.0.0.1"])
    assert info.name.startswith("va-") and info.name.endswith("._wyoming._tcp.local.")
    assert zeroconf.interfaces == ["127.0.0.1"]
    assert zeroconf.unregistered == [info] and zeroconf.closed


def test_a_failed_announcement_is_logged_and_the_endpoint_serves(engine, monkeypatch, caplog):
    import va.server.homeassistant.announce

    def broken(interfaces):
        raise OSError("no multicast route")

    monkeypatch.setattr(va.server.homeassistant.announce, "ZEROCONF_FACTORY", broken)

    async def scenario():
        speech = SpeechServer(settings_for(), engine_factory=lambda _: engine)
        speech.settings = dataclasses.replace(speech.settings, server=dataclasses.replace(
            speech.settings.server, wyoming=WyomingSettings(port=0, zeroconf=True)))
        await asyncio.wait_for(speech.start(), TIMEOUT)
        try:
            return await transcript(speech.wyoming.port, pcm(JOE[1]["file"]))
        finally:
            await asyncio.wait_for(speech.stop(), TIMEOUT)

    assert_heard(run(scenario()), JOE[1])
    assert any("could not announce the Wyoming endpoint over mDNS" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_va_check_shows_the_wyoming_address_and_warns_off_loopback(tmp_path, host, warned):
    config = tmp_path / "config.yaml"
    config.write_text(f"commands:\n  modules: [clock]\nserver:\n  wyoming:\n    host: {host}\n    port: 10300\n")
    environment = {key: value for key, value in os.environ.items() if key not in ("VA_CONFIG", "JOURNAL_STREAM")}
    environment["PYTHONPATH"] = str(Path(__file__).parent.parent)
    result = subprocess.run([sys.executable, "-m", "va", "check", "--config", str(config)], env=environment,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("wyoming:"))
    assert line.startswith(f"wyoming: listening on {host}:10300")
    assert ("no authentication" in line) is warned


def test_a_taken_wyoming_port_fails_the_start_and_says_so(engine):
    async def scenario():
        taken = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
        port = taken.sockets[0].getsockname()[1]
        server = SpeechServer(settings_for(wyoming_port=port), engine_factory=lambda _: engine)
        try:
            with pytest.raises(OSError, match=rf"cannot listen for Wyoming on 127.0.0.1:{port}"):
                await asyncio.wait_for(server.start(), TIMEOUT)
            return server.healthy()
        finally:
            taken.close()

    assert run(scenario()) is False  # the worker thread did not outlive the failed start


def test_reload_applies_limits_to_wyoming_and_keeps_its_port(engine, caplog):
    async def scenario():
        async with running(engine) as server:
            port = server.wyoming.port
            await asyncio.wait_for(server.reload(settings_for(wyoming_port=port + 1, max_audio_seconds=1.0)), TIMEOUT)
            event = await home_assistant(port, pcm(JOE[0]["file"]))
            return event, server.wyoming.port == port

    event, same_port = run(scenario())
    assert Error.is_type(event.type) and Error.from_event(event).code == "audio-too-long"
    assert same_port
    assert any("server.wyoming changed: restart" in record.getMessage() for record in caplog.records)


def test_stop_answers_the_wyoming_utterance_in_flight(engine):
    gated = GatedEngine(engine)
    entry = JOE[1]

    async def scenario():
        server = SpeechServer(settings_for(), engine_factory=lambda _: gated)
        await asyncio.wait_for(server.start(), TIMEOUT)
        gated.gate.clear()
        talking = asyncio.create_task(transcript(server.wyoming.port, pcm(entry["file"])))
        await asyncio.to_thread(gated.started.wait, TIMEOUT)
        stopping = asyncio.create_task(server.stop())  # what SIGTERM does
        await asyncio.sleep(0.2)
        with pytest.raises(OSError):  # no new connections
            await asyncio.open_connection("127.0.0.1", server.wyoming.port)
        gated.gate.set()
        text = await asyncio.wait_for(talking, TIMEOUT)
        await asyncio.wait_for(stopping, TIMEOUT)
        return text

    assert_heard(run(scenario()), entry)


@pytest.mark.slow
def test_va_server_process_serves_wyoming_and_reports_it_in_health(tmp_path):
    """The real command line: `va server` with server.wyoming.port 0, then SIGTERM."""
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  port: 0\n  device: cpu\n  wyoming:\n    port: 0\n")
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET", "VA_CONFIG")}
    environment["PYTHONPATH"] = str(Path(__file__).parent.parent)
    entry = JOE[2]

    async def scenario():
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "va", "server", "--config", str(config),
            stderr=asyncio.subprocess.PIPE, env=environment,
        )
        log = []
        try:
            wyoming_port = int(await _line(process, log, r"Wyoming speech-to-text on 127\.0\.0\.1:(\d+)"))
            http_port = int(await _line(process, log, r"listening on ws://127\.0\.0\.1:(\d+)"))
            text = await transcript(wyoming_port, pcm(entry["file"]))
            state = await asyncio.to_thread(get_json, f"http://127.0.0.1:{http_port}/health")
            await _line(process, log, r"wyoming 127\.0\.0\.1:\d+: ")  # the transcript is in the log
            process.send_signal(signal.SIGTERM)
            return text, state, await asyncio.wait_for(process.wait(), TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    text, state, returncode = run(scenario())
    assert_heard(text, entry)
    assert state["wyoming"]["requests"] == state["wyoming"]["transcripts"] == 1
    assert state["wyoming"]["address"].startswith("127.0.0.1:")
    assert returncode == 0


async def _line(process, log: list, pattern: str) -> str:
    for seen in log:
        match = re.search(pattern, seen)
        if match:
            return match.group(1) if match.groups() else match.group(0)
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), TIMEOUT)
        assert line, "va server exited:\n" + "".join(log[-30:])
        log.append(line.decode(errors="replace"))
        match = re.search(pattern, log[-1])
        if match:
            return match.group(1) if match.groups() else match.group(0)
