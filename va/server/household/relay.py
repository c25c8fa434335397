"""The server's side of commands across clients: the directory pushed to its members, and
``run`` requests relayed from an origin to a target with the outcome relayed back.

- A request for a target that is not connected is answered "offline" at once.
- A request waits for its target at most its time-to-live (``ttl``, capped by MAX_TTL): when
  the target drops before answering, the request is sent again if it comes back in time, on
  the new connection, with the same id (the target remembers what it ran, so it runs once).
  When the time-to-live runs out with the target away, the origin gets "offline" and the request
  is forgotten: it never runs later.
- A request delivered on the target's live connection is running there: its answer is awaited
  beyond the time-to-live (the target's own command timeout bounds it), unless the target leaves.
- The origin is whoever owns the name of the connection the request came on; a ``run`` never
  chooses its own ``origin``. It reaches the target ``verified`` when that name was proved by a
  key (va.server.household.identities), with the server's own token when it has one (the origin's otherwise; none on the broker).
- Nothing here waits on a member: what is sent goes through va.server.household.outbox (one
  bounded queue per member; a member that does not read is let go).
- Limits count per connection, not per name (a connection may say hello under many names):
  MAX_PENDING_PER_CONNECTION requests in flight, MAX_PENDING in all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Set

from va.protocol import Hello
from va.protocol.relay import MAX_NAME_LENGTH, DirectoryQuery, Peer, Run, RunResult
from va.server.household.directory import ClientDirectory
from va.server.household.outbox import Outboxes
from va.server.limits import Burst

_LOGGER = logging.getLogger(__name__)

DEFAULT_TTL = 10.0
MAX_TTL = 120.0
MAX_PENDING_PER_CONNECTION = 64
MAX_PENDING = 1024


@dataclasses.dataclass(eq=False)
class _Pending:
    origin: str
    target: str
    asker: Any
    """The connection the request came on (its limits are counted against it)."""
    run: Run
    """As the target gets it: with ``origin``, without ``target`` and ``ttl``."""
    timer: Optional[asyncio.TimerHandle] = None
    delivered_to: Any = None
    """The target connection it was last sent on (None: not on the current one)."""
    sent: bool = False
    """Sent at least once: when the target leaves, it may have run."""
    expired: bool = False


class RelayHub:
    """Directory and relay of one server; ``send(client, event)`` writes to a connection."""

    def __init__(self, send: Callable[[Any, Any], Awaitable[None]],
                 evict: Callable[[Any, str], None] = lambda member, why: None) -> None:
        """``send(client, event)`` writes to a connection; ``evict(client, why)`` closes one that does not read."""
        self.directory = ClientDirectory()
        self._outboxes = Outboxes(send, evict, self.directory.snapshot)
        self._members: Set[Any] = set()
        self._pending: Dict[tuple, _Pending] = {}
        self._refused = Burst("refused %d run request(s), the last from %s: %s", logging.INFO)
        self.token: Optional[str] = None
        """The server's token: what a target that has one is sent with each request."""
        self.on_change: Optional[Callable[[], None]] = None
        """Called when the directory changed (va.server.household.federation publishes this server's part)."""

    async def hello(self, client: Any, hello: Hello) -> None:
        """After ``ready``: a client that joins gets its waiting requests, then everyone the directory."""
        if not (hello.relay and hello.client):
            return
        if len(hello.client) > MAX_NAME_LENGTH or len(hello.area or "") > MAX_NAME_LENGTH:
            _LOGGER.warning("not listing %s in the directory: a name or area over %d characters", client, MAX_NAME_LENGTH)
            return
        self.directory.join(client, hello)
        self._members.add(client)
        for pending in self._for_target(hello.client):
            self._deliver(pending, client)
        self._broadcast()

    async def joined(self, client: Any, peer: Peer, broadcast: bool = True) -> None:
        """A client of another server (va.server.household.federation) joins: its waiting requests,
        then the directory (``broadcast``: now; else the caller calls ``changed()`` once for many)."""
        self.directory.add(client, peer)
        for pending in self._for_target(peer.name):
            self._deliver(pending, client)
        if broadcast:
            self._broadcast()

    async def left(self, client: Any, broadcast: bool = True) -> None:
        self._members.discard(client)
        self._outboxes.close(client)
        name = self.directory.leave(client)
        if name is None:
            return
        if self.directory.online(name) is not None:  # an older connection of that name took it back
            for pending in self._for_target(name):
                self._deliver(pending, self.directory.online(name))
        for pending in self._for_target(name):
            if pending.delivered_to is client:
                pending.delivered_to = None
            if pending.expired and pending.delivered_to is None:
                self._answer(pending, "offline", f"{name} went offline before answering (it may have run)")
        if broadcast:
            self._broadcast()

    def changed(self) -> None:
        """Tell every member the directory (after ``joined``/``left`` with ``broadcast=False``)."""
        self._broadcast()

    async def on_event(self, client: Any, event: Any) -> None:
        if isinstance(event, DirectoryQuery):
            self._outboxes.post(client, self.directory.snapshot())
        elif isinstance(event, Run):
            self._request(client, event)
        elif isinstance(event, RunResult):
            self._result(client, event)

    async def close(self, timeout: float = 2.0) -> None:
        """The server stops: every request waiting is answered "offline", and sent (within ``timeout``)."""
        for pending in list(self._pending.values()):
            self._answer(pending, "offline", "the server is stopping" + (" (it may have run)" if pending.sent else ""))
        await self._outboxes.flush(timeout)

    # -- requests -------------------------------------------------------------------------------

    def _request(self, client: Any, run: Run) -> None:
        origin = self.directory.name_of(client)
        why = self._refusal(origin, client, run)
        if why is not None or origin is None or run.target is None:
            self._refused.hit(origin or client, why)
            self._outboxes.post(client, RunResult(run.id, "refused", error=why, target=run.target))
            return
        key, name = (origin, run.id), run.target
        if key in self._pending:  # the origin reconnected and asks again: it is already on its way
            return
        target = self.directory.online(name)
        if target is None:
            why = f"{name} is offline" if self.directory.known(name) else f"no client called {name} is connected"
            self._outboxes.post(client, RunResult(run.id, "offline", error=why, target=name))
            return
        forwarded = dataclasses.replace(run, origin=origin, target=None, ttl=None, verified=_verified(client, run) or None)
        pending = _Pending(origin, name, client, forwarded)
        ttl = min(run.ttl if run.ttl is not None else DEFAULT_TTL, MAX_TTL)
        pending.timer = asyncio.get_running_loop().call_later(ttl, self._expire, key)
        self._pending[key] = pending
        self._deliver(pending, target)

    def _refusal(self, origin: Optional[str], client: Any, run: Run) -> Optional[str]:
        if origin is None:
            return "say hello with a client name and \"relay\": true first"
        if not run.target:
            return "a run request needs a 'target'"
        if sum(pending.asker is client for pending in self._pending.values()) >= MAX_PENDING_PER_CONNECTION:
            return f"too many requests in flight (at most {MAX_PENDING_PER_CONNECTION} a connection)"
        if len(self._pending) >= MAX_PENDING:
            return f"too many requests in flight on this server (at most {MAX_PENDING})"
        return None

    def _deliver(self, pending: _Pending, target: Any) -> None:
        if pending.delivered_to is target:
            return
        pending.delivered_to, pending.sent = target, True
        _LOGGER.debug("relaying %s's %s to %s (id %s)", pending.origin, pending.run.command, pending.target, pending.run.id)
        run = pending.run
        if getattr(target, "takes_ttl", False) and pending.timer is not None:
            # a client of another server (va.server.household.federation): its server waits the time left, no more
            run = dataclasses.replace(run, ttl=max(0.0, pending.timer.when() - asyncio.get_running_loop().time()), token=None)
        elif self.token is not None:  # a local target: the server's own token (a keyed origin may have none)
            run = dataclasses.replace(run, token=self.token)
        self._outboxes.post(target, run)

    def _result(self, client: Any, result: RunResult) -> None:
        target = self.directory.name_of(client)
        pending = next((p for p in self._pending.values() if p.run.id == result.id and p.target == target), None)
        if pending is None:
            _LOGGER.debug("a result from %s for %s, which nobody waits for", target or client, result.id)
            return
        self._answer(pending, result.outcome, result.error, result.value)

    def _expire(self, key: tuple) -> None:
        pending = self._pending.get(key)
        if pending is None:
            return
        target = self.directory.online(pending.target)
        if target is not None and pending.delivered_to is target:
            pending.expired = True  # running on the live connection: its answer will come
            return
        why = f"{pending.target} went offline before answering (it may have run)" if pending.sent else f"{pending.target} is offline"
        self._answer(pending, "offline", why)

    def _answer(self, pending: _Pending, outcome: str, error: Optional[str], value: Any = None) -> None:
        """Send the origin its answer and forget the request."""
        self._pending.pop((pending.origin, pending.run.id), None)
        if pending.timer is not None:
            pending.timer.cancel()
        origin = self.directory.online(pending.origin)
        if origin is None:
            _LOGGER.debug("%s left before the answer to %s came", pending.origin, pending.run.id)
            return
        self._outboxes.post(origin, RunResult(pending.run.id, outcome, value, error, pending.target))

    # -- helpers --------------------------------------------------------------------------------

    def _for_target(self, name: str) -> list:
        return [pending for pending in self._pending.values() if pending.target == name]

    def _broadcast(self) -> None:
        if self.on_change is not None:
            self.on_change()
        self._outboxes.changed()
        for member in self._members:
            self._outboxes.post_directory(member)


def _verified(client: Any, run: Run) -> bool:
    """Whether the origin proved its name: by its key on this server, or (a client of another
    server) by the signed word of that server (va.server.household.federation checked it)."""
    if getattr(client, "vouched_by_server", False):
        return run.verified is True
    return getattr(client, "identity", None) is not None
