"""The wire events between a va client and the speech server.

Compatible with the seed server: a client sends
``{"type": "audio_input", "data": "<base64 s16le mono PCM>"}`` and reads
``{"type": "transcript", "data": "<text>"}`` or ``{"type": "error", "data": "<why>"}``.
On top of that:

- ``audio_input`` may carry ``"rate"`` (Hz, default 16000) and ``"id"`` (a string of at most
  MAX_ID_CHARS characters or a 64-bit integer, echoed in the reply).
- A binary frame is raw s16le mono 16 kHz PCM: the same request without base64 (no id).
- ``hello`` (optional, first) tells the server the keyword and command names, which it
  uses as the decoding prompt, and may carry ``grammar`` (``va.language.grammar``: every command
  with its spoken names, parameter kinds and sentence templates); the server answers ``ready``.
  It may name the client and its area and say ``"relay": true``: then the events of
  ``va.protocol.relay`` (the directory, and commands run on another client) come and go too.
- ``transcript`` may carry ``id``, ``duration`` (seconds of audio), ``processing_ms`` (from
  the moment the server had the audio until the text was ready, queueing included),
  ``no_speech_prob`` and ``avg_logprob``; for a client that sent a grammar, ``reading``: the
  most likely valid command judged against the audio (``Reading``).

- Streaming (``va.protocol.stream``): a hello with ``"stream": 1`` and a ready with ``"stream": 1``
  mean that, on that connection, the client's binary frames are chunks of phrases being heard
  (a request id, flags, PCM); a ``transcript`` with ``"partial": true`` reads the phrase so far.
- Every reply to a request (``ready``, ``transcript``, ``error``) carries ``seq``: the number of
  the frame it answers on this connection (1 for the first), see ``reply_json``.

Untrusted input is parsed once, by ``parse_client_message``, which raises ``ProtocolError``; its
message is printable and short, whatever the client sent. Names (``client``, ``area``) arrive
printable: control characters escaped, at most MAX_NAME_CHARS characters.
"""

from va.protocol.base import (
    MAX_ID_CHARS, MAX_NAME_CHARS, MAX_RATE, MIN_RATE, SAMPLE_RATE, SAMPLE_WIDTH, Event, Frame, ProtocolError, RequestId,
    printable,
)
from va.protocol.events import AudioInput, Error, Hello, Ready, Reading, Transcript
from va.protocol.parse import ClientEvent, ServerEvent, parse_client_message, parse_server_message, reply_json

__all__ = [
    "MAX_ID_CHARS", "MAX_NAME_CHARS", "MAX_RATE", "MIN_RATE", "SAMPLE_RATE", "SAMPLE_WIDTH", "AudioInput",
    "ClientEvent", "Error", "Event", "Frame", "Hello", "ProtocolError", "Ready", "Reading", "RequestId",
    "ServerEvent", "Transcript", "parse_client_message", "parse_server_message", "printable", "reply_json",
]  # fmt: skip
