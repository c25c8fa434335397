"""Volume, uptime and (only when allowed) shutdown and reboot.

Volume goes through whichever mixer is installed: `wpctl` (PipeWire), `pactl` (PulseAudio) or
`amixer` (ALSA, the usual one on a headless Raspberry Pi; it sets the AMIXER_CONTROL control).
Shutdown and reboot refuse unless the configuration says `commands: {allow_power: true}`; the
registry hands the settings to `setup()` when it loads this module. They run
`systemctl poweroff|reboot`, which the va user may need a polkit rule for.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Annotated

from va.command import Range, command

AMIXER_CONTROL = "Master"
STEP = 10  # percent per volume_up / volume_down
_ALLOW_POWER = False


def setup(settings) -> None:
    """Called by the registry with the CommandSettings each time it loads this module."""
    global _ALLOW_POWER
    _ALLOW_POWER = bool(getattr(settings, "allow_power", False))


@command(aliases=["volume"])
def set_volume(percent: Annotated[int, Range(0, 100)]) -> str:
    """Set the speaker volume, 0 to 100 percent."""
    if not 0 <= percent <= 100:
        raise ValueError(f"the volume must be between 0 and 100 percent, not {percent}")
    _mixer("set", percent)
    return f"Volume set to {percent} percent."


@command(aliases=["louder", "turn it up", "turn the volume up"])
def volume_up() -> str:
    """Turn the volume up a step."""
    _mixer("up", STEP)
    return "Volume up."


@command(aliases=["quieter", "turn it down", "turn the volume down"])
def volume_down() -> str:
    """Turn the volume down a step."""
    _mixer("down", STEP)
    return "Volume down."


def mute() -> str:
    """Mute the speaker."""
    _mixer("mute")
    return "Muted."


def unmute() -> str:
    """Unmute the speaker."""
    _mixer("unmute")
    return "Unmuted."


def uptime() -> str:
    """Say how long this machine has been running."""
    with open("/proc/uptime", encoding="ascii") as file:
        seconds = int(float(file.read().split()[0]))
    days, rest = divmod(seconds, 86400)
    hours, minutes = divmod(rest // 60, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in ((days, "day"), (hours, "hour")) if n]
    parts.append(f"{minutes} minute{'' if minutes == 1 else 's'}")
    return "Up for " + ", ".join(parts) + "."


@command(name="shut down", aliases=["power off"])
def shutdown() -> str:
    """Power the machine off (only with commands.allow_power: true)."""
    _power("poweroff")
    return "Shutting down."


@command(aliases=["restart"])
def reboot() -> str:
    """Restart the machine (only with commands.allow_power: true)."""
    _power("reboot")
    return "Rebooting."


def _power(action: str) -> None:
    if not _ALLOW_POWER:
        raise PermissionError(f"{action} by voice is disabled; set commands.allow_power: true to allow it")
    _run(["systemctl", action])


def _mixer(action: str, percent: int = 0) -> None:
    for tool, build in (("wpctl", _wpctl), ("pactl", _pactl), ("amixer", _amixer)):
        path = shutil.which(tool)
        if path:
            _run([path] + build(action, percent))
            return
    raise RuntimeError("no volume control found: install wireplumber (wpctl), pulseaudio-utils (pactl) or alsa-utils (amixer)")


def _wpctl(action: str, percent: int) -> list[str]:
    sink = "@DEFAULT_AUDIO_SINK@"
    if action in ("mute", "unmute"):
        return ["set-mute", sink, "1" if action == "mute" else "0"]
    level = {"set": f"{percent}%", "up": f"{percent}%+", "down": f"{percent}%-"}[action]
    return ["set-volume", "-l", "1.0", sink, level]


def _pactl(action: str, percent: int) -> list[str]:
    sink = "@DEFAULT_SINK@"
    if action in ("mute", "unmute"):
        return ["set-sink-mute", sink, "1" if action == "mute" else "0"]
    level = {"set": f"{percent}%", "up": f"+{percent}%", "down": f"-{percent}%"}[action]
    return ["set-sink-volume", sink, level]


def _amixer(action: str, percent: int) -> list[str]:
    if action in ("mute", "unmute"):
        return ["-q", "sset", AMIXER_CONTROL, action]
    level = {"set": f"{percent}%", "up": f"{percent}%+", "down": f"{percent}%-"}[action]
    return ["-q", "sset", AMIXER_CONTROL, level]


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise RuntimeError(f"{argv[0]} is not installed")
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{' '.join(argv)} did not finish within 15 s") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        raise RuntimeError(f"{' '.join(argv)} failed: {detail}")
