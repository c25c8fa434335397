"""Which way a PortAudio device reaches the microphone: a sound server or ALSA itself.

PortAudio (under PyAudio) talks to ALSA only. ALSA's ``pulse`` and ``pipewire`` devices, and
``default`` where PulseAudio or PipeWire made it theirs, hand the audio over to a sound server,
which must be reachable from this process: a service running as user va has no desktop session,
so it reaches one only through ``PULSE_SERVER`` or a socket in ``XDG_RUNTIME_DIR`` (see the
README). ``hw:`` devices are the sound card itself: no server in between, user va needs the audio
group, and the card offers only its own rates (``plughw:`` converts).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Set

ALSA_CONF = Path("/etc/alsa/conf.d")
DEFAULT_TO_SERVER = {"99-pipewire-default.conf": "PipeWire", "99-pulse.conf": "PulseAudio"}
"""Files with which Debian's pipewire-alsa and pulseaudio packages make ALSA's default theirs."""
SYSTEM_PULSE = "/run/pulse/native"
"""The socket of ``pulseaudio --system``."""


@dataclass(frozen=True)
class SoundServer:
    """A PulseAudio-protocol server this process can reach (PipeWire answers it too)."""

    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} at {self.address}"


def find_sound_server(env: Mapping[str, str] = os.environ, exists: Callable[[str], bool] = os.path.exists) -> Optional[SoundServer]:
    """The sound server that ALSA's pulse plugin would talk to, as libpulse looks for it."""
    if env.get("PULSE_SERVER"):
        address = env["PULSE_SERVER"]
        missing = address.startswith("unix:") and not exists(address[len("unix:"):])
        return SoundServer("PulseAudio or PipeWire ($PULSE_SERVER" + (", but no socket there)" if missing else ")"), address)
    runtime = env.get("PULSE_RUNTIME_PATH") or os.path.join(env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}", "pulse")
    native = os.path.join(runtime, "native")
    if exists(native):
        pipewire = os.path.join(os.path.dirname(runtime), "pipewire-0")
        return SoundServer("PipeWire" if exists(pipewire) else "PulseAudio", native)
    if exists(SYSTEM_PULSE):
        return SoundServer("PulseAudio (system-wide)", SYSTEM_PULSE)
    return None


def default_goes_to(conf_dir: Path = ALSA_CONF) -> Optional[str]:
    """The sound server ALSA's ``default`` device goes to, or None (ALSA's own default)."""
    for file, server in DEFAULT_TO_SERVER.items():
        if (conf_dir / file).exists():
            return server
    return None


def server_pcms(files: Sequence[Path] = (Path("/etc/asound.conf"), Path.home() / ".asoundrc")) -> Set[str]:
    """ALSA devices defined in asound.conf/.asoundrc as ``type pulse`` or ``type pipewire``."""
    names: Set[str] = set()
    for file in files:
        try:
            text = file.read_text(errors="replace")
        except OSError:
            continue
        names.update(match.lower() for match in re.findall(r"pcm\.([\w-]+)\s*\{[^{}]*?\btype\s+\"?(?:pulse|pipewire)\b", text))
    return names


def route(device_name: str, conf_dir: Path = ALSA_CONF) -> str:
    """In a few words, what lies between this PortAudio device and the microphone."""
    name = device_name.lower()
    if "(hw:" in name or name.startswith("hw:"):
        return "ALSA: the card itself"
    if name in ("pulse", "pipewire") or name in server_pcms():
        return "sound server"
    if name in ("default", "sysdefault"):
        server = default_goes_to(conf_dir) if name == "default" else None
        return f"sound server ({server})" if server else "ALSA default"
    return "ALSA plugin"


def describe(device_name: str, server: Optional[SoundServer], conf_dir: Path = ALSA_CONF) -> str:
    """The route, and for a sound-server device whether that server is reachable from here."""
    way = route(device_name, conf_dir)
    if not way.startswith("sound server"):
        return way
    if server is None:
        return f"{way}, none reachable from this process (no $PULSE_SERVER, no socket in $XDG_RUNTIME_DIR)"
    return f"{way}: {server}"
