"""Does the decoder know that a sentence has ended? `python -m bench.ending [--split tune]`

For each clip of the user-written commands (bench/corpus/pauses/user), the audio is cut 60 ms
into a quiet, as the server's check reads it: at the end of a whole command (it has ended) and at
the pause inside a command with a pause (it has not: "set volume to seventy …"). The free
transcript is forced as a prefix without its closing mark, and the decoder's log probability of
what closes it (a mark and end of text, or end of text) is read (va.stt.scoring, tiny.en int8).
If that probability told the two apart, a check could run a phrase whose reading may grow.
Prints, for thresholds on log P(end), how many ended phrases and how many cut ones lie above.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import List, Optional, Tuple

import numpy as np

from bench.early import SETS
from bench.report import table
from va.client.microphone import decode_file
from va.stt.audio import pcm16_to_float

CUT_S = 0.06
"""Quiet read after the last word (microphone.early_check)."""


def cuts(split: str) -> List[Tuple[str, str, float]]:
    """(kind, path, seconds to keep): "ended" at the end of a whole command, "cut" at a pause inside one."""
    found = []
    for name, kind in (("user", "ended"), ("user-pauses", "cut")):
        manifest = SETS[name]
        for entry in json.loads(manifest.read_text()):
            if entry["split"] in split.split(","):
                end = entry["pause_at_s"] if kind == "cut" else entry["seconds"] - 0.6
                found.append((kind, str(manifest.parent / entry["file"]), end + CUT_S))
    return found


def closing(engine, audio: np.ndarray) -> Tuple[str, Optional[float]]:
    """The free transcript and log P(its close | the audio, its words)."""

    def judge(transcription, utterance):
        text = transcription.text.rstrip(" .?!,")
        if utterance is None or not text.strip():
            return None
        hypothesis = utterance.continue_after([" " + text.strip()], budget=2)[0].closed
        return None if hypothesis is None else hypothesis.logprob - hypothesis.prefix_logprob

    transcription, end = engine.judge(audio, None, judge)
    return transcription.text, end


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tune")
    args = parser.parse_args(argv)
    from va.config import ServerSettings
    from va.stt import create_engine

    engine = create_engine(dataclasses.replace(ServerSettings(), engine="faster-whisper", device="cpu"))
    scores = {"ended": [], "cut": []}
    for kind, path, keep in cuts(args.split):
        audio = pcm16_to_float(decode_file(path))[: int(keep * 16000)]
        text, end = closing(engine, audio)
        if end is not None:
            scores[kind].append(end)
        print(f"{kind:5} {end if end is not None else float('nan'):7.2f} {text!r}", file=sys.stderr)
    rows = [[f"{threshold:g}", f"{sum(s >= threshold for s in scores['ended'])}/{len(scores['ended'])}",
             f"{sum(s >= threshold for s in scores['cut'])}/{len(scores['cut'])}"]
            for threshold in (-0.05, -0.1, -0.2, -0.5, -1.0, -2.0)]
    print("\n".join(table(["log P(end) at least", "ended phrases (whole commands)", "cut at a pause inside"], rows)))
    print(f"median log P(end): ended {np.median(scores['ended']):.2f}, cut {np.median(scores['cut']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
