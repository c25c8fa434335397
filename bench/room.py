"""A room whose noise never stops, for `python -m bench.early latency --set noise --room`.

The corpus's noise clips carry their noise only around their own speech; played one after the
other with silence between them (FileSource's lead and gaps), the noise stops after every
command, which ends the phrase for any detector. In a room with a fan it does not stop. Here the
clips are joined into one WAV in which each clip is followed by its own noise (its last 0.5 s,
after the speech, looped) for as long as FileSource's gap, and the client is started through this
module, which makes FileSource's lead and gaps noise too (the first clip's opening 0.25 s, looped):
the client calibrates in the noise, as one started in that room would. The clips keep their
places (each starts where it would after silence), so bench.early.judge reads the log unchanged.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path
from typing import Dict, List, Tuple

from va.client import microphone

RATE, WIDTH = 16000, 2
TAIL_S, OPENING_S = 0.5, 0.25


def _loop(pcm: bytes, size: int) -> bytes:
    """``pcm`` repeated to exactly ``size`` bytes."""
    return (pcm * (size // len(pcm) + 1))[:size]


def _bytes(seconds: float) -> int:
    return int(seconds * RATE) * WIDTH


def build(entries: List[Dict], gap_s: float, directory: Path) -> Tuple[Path, Path]:
    """The joined clips (one WAV) and the bed for the client's lead and gaps (raw PCM)."""
    parts, bed = [], b""
    for entry in entries:
        pcm = microphone.decode_file(entry["path"])
        bed = bed or pcm[: _bytes(OPENING_S)]
        parts += [pcm, _loop(pcm[-_bytes(TAIL_S):], _bytes(gap_s))]
    room, bed_path = directory / "room.wav", directory / "bed.raw"
    with wave.open(str(room), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(WIDTH)
        out.setframerate(RATE)
        out.writeframes(b"".join(parts))
    bed_path.write_bytes(bed)
    return room, bed_path


def main(argv: List[str]) -> int:
    """``python -m bench.room BED.raw <va arguments>``: va with FileSource's silence made of BED."""
    bed = Path(argv[0]).read_bytes()
    microphone._silence = lambda seconds: _loop(bed, _bytes(seconds))  # type: ignore[assignment]
    from va.cli import main as va_main

    return va_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
