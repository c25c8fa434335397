"""The assistant service: phrases from the listener, transcripts from the server, commands run.

Three kinds of threads, none waiting on another: the listening thread cuts phrases and hands each
to the event loop (``call_soon_threadsafe``); the event loop sends it to the server, reads the
transcript, matches it and submits the command; commands run on the runner's threads, and their
outcome comes back to the loop. So listening never pauses while the server transcribes or a
command runs.

What a transcript leads to is decided in ``va.client.decide`` (another client's commands:
``va.client.remote``); every phrase leaves one record when its story ends (``va.client.record``).
With a server that takes streamed audio, each phrase travels while it is heard and may be decided
at a short pause, before its full pause has passed (``va.client.live``, ``va.client.early``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

from va.client.link import LinkOptions, Reply, ServerLink
from va.client.link_task import close_link, wait_connected
from va.client.decide import after_running, answered, before_running, decision, stood_down
from va.client.early import Habits, judge
from va.client.listener import Listener, Phrase
from va.client.live import HANDLED, LivePhrases
from va.client.remote import Remote, answer_record, client_name
from va.client.microphone import FileSource, Source
from va.client.record import Story, log_story
from va.language.matching import Interpretation
from va.protocol import Error, Hello, Transcript
from va.commands.registry import Registry, load_registry
from va.config.settings import Settings
from va.commands.runner import CommandRunner, Outcome
from va.service.threads import in_daemon_thread

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

STOP_GRACE_SECONDS = 5.0
"""How long stop() waits for transcripts of phrases already sent."""


@dataclass(frozen=True)
class _Heard:
    """A phrase and its transcript, waiting for its command to finish."""

    phrase: Phrase
    text: str
    received_at: float
    result: Interpretation


class Assistant:
    """The ``va client`` service (see ``va.service.daemon``)."""

    name = "va-client"

    def __init__(self, settings: Settings, source: Source, *, dry_run: bool = False, ssl_context: Any = None) -> None:
        """``source``: a ``Microphone`` or a ``FileSource`` (its input done, ``run()`` returns)."""
        self._settings = settings
        self._source = source
        self._dry_run = dry_run
        self._ssl_context = ssl_context
        self._files = isinstance(source, FileSource)
        self._registry = Registry()  # no commands until start() loads them
        commands = settings.commands
        self._runner = CommandRunner(timeout=commands.timeout, workers=4, isolation=commands.isolation)
        self._remote: Remote  # made in start(), before anything uses it
        # made by start() too:
        self._listener: Optional[Listener] = None
        self._link: Optional[ServerLink] = None
        self._link_task: Optional[asyncio.Task[None]] = None
        self._live: Optional[LivePhrases] = None
        self._habits = Habits()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._voice: Any = None  # va.client.speech.voice.Voice when speech.enabled, made by start()
        self._changed = asyncio.Event()
        self._listening_done = False
        self._stopping = False
        self._outstanding = 0  # phrases heard whose record is not written yet
        self.phrases = 0
        self.last_transcript: Optional[str] = None

    # --- Service

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._registry = await in_daemon_thread(load_registry, self._settings.commands, name="va-load-commands")
        self._remote = Remote(self._settings, self._runner, lambda: self._link, self._dry_run)
        if self._settings.speech.enabled:
            self._voice = await asyncio.to_thread(_voice, self._settings)
        microphone = self._settings.microphone
        self._listener = listener = Listener(self._source, microphone, self._hand_over, self._listener_ended,
                                             on_progress=self._progress,
                                             marks=(microphone.early_check, microphone.early_pause,
                                                    microphone.open_pause),
                                             gate=self._voice.gate if self._voice is not None else None)
        if self._settings.client.stream:
            self._live = LivePhrases(lambda: self._link, listener.cut, self._early, self._reply_now,
                                     microphone.early_pause)
        try:
            await asyncio.to_thread(listener.open)
            self._link = link = self._new_link()
            self._link_task = task = asyncio.ensure_future(link.run())
            await wait_connected(link, task, self._settings.server_url)
        except BaseException:  # failed or cancelled before READY: stop() will not be called
            await close_link(self._link, self._link_task)
            await asyncio.to_thread(self._source.__exit__, None, None, None)
            raise
        listener.start()
        _LOGGER.info("Listening on %s; commands go to %s%s", self._source.label, link.url,
                     " (dry run: nothing runs)" if self._dry_run else "")

    async def run(self) -> None:
        """Until stop(), or with --input until every phrase is done; raises if listening failed."""
        while not self._finished():
            self._changed.clear()
            await self._changed.wait()
        if self._listening_done and not self._stopping and not (self._files and _made(self._listener).exhausted):
            raise RuntimeError(f"listening on {self._source.label} stopped (see the errors above)")

    async def stop(self) -> None:
        """Stop listening, wait a little for transcripts in flight, let started commands finish."""
        self._stopping = True
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop, self._settings.microphone.phrase_time_limit + 2)
        link = self._link
        if link is not None and link.connected.is_set() and link.pending:
            await self._until(lambda: not link.pending, STOP_GRACE_SECONDS)
        await close_link(self._link, self._link_task)
        await asyncio.to_thread(self._runner.shutdown, True)
        await asyncio.sleep(0)  # the last outcomes' records, scheduled from the runner's threads
        if self._voice is not None:
            await asyncio.to_thread(_close_voice, self._voice)
        self._changed.set()

    async def reload(self, settings: Settings) -> None:
        """New settings after SIGHUP: reload the command modules, keyword, threshold, server."""
        # a module that hangs at import must not keep SIGTERM from stopping us (va.service.threads)
        registry = await in_daemon_thread(load_registry, settings.commands, name="va-load-commands")
        old, self._settings, self._registry = self._settings, settings, registry
        if settings.commands.timeout != old.commands.timeout:
            self._runner.timeout = settings.commands.timeout
        self._runner.isolation = settings.commands.isolation
        if settings.microphone != old.microphone:
            _LOGGER.warning("Microphone settings take effect when va-client restarts")
        if settings.client.tls != old.client.tls:
            _LOGGER.warning("client.tls takes effect when va-client restarts")
        self._remote.configure(settings)
        link = _made(self._link)
        await link.set_hello(self._hello())
        link.configure(settings.server_url, settings.token)

    def recalibrate(self) -> None:
        """SIGUSR1: measure the ambient noise again, between two phrases."""
        if self._listener is not None:
            self._listener.recalibrate()

    def status(self) -> str:
        link = self._link
        if link is not None and link.connected.is_set():
            server = f"connected to {link.url}"
        else:
            server = f"waiting for {', '.join(self._settings.server_url)}"
        queued = f" ({link.pending} waiting)" if link is not None and link.pending else ""
        last = f", last: {self.last_transcript!r}" if self.last_transcript is not None else ""
        return f"listening on {self._source.label}, {server}{queued}, {self.phrases} phrases{last}"

    def healthy(self) -> bool:
        if self._link_task is not None and self._link_task.done():
            return False
        listener = self._listener
        return listener is not None and (listener.alive or listener.exhausted or self._stopping)

    # --- from the listening thread

    def _hand_over(self, phrase: Phrase) -> None:
        _made(self._loop).call_soon_threadsafe(self._heard, phrase)

    def _progress(self, event: Any) -> None:
        if self._voice is not None:
            self._voice.progress(event)
        if self._live is not None:
            _made(self._loop).call_soon_threadsafe(self._live.progress, event)

    def _listener_ended(self) -> None:
        _made(self._loop).call_soon_threadsafe(self._set_listening_done)

    # --- on the event loop

    def _set_listening_done(self) -> None:
        self._listening_done = True
        self._changed.set()

    def _heard(self, phrase: Phrase) -> None:
        stream = self._live.ended(phrase) if self._live is not None else None
        if stream == HANDLED:
            return
        self.phrases += 1
        self._outstanding += 1
        _made(self._link).submit(phrase, stream)

    def _reply_now(self, phrase: Phrase, reply: Transcript, received_at: float) -> None:
        """A streamed check answers the phrase: it runs early (va.client.live)."""
        self.phrases += 1
        self._outstanding += 1
        self._on_reply(phrase, reply, received_at)

    def _early(self, reply: Transcript) -> Optional[float]:
        """After how much quiet the phrase read so far runs (va.client.early); None: the full pause."""
        if reply.answered_by is not None:  # another client answers it (arbitration)
            return None
        text = reply.text.strip()
        found = self._interpret(text, reply)
        verdict = judge(text, found, reply.reading, self._settings, self._habits)
        _LOGGER.debug("So far %r: %s", text, verdict.why)
        return verdict.wait if verdict.early else None

    def _on_reply(self, phrase: Phrase, reply: Reply, received_at: float) -> None:
        if isinstance(reply, Error):
            self._settle(phrase, Story("error", f"server error: {reply.message}"), received_at)
            return
        text = reply.text.strip()
        self.last_transcript = text
        if self._voice is not None:
            self._voice.reading(text)
        if reply.answered_by is not None:
            self._settle(phrase, stood_down(text, client_name(self._settings), reply.answered_by), received_at)
            return
        result = self._interpret(text, reply)
        heard = _Heard(phrase, text, received_at, result)
        if result.target is not None and result.command is not None and not self._dry_run:
            self._remote.requests.request(result, lambda answer: self._answered(heard, answer))
            return
        story = before_running(text, result, self._dry_run)
        if story is not None or result.command is None:  # before_running tells the story of no command
            self._settle(phrase, story or Story("no-match", result.reason, text), received_at)
            return
        paused = self._live is not None and self._live.paused_inside(phrase.number)
        self._habits.learn(text, result.command, result.args, values=not paused)  # (va.client.early)
        if self._voice is not None:
            self._voice.heard()
        future = self._runner.submit(result.command, result.args)
        future.add_done_callback(lambda done: self._command_done(heard, done))

    def _interpret(self, text: str, reply: Transcript) -> Interpretation:
        """The transcript matched here, or the server's reading of it with this client's grammar."""
        return decision(self._remote.interpret(text, self._registry, self._settings), reply.reading, self._registry)

    def _answered(self, heard: _Heard, answer: Any) -> None:
        record = answer_record(client_name(self._settings), heard.result, answer)
        story = answered(heard.text, heard.result, record, time.monotonic())
        self._settle(heard.phrase, story, heard.received_at, getattr(answer, "value", None))

    def _on_drop(self, phrase: Phrase, why: str) -> None:
        self._settle(phrase, Story("dropped", f"dropped: {why}"), time.monotonic())

    def _command_done(self, heard: _Heard, future: Future) -> None:
        done_at = time.monotonic()  # on the command's thread: the moment it finished
        _made(self._loop).call_soon_threadsafe(self._ran, heard, future.result(), done_at)

    def _ran(self, heard: _Heard, outcome: Outcome, done_at: float) -> None:
        story = after_running(heard.text, heard.result, outcome, done_at)
        self._settle(heard.phrase, story, heard.received_at, outcome.value)

    def _settle(self, phrase: Phrase, story: Story, received_at: float, reply: Any = None) -> None:
        """The phrase's story ended: its record, its answer out loud, and one phrase less to wait for."""
        log_story(_LOGGER, phrase, story, received_at)
        if self._voice is not None:
            self._voice.answer(story.decision, reply)
        self._outstanding -= 1
        self._changed.set()

    # --- helpers

    def _finished(self) -> bool:
        if self._stopping:
            return self._listening_done or self._listener is None or not self._listener.alive
        # with --input: the files are done and so is every phrase heard in them
        return self._listening_done and (self._outstanding <= 0 or not _made(self._listener).exhausted)

    def _new_link(self) -> ServerLink:
        options = LinkOptions.from_settings(self._settings, self._ssl_context)
        return ServerLink(self._settings.server_url, self._hello(), self._on_reply, self._on_drop,
                          on_event=lambda event: self._remote.on_event(event, self._registry), options=options,
                          on_partial=self._partial)

    def _partial(self, reply: Transcript, received_at: float) -> None:
        if self._voice is not None:
            self._voice.reading(reply.text)
        if self._live is not None:
            self._live.partial(reply, received_at)

    def _hello(self) -> Hello:
        hello = self._remote.hello(self._settings, self._registry)
        return dataclasses.replace(hello, stream=1 if self._settings.client.stream else 0, arbitration=True)

    async def _until(self, condition: Callable[[], bool], timeout: float) -> None:
        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            _LOGGER.warning("Stopping with %d phrase(s) still waiting for the server", _made(self._link).pending)


def _voice(settings: Settings) -> Any:
    """The client's voice (loads Piper: about 2 s), the one `va.say` speaks with."""
    from va.client.speech.voice import Voice, make_current

    voice = Voice(settings.speech, settings.sounds, keyword=settings.keyword)
    make_current(voice)
    return voice


def _close_voice(voice: Any) -> None:
    from va.client.speech.voice import make_current

    make_current(None)
    voice.close()


def _made(part: Optional[T]) -> T:
    """A part that start() makes, used once it has."""
    if part is None:
        raise RuntimeError("the assistant is not started")
    return part
