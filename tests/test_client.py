"""The client's parts with a real in-process websocket server that answers canned transcripts.

The server link (failover, backoff, bounded queue, resend of what was in flight, one reply per
phrase), the listener on real speech files, the audio sources, and the assistant end to end
against the fake server with a command module that records every call.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Optional

import pytest
from procs import refused_port
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from va.client import microphone
from va.client.assistant import Assistant
from va.client.link import MAX_ATTEMPTS, LinkOptions, ServerLink, backoff_delay
from va.client.listener import Listener, Phrase, rms
from va.client.microphone import AudioUnavailable, Device, FileSource, resolve_device
from va.config import MicrophoneSettings, Settings
from va.protocol import Error, Hello, Transcript

FIXTURES = Path(__file__).parent / "fixtures"
RECORDER = Path(__file__).parent / "client_commands" / "recorder.py"
TIMEOUT = 60.0  # seconds for any one wait; only a bound on failure, never a measurement


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT * 2))


async def eventually(condition: Callable[[], Any], timeout: float = TIMEOUT) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def make_phrase(number: int) -> Phrase:
    """A phrase whose first sample is its number, so the server can say which one it got."""
    return Phrase(number.to_bytes(2, "little") + bytes(3198), end_of_speech=time.monotonic())


def number_of(message: dict) -> int:
    return int.from_bytes(base64.b64decode(message["data"])[:2], "little")


# --- a fake server ------------------------------------------------------------------------------


async def answer(server: "FakeServer", connection: Any, message: dict, index: int) -> None:
    await connection.send(json.dumps({"type": "transcript", "data": f"phrase {number_of(message)}", "id": message["id"]}))


def bound_socket() -> socket.socket:
    """A loopback socket on a port the system picked, bound and not listening: connections to it
    are refused until a FakeServer listens on it, and no other process can take the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeServer:
    """A real websocket server on 127.0.0.1; ``behaviour`` answers each audio_input."""

    def __init__(self, behaviour: Callable = answer, sock: Optional[socket.socket] = None, ssl_context: Any = None,
                 token: Optional[str] = None):
        """``sock``: a socket bound (not listening) already, for a server that comes up at a known port."""
        self.behaviour = behaviour
        self.sock = sock
        self.port = 0
        self.ssl_context = ssl_context
        self.token = token
        self.connections: List[List[dict]] = []  # the messages of each connection, in order
        self.headers: List[Any] = []
        self.audio: List[dict] = []  # every audio_input, all connections
        self.closed = 0  # connections that ended
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl_context else 'ws'}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeServer:
        where: dict = {"sock": self.sock} if self.sock is not None else {"host": "127.0.0.1", "port": 0}
        self._server = await serve(self._handle, ssl=self.ssl_context, process_request=self._check, **where)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _check(self, connection: Any, request: Any) -> Optional[Response]:
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(401, "token needed\n")
        return None

    async def _handle(self, connection: Any) -> None:
        index = len(self.connections)
        self.connections.append([])
        self.headers.append(connection.request.headers)
        try:
            async for frame in connection:
                message = json.loads(frame)
                self.connections[index].append(message)
                if message["type"] == "hello":
                    await connection.send(json.dumps({"type": "ready", "engine": "fake", "model": "none"}))
                    continue
                self.audio.append(message)
                await self.behaviour(self, connection, message, index)
        except ConnectionClosed:
            pass  # the behaviour hung up
        finally:
            self.closed += 1


class Replies:
    """What the link hands over: (phrase number, reply) and (phrase number, why dropped)."""

    def __init__(self) -> None:
        self.got: List[tuple] = []
        self.dropped: List[tuple] = []

    def on_reply(self, phrase: Phrase, reply: Any, received_at: float) -> None:
        self.got.append((int.from_bytes(phrase.pcm[:2], "little"), reply))

    def on_drop(self, phrase: Phrase, why: str) -> None:
        self.dropped.append((int.from_bytes(phrase.pcm[:2], "little"), why))

    def numbers(self) -> List[int]:
        return [number for number, _ in self.got]


HELLO = Hello("computer", ("set timer", "what time is it"), "test")


def make_link(urls, replies: Replies, **options: Any) -> ServerLink:
    options.setdefault("min_delay", 0.01)
    options.setdefault("max_delay", 0.05)
    return ServerLink(urls, HELLO, replies.on_reply, replies.on_drop, options=LinkOptions(**options))


class Running:
    """``async with Running(link)``: the link's run() as a task, closed on the way out."""

    def __init__(self, link: ServerLink) -> None:
        self.link = link

    async def __aenter__(self) -> ServerLink:
        self.task = asyncio.ensure_future(self.link.run())
        return self.link

    async def __aexit__(self, *exc_info: Any) -> None:
        await asyncio.wait_for(self.link.close(), TIMEOUT)
        await asyncio.wait_for(self.task, TIMEOUT)


# --- the link -------------------------------------------------------------------------------------


def test_hello_goes_first_then_audio_with_ids_and_the_token():
    async def scenario():
        replies = Replies()
        async with FakeServer(token="s3cret") as server, Running(make_link([server.url], replies, token="s3cret")) as link:
            link.submit(make_phrase(1))
            link.submit(make_phrase(2))
            await eventually(lambda: len(replies.got) == 2)
        messages = server.connections[0]
        assert messages[0] == {"type": "hello", "keyword": "computer", "commands": ["set timer", "what time is it"], "client": "test"}
        assert [number_of(m) for m in messages[1:]] == [1, 2]
        assert len({m["id"] for m in messages[1:]}) == 2
        assert server.headers[0]["Authorization"] == "Bearer s3cret"
        assert [(n, reply.text) for n, reply in replies.got] == [(1, "phrase 1"), (2, "phrase 2")]

    run(scenario())


def test_a_refused_token_is_logged_and_retried(caplog):
    async def scenario():
        replies = Replies()
        async with FakeServer(token="s3cret") as server, Running(make_link([server.url], replies, token="wrong")) as link:
            await eventually(lambda: "token was refused" in caplog.text)
            assert not link.connected.is_set()
            assert server.connections == []

    run(scenario())


def test_no_authorization_header_without_a_token():
    async def scenario():
        replies = Replies()
        async with FakeServer() as server, Running(make_link([server.url], replies)) as link:
            link.submit(make_phrase(1))
            await eventually(lambda: replies.got)
        assert "Authorization" not in server.headers[0]

    run(scenario())


def test_failover_takes_the_first_reachable_url_in_order():
    async def scenario():
        replies = Replies()
        with refused_port() as nobody:
            await first_reachable(replies, f"ws://127.0.0.1:{nobody}")

    async def first_reachable(replies, dead):
        async with FakeServer() as second, FakeServer() as third:
            link = make_link([dead, second.url, third.url], replies)
            async with Running(link):
                await eventually(link.connected.is_set)
                assert link.url == second.url
                link.submit(make_phrase(1))
                await eventually(lambda: replies.got)
                assert len(second.audio) == 1 and third.connections == []
                await second.__aexit__(None, None, None)  # the second goes away: on to the third
                await eventually(lambda: third.connections and link.connected.is_set())
                assert link.url == third.url
                link.submit(make_phrase(2))
                await eventually(lambda: len(replies.got) == 2)
                assert [number_of(m) for m in third.audio] == [2]

    run(scenario())


def test_backoff_doubles_up_to_the_maximum_with_jitter():
    assert [backoff_delay(n, 0.5, 30.0, rand=lambda: 1.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert [backoff_delay(n, 0.5, 30.0, rand=lambda: 0.0) for n in range(3)] == [0.25, 0.5, 1.0]
    assert backoff_delay(10_000, 0.5, 30.0, rand=lambda: 1.0) == 30.0  # no overflow after a long outage
    delays = {backoff_delay(3, 0.5, 30.0) for _ in range(50)}
    assert len(delays) > 1 and all(2.0 <= delay <= 4.0 for delay in delays)


def test_the_link_retries_until_the_server_comes_up():
    async def scenario():
        replies = Replies()
        sock = bound_socket()
        port = sock.getsockname()[1]
        retries = []

        def rand() -> float:
            retries.append(1)
            return 0.5

        link = make_link([f"ws://127.0.0.1:{port}"], replies, rand=rand)
        async with Running(link):
            link.submit(make_phrase(1))  # heard while the server is down: it waits
            await eventually(lambda: len(retries) >= 3)
            assert not replies.got
            async with FakeServer(sock=sock) as server:  # it listens on the socket held all along
                await eventually(lambda: replies.got)
        assert replies.numbers() == [1] and len(server.audio) == 1

    run(scenario())


def test_a_full_queue_drops_the_oldest_phrase(caplog):
    async def scenario():
        replies = Replies()
        sock = bound_socket()
        link = make_link([f"ws://127.0.0.1:{sock.getsockname()[1]}"], replies, queue_size=3)
        async with Running(link):
            for number in range(1, 6):
                link.submit(make_phrase(number))
            assert [number for number, _ in replies.dropped] == [1, 2]
            assert link.pending == 3
            async with FakeServer(sock=sock) as server:
                await eventually(lambda: len(replies.got) == 3)
        assert [number_of(m) for m in server.audio] == [3, 4, 5]
        assert replies.numbers() == [3, 4, 5]
        assert "queue is full" in caplog.text

    run(scenario())


async def vanish_first_time(server: FakeServer, connection: Any, message: dict, index: int) -> None:
    """The server dies (no close frame) with the first phrase in flight; answers after that."""
    if index == 0:
        connection.transport.abort()
        return
    await answer(server, connection, message, index)


def test_phrases_in_flight_when_the_connection_drops_are_sent_again():
    async def scenario():
        replies = Replies()
        async with FakeServer(vanish_first_time) as server, Running(make_link([server.url], replies)) as link:
            link.submit(make_phrase(7))
            await eventually(lambda: replies.got)
            assert link.connections == 2
        assert replies.numbers() == [7]
        assert [(number_of(m), m["id"]) for m in server.connections[0][1:]] == [(7, server.audio[0]["id"])]
        assert [number_of(m) for m in server.connections[1][1:]] == [7]
        assert server.connections[1][0]["type"] == "hello"  # every connection starts with hello

    run(scenario())


async def answer_twice_then_hang_up(server: FakeServer, connection: Any, message: dict, index: int) -> None:
    await answer(server, connection, message, index)
    await answer(server, connection, message, index)  # a duplicate
    await connection.send(json.dumps({"type": "transcript", "data": "a stranger", "id": 999}))
    if index == 0:
        await connection.close()


def test_a_phrase_gets_exactly_one_reply(caplog):
    caplog.set_level(logging.DEBUG, "va.client.link")

    async def scenario():
        replies = Replies()
        async with FakeServer(answer_twice_then_hang_up) as server, Running(make_link([server.url], replies)) as link:
            link.submit(make_phrase(1))
            await eventually(lambda: link.connections == 2)  # reconnected after the hang-up
            link.submit(make_phrase(2))
            # frames arrive in order: once the last stranger is read, so were the duplicates
            await eventually(lambda: caplog.text.count("reply for 999") == 2)
        assert replies.numbers() == [1, 2]
        assert [number_of(m) for m in server.audio] == [1, 2]  # the answered phrase was not resent

    run(scenario())


async def answer_without_id(server: "FakeServer", connection: Any, message: dict, index: int) -> None:
    await connection.send(json.dumps({"type": "transcript", "data": f"phrase {number_of(message)}"}))


def test_replies_without_ids_answer_in_order():
    async def scenario():
        replies = Replies()
        async with FakeServer(answer_without_id) as server, Running(make_link([server.url], replies)) as link:
            for number in (1, 2, 3):
                link.submit(make_phrase(number))
            await eventually(lambda: len(replies.got) == 3)
        assert [(n, reply.text) for n, reply in replies.got] == [(1, "phrase 1"), (2, "phrase 2"), (3, "phrase 3")]

    run(scenario())


async def refuse_the_first(server: FakeServer, connection: Any, message: dict, index: int) -> None:
    if len(server.audio) == 1:
        await connection.send(json.dumps({"type": "error", "data": "queue full", "id": message["id"]}))
        await connection.close()
        return
    await answer(server, connection, message, index)


def test_an_error_reply_drops_the_phrase():
    async def scenario():
        replies = Replies()
        async with FakeServer(refuse_the_first) as server, Running(make_link([server.url], replies)) as link:
            link.submit(make_phrase(1))
            await eventually(lambda: link.connections == 2)
            link.submit(make_phrase(2))
            await eventually(lambda: len(replies.got) == 2)
        (first, error), (second, transcript) = replies.got
        assert (first, second) == (1, 2)
        assert isinstance(error, Error) and error.message == "queue full"
        assert isinstance(transcript, Transcript)
        assert [number_of(m) for m in server.audio] == [1, 2]

    run(scenario())


async def always_vanish(server: FakeServer, connection: Any, message: dict, index: int) -> None:
    connection.transport.abort()


def test_a_phrase_that_kills_the_server_is_given_up():
    async def scenario():
        replies = Replies()
        async with FakeServer(always_vanish) as server, Running(make_link([server.url], replies)) as link:
            link.submit(make_phrase(3))
            await eventually(lambda: replies.dropped)
        assert [number for number, _ in replies.dropped] == [3]
        assert f"no reply after {MAX_ATTEMPTS} tries" in replies.dropped[0][1]
        assert [number_of(m) for m in server.audio] == [3] * MAX_ATTEMPTS
        assert replies.got == []

    run(scenario())


async def restart_five_times(server: FakeServer, connection: Any, message: dict, index: int) -> None:
    """A server draining for a restart (five times over): it closes with 1012, phrase unanswered."""
    if index < 5:
        await connection.close(1012, "service restart")
        return
    await answer(server, connection, message, index)


def test_a_restarting_server_sends_the_client_elsewhere_at_once_without_a_lost_phrase():
    async def scenario():
        replies = Replies()
        # a backoff would wait a minute: only the immediate reconnect gets the reply in time
        async with FakeServer(restart_five_times) as server:
            link = make_link([server.url], replies, min_delay=TIMEOUT, max_delay=TIMEOUT)
            async with Running(link):
                link.submit(make_phrase(4))
                await eventually(lambda: replies.got, timeout=TIMEOUT / 2)
        assert replies.numbers() == [4] and replies.dropped == []  # more closes than MAX_ATTEMPTS
        assert [number_of(m) for m in server.audio] == [4] * 6
        assert link.connections == 6

    run(scenario())


def test_wss_with_a_custom_ssl_context(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))

    async def scenario():
        replies = Replies()
        async with FakeServer(ssl_context=server_context) as server:
            assert server.url.startswith("wss://")
            async with Running(make_link([server.url], replies, ssl_context=client_context)) as link:
                link.submit(make_phrase(1))
                await eventually(lambda: replies.got)
        assert replies.numbers() == [1]

    run(scenario())


# --- audio sources and the listener ------------------------------------------------------------

MIC = MicrophoneSettings()
SPOKEN = ["timer-joe.wav", "nokey-joe.wav", "add-joe.wav"]


def wav_seconds(name: str) -> float:
    import wave

    with wave.open(str(FIXTURES / name)) as wav:
        return wav.getnframes() / wav.getframerate()


def listen_to(source: Any, settings: MicrophoneSettings = MIC) -> tuple:
    phrases: List[Phrase] = []
    delivered: List[float] = []

    def on_phrase(phrase: Phrase) -> None:
        phrases.append(phrase)
        delivered.append(time.monotonic())

    listener = Listener(source, settings, on_phrase)
    listener.open()
    listener.start()
    assert listener.finished.wait(TIMEOUT)
    return listener, phrases, delivered


@pytest.mark.parametrize("vad", ["webrtc", "energy"])  # the default, and the loudness threshold
def test_files_go_through_the_same_phrase_detection_one_phrase_each(vad):
    settings = dataclasses.replace(MIC, vad=vad)
    source = FileSource.for_settings([str(FIXTURES / name) for name in SPOKEN], settings)
    listener, phrases, delivered = listen_to(source, settings)
    assert listener.exhausted and listener.phrases == 3
    assert len(phrases) == 3
    for name, phrase in zip(SPOKEN, phrases):
        # one file each: its speech plus at most the half second of quiet kept on either side
        assert 1.0 < phrase.duration <= wav_seconds(name) + 1.0
        assert rms(phrase.pcm) > 100
    ends = [phrase.end_of_speech for phrase in phrases]
    assert ends == sorted(ends)
    assert all(end <= at for end, at in zip(ends, delivered))


def test_a_configured_energy_threshold_skips_calibration():
    settings = dataclasses.replace(MIC, vad="energy", energy_threshold=250.0, dynamic_energy=False)
    source = FileSource.for_settings([str(FIXTURES / "time-joe.wav")], settings)
    listener, phrases, _ = listen_to(source, settings)
    assert listener.energy_threshold == 250.0
    assert len(phrases) == 1


class HumSource(microphone.sr.AudioSource):
    """A microphone stand-in whose steady background noise the test turns up."""

    SAMPLE_RATE, SAMPLE_WIDTH, CHUNK = 16000, 2, 1024
    label = "hum"

    def __init__(self, level: int) -> None:
        self.level = level
        self.stream = None

    def __enter__(self) -> HumSource:
        source = self

        class Stream:
            def read(self, size: int) -> bytes:
                time.sleep(0.001)  # a device delivers audio over time; keep the loop from spinning
                samples = [source.level if i % 2 else -source.level for i in range(size)]
                return b"".join(sample.to_bytes(2, "little", signed=True) for sample in samples)

        self.stream = Stream()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stream = None


def test_recalibrating_on_request_follows_a_louder_room():
    settings = dataclasses.replace(MIC, vad="energy", dynamic_energy=False, calibrate_seconds=0.5)
    source = HumSource(level=100)
    listener = Listener(source, settings, on_phrase=lambda phrase: None)
    listener.open()
    quiet = listener.energy_threshold
    assert quiet < 300
    source.level = 3000  # the dishwasher starts: without recalibrating, this would be "speech"
    listener.recalibrate()
    listener.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while listener.energy_threshold < 1500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.energy_threshold >= 1500 > quiet  # half a second of hum moves it most of the way
    finally:
        listener.stop(TIMEOUT)


class FlakyFileSource(FileSource):
    """A FileSource whose stream fails once, after calibration (like a USB hiccup)."""

    def __enter__(self) -> FlakyFileSource:
        super().__enter__()
        inner, reads = self.stream, [0]

        class Flaky:
            def read(self, size: int) -> bytes:
                reads[0] += 1
                if reads[0] == 25:
                    raise OSError("Input overflowed")
                return inner.read(size)

            def close(self) -> None:
                inner.close()

        self.stream = Flaky()
        return self


def test_listening_goes_on_after_an_audio_error(caplog):
    source = FlakyFileSource.for_settings([str(FIXTURES / "time-joe.wav"), str(FIXTURES / "day-joe.wav")], MIC)
    listener, phrases, _ = listen_to(source)
    assert "Listening failed" in caplog.text
    assert len(phrases) == 2 and listener.exhausted


def test_the_microphone_setting_picks_a_device_by_index_or_name():
    devices = [Device(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 2, 44100), Device(4, "USB PnP Sound Device", 1, 48000)]
    assert resolve_device(None, devices) is None
    assert resolve_device(4, devices) == devices[1]
    assert resolve_device("usb pnp", devices) == devices[1]
    with pytest.raises(AudioUnavailable) as error:
        resolve_device("blue yeti", devices)
    assert "va devices" in str(error.value) and "USB PnP Sound Device" in str(error.value)
    with pytest.raises(AudioUnavailable):
        resolve_device(2, devices)


class FakePyAudio:
    """Stands in for the ``pyaudio`` module: two devices, one an input that plays a WAV file's
    speech between silences, at 16 kHz unless ``rates`` says the device cannot."""

    paInt16 = 8

    def __init__(self, wav: Path, rates=(16000, 48000)) -> None:
        self.speech = microphone.decode_file(str(wav))
        self.rates = rates
        self.opened: List[int] = []
        self.infos = [
            {"index": 0, "name": "HDMI output", "maxInputChannels": 0, "defaultSampleRate": 48000.0},
            {"index": 1, "name": "USB PnP Sound Device", "maxInputChannels": 1, "defaultSampleRate": 48000.0},
        ]

    @staticmethod
    def get_sample_size(fmt: int) -> int:
        return 2

    def PyAudio(self) -> "FakePyAudio":  # noqa: N802 - the module's name for it
        return self

    def get_device_count(self) -> int:
        return len(self.infos)

    def get_device_info_by_index(self, index: int) -> dict:
        return self.infos[index]

    def get_default_input_device_info(self) -> dict:
        return self.infos[1]

    def terminate(self) -> None:
        pass

    def open(self, input_device_index, channels, format, rate, frames_per_buffer, input):  # noqa: A002
        if rate not in self.rates:
            raise OSError("Invalid sample rate")
        self.opened.append(rate)
        pcm = bytes(3 * 32000) + self.speech + bytes(2 * 32000)
        if rate == 48000:  # crude upsampling: each sample three times
            pcm = b"".join(pcm[i:i + 2] * 3 for i in range(0, len(pcm), 2))
        return FakeStream(pcm)


class FakeStream:
    def __init__(self, pcm: bytes) -> None:
        self.pcm, self.position, self.closed = pcm, 0, False

    def read(self, size: int, exception_on_overflow: bool = True) -> bytes:
        chunk = self.pcm[self.position:self.position + 2 * size]
        self.position += len(chunk)
        return chunk  # b"" when done: a real microphone never ends, this one lets the test finish

    def is_stopped(self) -> bool:
        return False

    def stop_stream(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("rates", [(16000, 48000), (48000,)], ids=["16k", "48k-only"])
def test_a_microphone_by_name_is_heard_at_16_khz(monkeypatch, rates):
    fake = FakePyAudio(FIXTURES / "time-joe.wav", rates)
    monkeypatch.setitem(sys.modules, "pyaudio", fake)
    assert [device.name for device in microphone.list_devices()] == ["USB PnP Sound Device"]
    source = microphone.open_microphone(dataclasses.replace(MIC, device="usb pnp"))
    assert source.label == "USB PnP Sound Device"
    listener, phrases, _ = listen_to(source)
    assert fake.opened[-1] == rates[0]
    (phrase,) = phrases
    # whatever the device's rate, the server gets 16 kHz: about the speech's length in samples
    assert 1.0 < phrase.duration <= wav_seconds("time-joe.wav") + 1.0


def test_no_microphone_says_what_to_do(monkeypatch):
    monkeypatch.setattr(microphone, "list_devices", lambda: [])
    with pytest.raises(AudioUnavailable) as error:
        microphone.open_microphone(MIC)
    assert "va devices" in str(error.value) and "--input" in str(error.value)


def test_va_devices_lists_input_devices(monkeypatch, capsys):
    devices = [Device(3, "USB PnP Sound Device", 1, 48000)]
    monkeypatch.setattr(microphone, "list_devices", lambda: devices)
    settings = dataclasses.replace(Settings(), microphone=dataclasses.replace(MIC, device="usb"))
    assert microphone.cli_devices(None, settings) == 0
    out = capsys.readouterr().out
    assert "USB PnP Sound Device" in out and "48000" in out and "<- microphone.device" in out

    monkeypatch.setattr(microphone, "list_devices", lambda: [])
    assert microphone.cli_devices(None, Settings()) == 1
    assert "--input" in capsys.readouterr().out


def test_va_devices_without_pyaudio(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyaudio", None)  # import pyaudio now raises ImportError
    assert microphone.cli_devices(None, Settings()) == 2
    out = capsys.readouterr().out
    assert "PyAudio is not installed" in out and "--input" in out


def test_an_unreadable_input_file_is_named(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio")
    with pytest.raises(AudioUnavailable, match="notes.txt"):
        FileSource([str(bad)])
    with pytest.raises(AudioUnavailable, match="missing.wav"):
        FileSource([str(tmp_path / "missing.wav")])


# --- the assistant against the fake server ------------------------------------------------------


class Transcripts:
    """A behaviour: the n-th audio_input gets the n-th canned transcript."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)

    async def __call__(self, server: FakeServer, connection: Any, message: dict, index: int) -> None:
        text = self.texts[len(server.audio) - 1]
        reply = {"type": "error", "data": text[6:], "id": message["id"]} if text.startswith("ERROR ") else \
            {"type": "transcript", "data": text, "id": message["id"]}
        await connection.send(json.dumps(reply))


def client_settings(url: str, paths: List[str], **client: Any) -> Settings:
    settings = Settings()
    return dataclasses.replace(
        settings,
        server_url=(url,),
        commands=dataclasses.replace(settings.commands, modules=(), paths=tuple(paths)),
        client=dataclasses.replace(settings.client, reconnect_min_delay=0.01, reconnect_max_delay=0.05, **client),
    )


def recorded(path: Path) -> List[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def recorder(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ran.jsonl"
    monkeypatch.setenv("VA_RECORDER_FILE", str(path))
    return path


def phrase_records(caplog) -> List[logging.LogRecord]:
    return [record for record in caplog.records if hasattr(record, "VA_DECISION")]


async def assist(assistant: Assistant) -> str:
    """start, run, stop, as va.service.daemon would; the status when run() returned."""
    await asyncio.wait_for(assistant.start(), TIMEOUT)
    try:
        await asyncio.wait_for(assistant.run(), TIMEOUT)
        return assistant.status()
    finally:
        await asyncio.wait_for(assistant.stop(), TIMEOUT)


def test_the_assistant_runs_what_was_said_and_logs_one_record_per_phrase(recorder, caplog):
    caplog.set_level(logging.INFO)
    files = [str(FIXTURES / name) for name in SPOKEN]
    behaviour = Transcripts(" Computer, set a timer for twenty five minutes.", " The weather is lovely today.",
                            " Computer, make me a sandwich.")

    async def scenario():
        async with FakeServer(behaviour) as server:
            settings = client_settings(server.url, [str(RECORDER)])
            assistant = Assistant(settings, FileSource.for_settings(files, settings.microphone))
            status = await assist(assistant)
            hello = server.connections[0][0]
            assert hello["keyword"] == "computer" and "set timer" in hello["commands"]
            assert "connected to " + server.url in status
            assert "3 phrases" in status and "sandwich" in status

    run(scenario())
    assert [(line["name"], line["args"]) for line in recorded(recorder)] == [("set_timer", {"minutes": 25})]
    records = {record.VA_TRANSCRIPT: record for record in phrase_records(caplog)}  # logged as each one ends
    assert len(phrase_records(caplog)) == 3
    ran = records["Computer, set a timer for twenty five minutes."]
    assert (ran.VA_DECISION, ran.VA_COMMAND, json.loads(ran.VA_ARGS)) == ("ran", "set_timer", {"minutes": 25})
    assert ran.VA_LATENCY_TRANSCRIPT_MS <= ran.VA_LATENCY_START_MS <= ran.VA_LATENCY_MS
    assert ran.VA_SILENCE_MS < MIC.pause_threshold * 1000  # files are read faster than real time
    assert records["The weather is lovely today."].VA_DECISION == "no-keyword"
    assert records["Computer, make me a sandwich."].VA_DECISION == "no-match"
    assert "nearest" in records["Computer, make me a sandwich."].getMessage()


def test_dry_run_runs_nothing(recorder, caplog):
    caplog.set_level(logging.INFO)

    async def scenario():
        async with FakeServer(Transcripts("computer what time is it")) as server:
            settings = client_settings(server.url, [str(RECORDER)])
            source = FileSource.for_settings([str(FIXTURES / "time-joe.wav")], settings.microphone)
            await assist(Assistant(settings, source, dry_run=True))

    run(scenario())
    assert recorded(recorder) == []
    (record,) = phrase_records(caplog)
    assert (record.VA_DECISION, record.VA_COMMAND) == ("dry-run", "what_time_is_it")
    assert "would run what_time_is_it()" in record.getMessage()


def test_a_server_error_is_logged_and_the_phrase_dropped(recorder, caplog):
    caplog.set_level(logging.INFO)

    async def scenario():
        async with FakeServer(Transcripts("ERROR audio too long", "computer what day is it")) as server:
            settings = client_settings(server.url, [str(RECORDER)])
            files = [str(FIXTURES / "time-joe.wav"), str(FIXTURES / "day-joe.wav")]
            await assist(Assistant(settings, FileSource.for_settings(files, settings.microphone)))
            assert len(server.audio) == 2

    run(scenario())
    assert [line["name"] for line in recorded(recorder)] == ["what_day_is_it"]
    assert [record.VA_DECISION for record in phrase_records(caplog)] == ["error", "ran"]


HOLD_MODULE = '''
import json, os, time

def _note(name):
    with open(os.environ["VA_RECORDER_FILE"], "a") as out:
        out.write(json.dumps({"name": name, "args": {}}) + "\\n")

def hold_on():
    "Wait until the test lets go."
    _note("hold_on started")
    deadline = time.monotonic() + 60
    while not os.path.exists(os.environ["VA_RELEASE_FILE"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    _note("hold_on finished")
'''


def test_a_running_command_does_not_hold_up_the_next_phrases(recorder, tmp_path, monkeypatch):
    module = tmp_path / "hold.py"
    module.write_text(HOLD_MODULE)
    release = tmp_path / "release"
    monkeypatch.setenv("VA_RELEASE_FILE", str(release))
    files = [str(FIXTURES / name) for name in ("time-joe.wav", "day-joe.wav", "timer-joe.wav")]
    behaviour = Transcripts("computer hold on", "computer what day is it", "computer set a timer for five minutes")

    async def scenario():
        async with FakeServer(behaviour) as server:
            settings = client_settings(server.url, [str(RECORDER), str(module)])
            assistant = Assistant(settings, FileSource.for_settings(files, settings.microphone))
            await asyncio.wait_for(assistant.start(), TIMEOUT)
            running = asyncio.ensure_future(assistant.run())
            # the later phrases are heard, transcribed and run while hold_on still runs
            await eventually(lambda: len(recorded(recorder)) == 3)
            assert not running.done()
            release.write_text("go")
            await asyncio.wait_for(running, TIMEOUT)
            await asyncio.wait_for(assistant.stop(), TIMEOUT)

    run(scenario())
    names = [line["name"] for line in recorded(recorder)]
    assert sorted(names[:3]) == ["hold_on started", "set_timer", "what_day_is_it"]  # each in its own thread
    assert names[3:] == ["hold_on finished"]


def test_stop_lets_a_started_command_finish(recorder, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    module = tmp_path / "hold.py"
    module.write_text(HOLD_MODULE)
    release = tmp_path / "release"
    monkeypatch.setenv("VA_RELEASE_FILE", str(release))

    async def scenario():
        async with FakeServer(Transcripts("computer hold on")) as server:
            settings = client_settings(server.url, [str(module)])
            source = FileSource.for_settings([str(FIXTURES / "time-joe.wav")], settings.microphone)
            assistant = Assistant(settings, source)
            await asyncio.wait_for(assistant.start(), TIMEOUT)
            running = asyncio.ensure_future(assistant.run())
            await eventually(lambda: recorded(recorder))
            stopping = asyncio.ensure_future(assistant.stop())
            seen_at_stop: List[List[str]] = []
            stopping.add_done_callback(lambda _: seen_at_stop.append([line["name"] for line in recorded(recorder)]))
            # stop() closes the link before it waits for the commands: a stop() that did not wait
            # would be done right after this, with hold_on still holding
            await eventually(lambda: server.closed == 1)
            release.write_text("go")
            await asyncio.wait_for(stopping, TIMEOUT)
            assert seen_at_stop == [["hold_on started", "hold_on finished"]]  # stop() waited for hold_on
            await asyncio.wait_for(running, TIMEOUT)

    run(scenario())
    assert [record.VA_DECISION for record in phrase_records(caplog)] == ["ran"]


def test_reload_applies_a_new_keyword_and_commands_on_the_open_connection(tmp_path):
    extra = tmp_path / "lights.py"
    extra.write_text('def lights_on():\n    "Turn the lights on."\n')

    async def scenario():
        async with FakeServer() as server:
            settings = client_settings(server.url, [str(RECORDER)])
            assistant = Assistant(settings, FileSource([], lead_seconds=2.0))
            await asyncio.wait_for(assistant.start(), TIMEOUT)
            try:
                new = dataclasses.replace(
                    settings, keyword="jarvis",
                    commands=dataclasses.replace(settings.commands, paths=(str(RECORDER), str(extra))),
                )
                await asyncio.wait_for(assistant.reload(new), TIMEOUT)
                await eventually(lambda: len(server.connections[0]) == 2)
                assert assistant.healthy()
            finally:
                await asyncio.wait_for(assistant.stop(), TIMEOUT)
        first, second = server.connections[0]
        assert (first["keyword"], second["keyword"]) == ("computer", "jarvis")
        assert "lights on" in second["commands"] and "lights on" not in first["commands"]
        assert len(server.connections) == 1  # no reconnect for that

    run(scenario())


def test_reload_with_another_server_url_moves_to_it():
    async def scenario():
        async with FakeServer() as first, FakeServer() as second:
            settings = client_settings(first.url, [str(RECORDER)])
            assistant = Assistant(settings, FileSource([], lead_seconds=2.0))
            await asyncio.wait_for(assistant.start(), TIMEOUT)
            try:
                await asyncio.wait_for(assistant.reload(dataclasses.replace(settings, server_url=(second.url,))), TIMEOUT)
                await eventually(lambda: "connected to " + second.url in assistant.status())
            finally:
                await asyncio.wait_for(assistant.stop(), TIMEOUT)
            assert len(first.connections) == 1 and second.connections[0][0]["type"] == "hello"

    run(scenario())
