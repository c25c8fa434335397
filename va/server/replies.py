"""What answers an audio request: the transcript, and with it the reading of a client's grammar."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Callable, Optional

from va.config.settings import ServerSettings
from va.language.ending import ends_open
from va.protocol import AudioInput, Error, Reading, Transcript
from va.server.connection import Client
from va.server.recognition.calibration import recognizer_settings
from va.server.recognition.recognizer import read

_LOGGER = logging.getLogger(__name__)


def judge_for(config: ServerSettings, client: Client, partial: bool = False) -> Optional[Callable[[Any, Any], Reading]]:
    """How the worker reads a request of this client as one of its commands (None: it does not).

    A check (``partial``: the phrase so far) whose free transcript ends where speech could not
    stop ("set a timer for twenty", "turn on the") is read from its free transcript alone: the
    client would not run it early whatever it read as (va.client.early), and the grammar's
    guided decoding, the costly part, would only finish the sentence the speaker is still saying."""
    if config.recognition != "grammar" or client.grammar is None or not client.keyword:
        return None
    grammar, keyword = client.grammar, client.keyword
    settings = recognizer_settings(config.model, config.reject_margin, config.keyword_floor)
    if client.threshold is not None:
        settings = dataclasses.replace(settings, threshold=client.threshold)

    def judge(transcription: Any, utterance: Any) -> Reading:
        guided = None if partial and ends_open(transcription.text) else utterance
        return read(transcription.text, grammar, keyword, guided, settings)

    return judge


async def transcript_reply(client: Client, audio: AudioInput, future: asyncio.Future, partial: bool = False) -> Any:
    """The event that answers `audio` once the worker is done with it (None: no answer, for
    a check that was superseded or failed)."""
    await asyncio.wait({future})
    if future.cancelled():
        return None
    outcome = future.result()
    if outcome.error is not None:
        return None if partial else Error(outcome.error, audio.id)
    result = outcome.transcription
    text = result.text.strip()
    latency = round(outcome.processing_ms)
    _LOGGER.log(
        logging.DEBUG if partial else logging.INFO,
        "%s: %r (%.1f s of audio, %d ms%s)",
        client,
        text,
        audio.duration,
        latency,
        ", so far" if partial else "",
        extra={"VA_TRANSCRIPT": text, "VA_LATENCY_MS": latency, "VA_CLIENT": client.name},
    )
    if outcome.reading is not None:
        reading = outcome.reading
        _LOGGER.log(logging.DEBUG if partial else logging.INFO,
                    "%s: reading %s %s (%s, score %.1f): %s", client, reading.command, reading.args,
                     "accepted" if reading.accepted else "rejected", reading.score, reading.why)
    return Transcript(
        text, audio.id, audio.duration, outcome.processing_ms, result.no_speech_prob, result.avg_logprob,
        outcome.reading, partial,
    )
