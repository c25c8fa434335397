"""One worker thread that runs the speech engine for every client of the server.

Requests wait in a bounded queue; the worker takes everything that is waiting (up to
``batch_size``) and decodes it in one ``transcribe_batch`` call, so many clients talking at
once cost about one decoding pass, and the event loop never waits on the model.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence

from va.stt.audio import pcm16_to_float, resample
from va.stt.base import Engine, Transcription

if TYPE_CHECKING:
    from va.stt.base import Audio
from va.protocol import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)
_STOP = object()


class Busy(Exception):
    """The queue is full; the client should try again later."""


@dataclass(frozen=True)
class Result:
    """What became of one request: a transcription or the error that stopped it."""

    transcription: Optional[Transcription] = None
    """What the engine heard, when it succeeded."""
    error: Optional[str] = None
    processing_ms: float = 0.0
    """From submit() until the result was ready, queueing included."""
    reading: Any = None
    """What the request's judge made of it (va.server.recognition.recognizer: a va.protocol.Reading), if it had one."""


@dataclass
class _Request:
    pcm: bytes
    rate: int
    prompt: Optional[str]
    future: asyncio.Future
    received: float = field(default_factory=time.monotonic)
    judge: Optional[Callable[[Any, Any], Any]] = None


class Transcriber:
    """Runs ``engine`` in one thread, fed by a queue of at most ``queue_size`` requests."""

    def __init__(self, engine: Engine, queue_size: int, batch_size: int) -> None:
        self.engine = engine
        """Swapped whole on reload; the worker reads it once per batch."""
        self.batch_size = max(1, batch_size)
        self.served = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._busy = 0  # requests taken off the queue and not yet answered
        self._thread = threading.Thread(target=self._run, name="va-transcriber", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def depth(self) -> int:
        """Requests waiting or being decoded."""
        return self._queue.qsize() + self._busy

    def submit(
        self, pcm: bytes, rate: int, prompt: Optional[str], judge: Optional[Callable[[Any, Any], Any]] = None
    ) -> asyncio.Future:
        """Queue a request from the event loop; the future resolves to an ``Result``.

        ``judge(transcription, utterance)`` runs on the worker after the free decode, with the
        engine's encoded audio (``engine.judge``; None for engines without it) and its result
        becomes ``Result.reading``. Raises ``Busy`` when the queue is full.
        """
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Request(pcm, rate, prompt, future, judge=judge))
        except queue.Full:
            raise Busy() from None
        return future

    def close(self) -> None:
        """Blocking: answer what is queued, then end the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch and batch[-1] is _STOP:
                self._process(batch[:-1])
                return
            self._process(batch)

    def _next_batch(self) -> List[Any]:
        batch = [self._queue.get()]
        while batch[-1] is not _STOP and len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._busy = len(batch)
        return batch

    def _process(self, batch: Sequence[_Request]) -> None:
        batch = [request for request in batch if not request.future.cancelled()]  # superseded (va.server.stream)
        if not batch:
            return
        plain = [request for request in batch if request.judge is None]
        judged = [request for request in batch if request.judge is not None]
        done = dict(zip(map(id, plain), _transcribe(self.engine, plain) if plain else []))
        done.update(zip(map(id, judged), _judged(self.engine, judged) if judged else []))
        outcomes = [done[id(request)] for request in batch]
        self._busy = 0
        self.served += sum(outcome.error is None for outcome in outcomes)
        for request, outcome in zip(batch, outcomes):
            _resolve(request.future, outcome)


def _transcribe(engine: Engine, batch: Sequence[_Request]) -> List[Result]:
    """Decode a batch; if the batch call fails, retry one by one so one bad request fails alone."""
    try:
        audios = [_to_float(request) for request in batch]
        if len(batch) == 1:
            results = [engine.transcribe(audios[0], prompt=batch[0].prompt)]
        else:
            _LOGGER.debug("decoding a batch of %d", len(batch))
            results = list(engine.transcribe_batch(audios, [request.prompt for request in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"engine returned {len(results)} results for {len(batch)} requests")
    except Exception as error:  # the engine is third-party code: anything can come out
        if len(batch) > 1:
            _LOGGER.warning("batch of %d failed (%s); decoding one by one", len(batch), error)
            return [outcome for request in batch for outcome in _transcribe(engine, [request])]
        _LOGGER.exception("transcription failed")
        return [Result(error=f"transcription failed: {error}", processing_ms=_elapsed_ms(batch[0]))]
    return [Result(result, processing_ms=_elapsed_ms(request)) for request, result in zip(batch, results)]


def _judged(engine: Engine, batch: Sequence[_Request]) -> List[Result]:
    """Decode a batch of requests with a judge and judge each (engine.judge_batch: one encoder
    pass for the batch); if that fails, one by one so one bad request fails alone."""
    judges = [request.judge for request in batch]
    judge_batch = getattr(engine, "judge_batch", None)
    try:
        audios = [_to_float(request) for request in batch]
        if judge_batch is not None:
            pairs = list(judge_batch(audios, [request.prompt for request in batch], judges))
        else:  # an engine that cannot judge texts against the audio: the free transcript alone
            results = [engine.transcribe(audio, prompt=request.prompt) for audio, request in zip(audios, batch)]
            pairs = [(result, judge(result, None)) for result, judge in zip(results, judges) if judge is not None]
        if len(pairs) != len(batch):
            raise RuntimeError(f"engine returned {len(pairs)} results for {len(batch)} requests")
    except Exception as error:  # the engine and the judge are third-party or new code: fail this one only
        if len(batch) > 1:
            _LOGGER.warning("batch of %d failed (%s); decoding one by one", len(batch), error)
            return [outcome for request in batch for outcome in _judged(engine, [request])]
        _LOGGER.exception("transcription failed")
        return [Result(error=f"transcription failed: {error}", processing_ms=_elapsed_ms(batch[0]))]
    return [Result(result, processing_ms=_elapsed_ms(request), reading=reading)
            for request, (result, reading) in zip(batch, pairs)]


def _to_float(request: _Request) -> Audio:
    audio = pcm16_to_float(request.pcm)
    if request.rate != SAMPLE_RATE:
        audio = resample(audio, request.rate, SAMPLE_RATE)
    return audio


def _elapsed_ms(request: _Request) -> float:
    return (time.monotonic() - request.received) * 1000.0


def _resolve(future: asyncio.Future, outcome: Result) -> None:
    def settle() -> None:
        if not future.done():
            future.set_result(outcome)

    try:
        future.get_loop().call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is gone: nobody is waiting for this reply any more
        _LOGGER.debug("dropped a result: event loop closed")
