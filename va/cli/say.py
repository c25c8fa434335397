"""`va say TEXT`: speak with the configured voice (`speech:`), to try it; `--to FILE.wav` writes it."""

from __future__ import annotations

import argparse
import time
import wave

from va.config.settings import Settings


def cli_say(args: argparse.Namespace, settings: Settings) -> int:
    from va.client.speech.tts import Synthesizer

    text = " ".join(args.text)
    synthesizer = Synthesizer(settings.speech.voice)
    if args.to:
        with wave.open(args.to, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(synthesizer.rate)
            for pcm in synthesizer.pcm(text):
                out.writeframes(pcm)
        print(f"wrote {args.to} ({synthesizer.label}, {synthesizer.rate} Hz)")
        return 0
    from va.client.speech.player import Clip, Player, open_output

    player = Player(open_output(settings.speech.device), settings.speech.volume)
    player.play(Clip("va say", lambda: synthesizer.pcm(text), synthesizer.rate))
    while player.played == 0 and (player.playing or player.ended_at == float("-inf")):
        time.sleep(0.05)
    player.close()
    return 0
