"""One household, one answer: which of the clients that heard the same phrase acts on it.

Pure: a function of the candidates (each client's hearing of a phrase), the wall clock passed in
and the names of the clients online. va.server.household.answers is the async edge that feeds it
and waits, bounded, for its verdicts.

A candidate is one client's phrase (its request id): heard when its first audio request came (its
time span, and the loudness the client measured: va.protocol.heard), read when a reading came (the
text, the command, the reading's score, the clients the words address; a later reading replaces
an earlier one until the candidate has its verdict). Two candidates are the same speech when their
spans overlap and their readings agree (the same command, or most of the shorter transcript's
words, in order, in the longer one); a reading too short to tell (the keyword alone) counts as not
read yet. A group of them has one winner:

1. addressed ("computer, kitchen, ..."): the addressed client, whoever heard it best; when it
   did not hear the phrase, the best of those that did (its client relays it there);
2. otherwise the one that heard it best: ``quality`` (SNR, speech level, the reading's score).

A candidate decides at once when nothing better can still come: no client with better loudness
(or the addressed client) is being read, and the other clients online had ``window`` seconds
since its request came to send theirs. Else it waits: for those others, until ``window`` after
its request; for one being read, at most ``max_wait`` after its own reading. Then the group is
decided with what came. A decided group is final: a candidate that joins it later stands down, so
the phrase runs once whatever arrives late. The winner waits only for the others' first requests
(``window``), unless a better-heard reading turns out to be other speech (two rooms at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from va.protocol.heard import Loudness

SNR_WEIGHT_CAP = 40.0
"""Above this SNR (dB) a client hears cleanly enough: its level decides between two such."""
LEVEL_WEIGHT = 0.5
"""dB of quality per dB of speech level (SNR counts 1 per dB: it says more than a mic's gain)."""
SCORE_WEIGHT = 0.5
"""Quality per nat of the reading's score (0 best, clamped at -10: an unsure reading costs 5)."""
SLACK = 0.3
"""Seconds by which two spans may miss each other and still be the same speech (cuts differ)."""
AGREEMENT = 0.6
"""Share of the shorter transcript's words that must appear, in order, in the longer one."""
KEEP = 30.0
"""Seconds a candidate is remembered."""


@dataclass
class Candidate:
    """One client's hearing of one phrase."""

    key: str
    """Unique in the household: server, connection and request id."""
    client: str
    start: float
    """Wall-clock seconds when its speech began (as far as its server can tell)."""
    end: float
    loudness: Loudness
    area: Optional[str] = None
    arrived: float = 0.0
    """When its first request came to its server (wall clock)."""
    words: Optional[Tuple[str, ...]] = None
    """Its first reading's words, keyword left out (None: not read yet)."""
    command: Optional[str] = None
    """The command its reading accepted (None: none)."""
    score: float = 0.0
    addressed: Tuple[str, ...] = ()
    """The clients its words name ("computer, kitchen, ..."): every client of a named area."""
    read_at: Optional[float] = None
    """When it was first read well enough to tell what it is."""

    @property
    def read(self) -> bool:
        """Read well enough to tell whether it is the same speech as another."""
        return self.words is not None and (self.command is not None or len(self.words) >= 2)


@dataclass(frozen=True)
class Verdict:
    winner: str
    """The client that answers."""
    run: bool
    """This candidate's client acts; False: it stands down."""
    heard_by: Tuple[str, ...]
    why: str = ""


@dataclass(frozen=True)
class Decision:
    """A group decided: what the other servers are told."""

    winner: str
    """The winner's key."""
    client: str
    """The winner's name."""
    members: Tuple[str, ...]
    """Every member's key."""
    heard_by: Tuple[str, ...]
    why: str


def words_of(text: str, keyword: Optional[str]) -> Tuple[str, ...]:
    """A transcript's words, lower case, the keyword's words left out."""
    said = re.findall(r"[a-z0-9']+", text.lower())
    skip = set(re.findall(r"[a-z0-9']+", (keyword or "").lower()))
    return tuple(word for word in said if word not in skip)


def quality(candidate: Candidate) -> float:
    """How well it was heard (larger is better); unread, the best its reading could make it."""
    loudness = candidate.loudness
    heard = min(loudness.snr, SNR_WEIGHT_CAP) + LEVEL_WEIGHT * loudness.level
    return heard + SCORE_WEIGHT * max(-10.0, min(0.0, candidate.score)) if candidate.read else heard


def _rank(candidate: Candidate) -> Tuple[float, str]:
    return quality(candidate), candidate.client  # a tie goes to a name, the same on every server


def overlaps(a: Candidate, b: Candidate) -> bool:
    return a.start - SLACK <= b.end and b.start - SLACK <= a.end


def agree(a: Candidate, b: Candidate) -> bool:
    """Whether two readings are of the same speech (both read)."""
    if a.command is not None and a.command == b.command:
        return True
    short, long = sorted((a.words or (), b.words or ()), key=len)
    return len(short) >= 2 and _common(short, long) >= AGREEMENT * len(short)


def _common(a: Sequence[str], b: Sequence[str]) -> int:
    """The length of the longest common subsequence of two word lists."""
    row = [0] * (len(b) + 1)
    for word in a:
        diagonal = 0
        for j, other in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if word == other else max(row[j], row[j - 1])
    return row[-1]


@dataclass
class Arbiter:
    window: float = 0.15
    """Seconds after its request a candidate waits for the requests of the other clients online."""
    max_wait: float = 1.0
    """Seconds after its reading a candidate waits at most for a better-heard (or the addressed)
    client's reading."""
    candidates: Dict[str, Candidate] = field(default_factory=dict)
    verdicts: Dict[str, Verdict] = field(default_factory=dict)
    decisions: List[Decision] = field(default_factory=list)
    """Groups decided here (one alone too: a late member elsewhere must see it decided), not yet
    told to the other servers (the edge empties it)."""

    def heard(self, candidate: Candidate, now: float) -> None:
        """Audio came: a new candidate, or more of one (its span grows, its loudness is newer)."""
        self._forget(now)
        known = self.candidates.get(candidate.key)
        if known is None:
            self.candidates[candidate.key] = candidate
        elif candidate.key not in self.verdicts:
            known.end, known.loudness = max(known.end, candidate.end), candidate.loudness

    def read(self, key: str, words: Tuple[str, ...], command: Optional[str], score: float,
             addressed: Tuple[str, ...], now: float) -> None:
        """A reading of it (the newest counts until it has its verdict)."""
        candidate = self.candidates.get(key)
        if candidate is not None and key not in self.verdicts:
            candidate.words, candidate.command, candidate.score, candidate.addressed = words, command, score, addressed
            if candidate.read_at is None and candidate.read:
                candidate.read_at = now  # its first reading that tells what it is

    def decided(self, decision: Decision) -> None:
        """Another server decided a group: its members here get its verdict."""
        for key in decision.members:
            if key in self.candidates and key not in self.verdicts:
                self.verdicts[key] = Verdict(decision.client, key == decision.winner, decision.heard_by, decision.why)

    def verdict(self, key: str, now: float, online: Iterable[str]) -> Tuple[Optional[Verdict], Optional[float]]:
        """The verdict of a read candidate, or (None, when to ask again)."""
        if key in self.verdicts:
            return self.verdicts[key], None
        me = self.candidates.get(key)
        if me is None:  # forgotten: nobody can be weighed against it any more
            return Verdict("", True, ()), None
        peers = [other for other in self.candidates.values() if other.client != me.client and overlaps(me, other)]
        group = [other for other in peers if other.read and agree(me, other)]
        for other in group:
            if other.key in self.verdicts:
                return self._join(me, self.verdicts[other.key]), None
        pending = [other for other in peers if not other.read]
        members = sorted([me, *group], key=_rank, reverse=True)
        due = self._due(me, members, pending, set(online) - {me.client} - {other.client for other in peers})
        if due is not None and now < due:
            return None, due
        return self._decide(me, members, self._winner(members), pending), None

    # -- the rules ----------------------------------------------------------------------------

    def _due(self, me: Candidate, members: List[Candidate], pending: List[Candidate], absent: set) -> Optional[float]:
        """Until when ``me`` waits (None: it need not)."""
        read_at = me.read_at if me.read_at is not None else me.arrived
        named = next((member.addressed for member in members if member.addressed), ())
        if named:
            if any(member.client in named for member in members):
                return None
            being_read = any(other.client in named for other in pending)
            if being_read or any(name in absent for name in named):
                return read_at + self.max_wait if being_read else me.arrived + self.max_wait
            return None
        waits = []
        if any(_rank(other) > _rank(members[0]) for other in pending):
            waits.append(read_at + self.max_wait)
        if absent:
            waits.append(me.arrived + self.window)
        return max(waits) if waits else None

    @staticmethod
    def _winner(members: List[Candidate]) -> Candidate:
        """The best heard of the addressed clients among ``members`` (sorted best first), else the best."""
        named = next((member.addressed for member in members if member.addressed), ())
        return next((member for member in members if member.client in named), members[0])

    def _decide(self, me: Candidate, members: List[Candidate], winner: Candidate, pending: List[Candidate]) -> Verdict:
        heard_by = tuple(member.client for member in members)
        why = describe(members, winner, pending)
        for member in members:
            self.verdicts[member.key] = Verdict(winner.client, member is winner, heard_by, why)
        self.decisions.append(Decision(winner.key, winner.client, tuple(member.key for member in members), heard_by, why))
        return self.verdicts[me.key]

    def _join(self, me: Candidate, verdict: Verdict) -> Verdict:
        """A late member of a decided group: it stands down."""
        heard_by = verdict.heard_by + ((me.client,) if me.client not in verdict.heard_by else ())
        self.verdicts[me.key] = joined = Verdict(verdict.winner, False, heard_by, verdict.why + f"; {me.client} came late")
        return joined

    def _forget(self, now: float) -> None:
        for key in [key for key, candidate in self.candidates.items() if candidate.end < now - KEEP]:
            del self.candidates[key]
            self.verdicts.pop(key, None)


def describe(members: Sequence[Candidate], winner: Candidate, pending: Sequence[Candidate] = ()) -> str:
    """The evidence, for the log: "heard best: kitchen (-21 dBFS, SNR 43 dB, score -0.4), living-room
    (...); not read yet: hall (...)"."""
    def one(member: Candidate) -> str:
        score = f", score {member.score:.1f}" if member.read else ""
        return f"{member.client} ({member.loudness.level:.0f} dBFS, SNR {member.loudness.snr:.0f} dB{score})"

    rule = "addressed" if winner.client in winner.addressed else "heard best" if len(members) > 1 else "alone"
    unread = f"; not read yet: {', '.join(one(other) for other in pending)}" if pending else ""
    return f"{rule}: " + ", ".join(one(member) for member in members) + unread
