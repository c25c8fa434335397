"""The server's edge of the household's arbitration (va.server.household.arbitration).

Clients whose hello says ``"arbitration": true`` and names them take part. Each phrase of theirs
is a candidate from its first audio on (``streamed``, or ``heard`` for a request sent whole): its
span, and its loudness as measured so far. Its reply waits here (``settle``) for the arbiter's
verdict (bounded by ``server.arbitration.window`` and ``max_wait``); a client that stands down
gets its transcript with ``answered_by`` and ``heard_by`` and runs nothing. A partial reply that
nothing could run early on (no accepted reading, or words that go on) passes at once.

With ``share`` set (va.server.household.arbitration_broker), candidates, readings and decisions
go to the other servers and theirs come in through ``on_remote``: every server weighs the same
candidates, and a group decided anywhere is decided everywhere.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import logging
import time
import weakref
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple

from va.language.ending import ends_open
from va.language.targeting import Target, address
from va.language.matching import after_keyword
from va.language.words import tokenize
from va.protocol import AudioInput, Hello, Transcript
from va.protocol.heard import Loudness, Meter, measure
from va.server.household.arbitration import Arbiter, Candidate, Decision, Verdict, words_of

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Member:
    name: str
    area: Optional[str]
    keyword: Optional[str]
    connection: int
    """This server's number for the connection: two connections with one name keep their phrases apart."""


_TELL_EVERY = 0.2
"""Seconds between two updates of a streamed phrase's loudness sent to the other servers."""


@dataclasses.dataclass
class _Metered:
    meter: Meter
    started: float
    told: float = 0.0


class Answers:
    def __init__(self, settings: Any, server_id: str, online: Callable[[], Set[str]] = set,
                 clock: Callable[[], float] = time.time) -> None:
        """``settings``: ``server.arbitration``; ``online()``: the names of other servers' clients
        (the directory's); ``clock``: wall-clock seconds (shared by the servers)."""
        self.settings = settings
        self.server_id = server_id
        self.arbiter = Arbiter(settings.window, settings.max_wait)
        self.share: Optional[Callable[[Dict[str, Any]], None]] = None
        """Publishes a message to the other servers (None: this server alone)."""
        self.areas: Dict[str, Optional[str]] = {}
        """Every known client's area (its own and the other servers'): who the words may address."""
        self._online = online
        self._clock = clock
        self._members: "weakref.WeakKeyDictionary[Any, _Member]" = weakref.WeakKeyDictionary()
        self._changed = asyncio.Condition()
        self._unnamed = itertools.count()
        self._connections = itertools.count(1)
        self._meters: Dict[str, _Metered] = {}
        """The loudness of the phrases being streamed, by candidate key."""
        self._logged: "collections.OrderedDict[str, None]" = collections.OrderedDict()

    def configure(self, settings: Any) -> None:
        """New ``server.arbitration`` settings (a reload); the broker link stays as it was."""
        self.settings = settings
        self.arbiter.window, self.arbiter.max_wait = settings.window, settings.max_wait

    def hello(self, client: Any, hello: Hello) -> None:
        if self.settings.enabled and hello.arbitration and hello.client:
            self._members[client] = _Member(hello.client, hello.area, hello.keyword, next(self._connections))
            self.areas[hello.client] = hello.area
        else:
            self._members.pop(client, None)

    def left(self, client: Any) -> None:
        self._members.pop(client, None)

    def streamed(self, client: Any, frame: bytes) -> None:
        """A frame of a phrase a member streams (va.protocol.stream): the phrase is a candidate
        from its first audio on, its loudness measured as it comes, so that the others know who
        hears it, and how well, before anything is read."""
        member = self._members.get(client)
        if member is None or len(frame) < 6:
            return
        request = int.from_bytes(frame[2:6], "big")
        key = f"{self.server_id}/{member.connection}/{request}"
        meter = self._meters.get(key)
        if meter is None:
            if len(self._meters) >= 64:
                self._meters.pop(next(iter(self._meters)))
            meter = self._meters[key] = _Metered(Meter(), self._clock())
        meter.meter.add(frame[6:])
        now = self._clock()
        self._candidate(member, key, meter.started, now, meter.meter.loudness(), now - meter.told >= _TELL_EVERY)

    def heard(self, client: Any, audio: AudioInput) -> Optional[str]:
        """A request of a member came: its candidate's key (None: not arbitrated)."""
        member = self._members.get(client)
        if member is None or not self.settings.enabled:
            return None
        request = audio.id if audio.id is not None else f"n{next(self._unnamed)}"
        key = f"{self.server_id}/{member.connection}/{request}"
        now = self._clock()
        meter = self._meters.get(key)
        loudness = audio.loudness or (meter.meter.loudness() if meter is not None else measure(audio.pcm))
        self._candidate(member, key, now - audio.duration, now, loudness, True)
        return key

    def _candidate(self, member: _Member, key: str, start: float, now: float, loudness: Loudness, tell: bool) -> None:
        known = key in self.arbiter.candidates
        self.arbiter.heard(Candidate(key, member.name, start, now, loudness, member.area, now), now)
        if not known or tell:
            if key in self._meters:
                self._meters[key].told = now
            self._tell({"kind": "heard", "key": key, "client": member.name, "area": member.area, "start": start,
                        "end": now, "level": loudness.level, "snr": loudness.snr})
        if not known:
            self._wake()

    async def settle(self, client: Any, key: Optional[str], coming: Awaitable[Any]) -> Any:
        """The reply ``coming`` resolves to, as it goes to the client: unchanged, or saying who
        answers instead (unchanged too if arbitration fails: a bug here must not cost a reply)."""
        reply = await coming
        member = self._members.get(client)
        if key is None or member is None or not isinstance(reply, Transcript) or not reply.text.strip():
            return reply
        try:
            return await self._arbitrated(member, key, reply)
        except Exception:  # noqa: BLE001 - the reply goes out as if this client were alone
            _LOGGER.exception("arbitrating %s's phrase failed", member.name)
            return reply

    async def _arbitrated(self, member: _Member, key: str, reply: Transcript) -> Transcript:
        self._read(member, key, reply)
        if not self._decides(key, reply):
            return reply
        started = self._clock()
        verdict = await self._verdict(key)
        if key not in self._logged:
            self._logged[key] = None
            while len(self._logged) > 256:
                self._logged.popitem(last=False)
            self._log(member, reply, verdict, self._clock() - started)
        if verdict.run:
            return reply
        return dataclasses.replace(reply, answered_by=verdict.winner, heard_by=verdict.heard_by)

    def on_remote(self, message: Dict[str, Any]) -> None:
        """A candidate, reading or decision from another server."""
        kind = message.get("kind")
        if kind == "heard":
            loudness = Loudness(float(message["level"]), float(message["snr"]))
            start, end = float(message["start"]), float(message["end"])
            name, area = str(message["client"]), message.get("area")
            self.areas[name] = area if isinstance(area, str) else None
            self.arbiter.heard(Candidate(str(message["key"]), name, start, end, loudness, self.areas[name], end), self._clock())
        elif kind == "read":
            self.arbiter.read(str(message["key"]), tuple(map(str, message["words"])), message.get("command"),
                              float(message["score"]), tuple(map(str, message["addressed"])), self._clock())
        elif kind == "decided":
            self.arbiter.decided(Decision(str(message["winner"]), str(message["client"]), tuple(map(str, message["members"])),
                                          tuple(map(str, message["heard_by"])), str(message.get("why", ""))))
        else:
            return
        self._wake()

    # -- inside ---------------------------------------------------------------------------------

    def _decides(self, key: str, reply: Transcript) -> bool:
        """Whether the client may act on ``reply``, so that it needs a verdict: a whole phrase
        read well enough to tell what it is, or a partial one that may run early (an accepted
        reading that does not end where speech goes on)."""
        candidate = self.arbiter.candidates.get(key)
        if candidate is None or not candidate.read:
            return False
        if not reply.partial:
            return True
        reading = reply.reading
        return (reading is None or reading.accepted) and not ends_open(reply.text)

    def _read(self, member: _Member, key: str, reply: Transcript) -> None:
        candidate = self.arbiter.candidates.get(key)
        if candidate is None or key in self.arbiter.verdicts:
            return
        reading = reply.reading
        command = reading.command if reading is not None and reading.accepted else None
        score = reading.score if reading is not None else 0.0
        words, addressed = words_of(reply.text, member.keyword), self._addressed(reply.text, member.keyword)
        self.arbiter.read(key, words, command, score, addressed, self._clock())
        self._tell({"kind": "read", "key": key, "words": list(words), "command": command, "score": score,
                    "addressed": list(addressed)})
        self._wake()

    def _addressed(self, text: str, keyword: Optional[str]) -> Tuple[str, ...]:
        """The clients the words name: by name, or every client of a named area."""
        rest = after_keyword(tokenize(text), keyword or "")
        targets = [Target(name, area, None) for name, area in self.areas.items()]
        named = address(rest, targets) if rest and targets else None
        return tuple(sorted(target.name for target in named[0])) if named else ()

    async def _verdict(self, key: str) -> Verdict:
        while True:
            online = {member.name for member in self._members.values()} | set(self._online())
            verdict, due = self.arbiter.verdict(key, self._clock(), online)
            self._send_decisions()
            if verdict is not None:
                return verdict
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), max(0.0, (due or 0.0) - self._clock()))
                except asyncio.TimeoutError:
                    pass

    def _send_decisions(self) -> None:
        decisions, self.arbiter.decisions = self.arbiter.decisions, []
        for decision in decisions:
            self._tell({"kind": "decided", **dataclasses.asdict(decision)})
        if decisions:
            self._wake()

    def _wake(self) -> None:
        asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _tell(self, message: Dict[str, Any]) -> None:
        if self.share is not None:
            self.share({"server": self.server_id, **message})

    def _log(self, member: _Member, reply: Transcript, verdict: Verdict, waited: float) -> None:
        if len(verdict.heard_by) <= 1 and verdict.run and waited < 0.001:
            return
        what = "answers" if verdict.run else f"stands down: {verdict.winner} answers"
        _LOGGER.info("%s %s %r (heard by %s; %s; waited %d ms)", member.name, what, reply.text.strip(),
                     ", ".join(verdict.heard_by), verdict.why, round(waited * 1000),
                     extra={"VA_CLIENT": member.name, "VA_ANSWERED_BY": verdict.winner,
                            "VA_ARBITRATION_WAIT_MS": round(waited * 1000)})
