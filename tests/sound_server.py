"""A sound server of the test's own, headless, with a virtual microphone that plays speech files.

Debian's `pulseaudio` runs as a per-test daemon (as root it warns and runs; no D-Bus, no sound
card needed), or PipeWire (`pipewire`, `wireplumber`, `pipewire-pulse` in a private D-Bus
session, with the README's snippet that adds a second socket), with a null sink `va_speech`:
what is played into it (`paplay`) comes out of its monitor source, which is the microphone. ALSA's pulse plugin (Debian's `pulseaudio` and
`libasound2-plugins`) gives PortAudio two ways in: the stock `pulse`/`default` devices, and
`va_test_mic`, an ALSA device of `type pulse` defined in the test's ~/.asoundrc, as a user names
one source of a PulseAudio or PipeWire server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, Optional

ASOUNDRC = """\
pcm.va_test_mic {
    type pulse
    device "va_speech.monitor"
    hint.description "va test microphone (PulseAudio null sink monitor)"
}
"""
SCRIPT = """\
load-module module-native-protocol-unix
load-module module-null-sink sink_name=va_speech sink_properties=device.description=va-speech
set-default-source va_speech.monitor
"""
ECHO_SCRIPT = """\
load-module module-null-sink sink_name=va_speaker sink_properties=device.description=va-speaker
load-module module-loopback source=va_speaker.monitor sink=va_speech latency_msec=30 source_dont_move=true sink_dont_move=true
load-module module-echo-cancel source_master=va_speech.monitor sink_master=va_speaker aec_method=webrtc source_name=va_ec_source sink_name=va_ec_sink aec_args="analog_gain_control=0 digital_gain_control=0"
set-default-source va_ec_source
set-default-sink va_ec_sink"""


def unavailable(server: str = "PulseAudio") -> Optional[str]:
    tools = ("pipewire", "wireplumber", "pipewire-pulse", "dbus-run-session") if server == "PipeWire" else ("pulseaudio",)
    for tool in (*tools, "paplay", "pactl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (bash setup.sh test installs it)"
    if not Path("/usr/share/alsa/alsa.conf.d/50-pulseaudio.conf").exists():
        return "ALSA's pulse plugin is not installed (libasound2-plugins)"
    return None


class PulseAudio:
    """``with PulseAudio(folder) as pulse``: the daemon runs; ``pulse.env`` reaches it."""

    def __init__(self, folder: Path, timeout: float = 60.0) -> None:
        self.folder = folder
        self.socket = folder / "pulse" / "native"
        self.timeout = timeout
        self.env: Dict[str, str] = {
            "HOME": str(folder),  # ~/.asoundrc names va_test_mic; pulse's cookie goes here
            "XDG_RUNTIME_DIR": str(folder),
            "XDG_CONFIG_HOME": str(folder / "config"),
            "PULSE_RUNTIME_PATH": str(folder / "pulse"),
            "PULSE_SERVER": f"unix:{self.socket}",
        }
        self._process: Optional[subprocess.Popen] = None
        self._log = None

    def __enter__(self) -> PulseAudio:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".asoundrc").write_text(ASOUNDRC)
        (self.folder / "va.pa").write_text(SCRIPT)
        self._log = open(self.folder / "pulseaudio.log", "ab")
        command = ["pulseaudio", "-n", "-F", str(self.folder / "va.pa"), "--daemonize=no", "--exit-idle-time=-1",
                   "--disallow-exit", "--log-target=stderr"]
        self._process = subprocess.Popen(command, env={**os.environ, **self.env}, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready("pulseaudio.log")
        return self

    def _wait_ready(self, log: str) -> None:
        deadline = time.monotonic() + self.timeout
        while self.pactl("info").returncode != 0:
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the sound server did not start: {(self.folder / log).read_text()[-2000:]}")
            time.sleep(0.1)

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(self.timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(self.timeout)
        if self._log is not None:
            self._log.close()

    def pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True, text=True, timeout=self.timeout)

    def echo_cancel(self) -> Optional[str]:
        """The room with a speaker and echo cancellation (WebRTC), as a user sets it up on a Pi: va
        plays into `va_ec_sink`, which feeds the speaker `va_speaker`; the speaker's sound reaches the
        room (`va_speech`, where `play()` puts a person) through a loopback, the acoustic path; the
        microphone is `va_ec_source`, the room's monitor with what va played cancelled. Both are made
        the defaults. None when it runs, else what failed (the module cannot cancel between a sink
        and its own monitor, hence the second null sink)."""
        for command in ECHO_SCRIPT.splitlines():
            result = self.pactl(*re.findall(r'(?:[^\s"]|"[^"]*")+', command))  # aec_args="a=0 b=0" is one
            if result.returncode != 0:
                return f"pactl {command}: {result.stderr.strip() or result.stdout.strip()}"
        return None

    def play(self, wav: Path) -> None:
        """Play a file into the virtual microphone, in real time; returns when it has been played."""
        subprocess.run(["paplay", "--device=va_speech", str(wav)], env={**os.environ, **self.env}, check=True, timeout=self.timeout)


PIPEWIRE_PULSE_CONF = """\
pulse.properties = {
    server.address = [ "unix:native" "unix:%s" ]
}
"""


class PipeWire(PulseAudio):
    """PipeWire with its PulseAudio server, reached through the extra socket the README's snippet adds."""

    def __init__(self, folder: Path, timeout: float = 60.0) -> None:
        super().__init__(folder, timeout)
        self.socket = folder / "va-audio" / "native"
        self.env["PULSE_SERVER"] = f"unix:{self.socket}"

    def __enter__(self) -> PipeWire:
        conf = self.folder / "config" / "pipewire" / "pipewire-pulse.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "va.conf").write_text(PIPEWIRE_PULSE_CONF % self.socket)
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        (self.folder / ".asoundrc").write_text(ASOUNDRC)
        self._log = open(self.folder / "pipewire.log", "ab")
        daemons = "pipewire & sleep 1; wireplumber & pipewire-pulse & wait"
        self._process = subprocess.Popen(["dbus-run-session", "--", "sh", "-c", daemons], env={**os.environ, **self.env},
                                         stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready("pipewire.log")
        for command in (SCRIPT.splitlines()[1:]):  # the null sink and the default source, as PulseAudio's script has them
            result = self.pactl(*command.split())
            if result.returncode != 0:
                self.__exit__()
                raise RuntimeError(f"pactl {command}: {result.stderr}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # dbus-daemon and the three daemons
            try:
                self._process.wait(self.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(self.timeout)
        if self._log is not None:
            self._log.close()
