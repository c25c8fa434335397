"""Issue 24 A, C, D against a real `va server` (the scenarios of bench/relay_attacks.py, which
also measures the server's RSS and CPU and the probe's latency): a relay member that stops
reading costs only itself, limits hold per connection and the directory is sent per window, not
per join, and what a peer sends cannot forge or flood a log line. The eviction of a member that
does not read is also checked on the outbox itself, with a member whose send never returns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterator

import pytest

from bench import relay_attacks
from bench.procs import stop as stop_process
from va.protocol.relay import Directory, RunResult
from va.server.household import outbox as outbox_module
from va.server.household.outbox import Outboxes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    process, port = relay_attacks.start_server(tmp_path_factory.mktemp("relay"))
    process.port = port  # type: ignore[attr-defined]
    yield process
    stop_process(process)


@pytest.mark.slow
def test_a_member_that_stops_reading_does_not_hold_up_anyone_else(server):
    seen = asyncio.run(relay_attacks.silent_member(server.port, server.pid, server.log, members=20, commands=1000, evict_wait=1.0))
    assert seen["latency_during_s"] is not None and seen["latency_during_s"] < 5.0, seen
    assert seen["latency_after_s"] is not None and seen["latency_after_s"] < 5.0, seen
    assert seen["clients_after"] == seen["expected_clients"], seen  # /health counts real connections


@pytest.mark.slow
def test_limits_are_per_connection_and_joins_cost_a_directory_a_window(server):
    names = asyncio.run(relay_attacks.many_names(server.port, server.pid, names=30, runs=64))
    assert names["runs_delivered"] <= 64, names  # 64 a connection, whatever names it says hello under
    assert names["latency_s"] is not None and names["latency_s"] < 5.0, names
    joined = asyncio.run(relay_attacks.joins(server.port, server.pid, members=40, commands=50))
    # each member is sent the directory at most once a window (0.25 s) while the joins last, not once a join
    windows = joined["settled_s"] / outbox_module.DIRECTORY_DELAY + 2
    assert joined["members"] <= joined["directories"] <= joined["members"] * windows, joined
    assert joined["directories"] < joined["members"] * (joined["members"] + 1) / 4, joined  # a join each: 820


@pytest.mark.slow
def test_a_peer_cannot_forge_or_flood_a_log_line(server):
    seen = asyncio.run(relay_attacks.forged_lines(server.port, server.log))
    assert seen["delivered"] == 0, seen  # neither run reached the target
    assert "run needs a 'command'" in seen["errors"][0] and "run 'args'" in seen["errors"][1], seen
    assert not seen["forged_line_in_log"] and seen["longest_line"] < 1000, seen
    assert "kitchen\\u200b" in seen["listed"] and "kitchen\u200b" not in seen["listed"], seen  # seen for what it is


def test_a_member_whose_send_never_returns_is_let_go_and_the_others_are_still_served(monkeypatch):
    monkeypatch.setattr(outbox_module, "SEND_TIMEOUT", 0.2)
    monkeypatch.setattr(outbox_module, "DIRECTORY_DELAY", 0.0)
    sent: dict = {"stuck": [], "flooded-never-drained": [], "good": []}
    evicted: list = []

    async def send(member: str, event: Any) -> None:
        if member == "stuck":
            await asyncio.sleep(3600)  # a full socket that is never read
        sent[member].append(event)
        await asyncio.sleep(0)

    async def scenario() -> float:
        boxes = Outboxes(send, lambda member, why: evicted.append((member, why)), lambda: Directory(()))
        started = time.monotonic()
        for index in range(outbox_module.MAX_QUEUED + 1):  # a member that never reads its answers
            boxes.post("flooded-never-drained", RunResult(str(index), "refused"))
        boxes.post("stuck", RunResult("a", "ok"))
        boxes.post_directory("good")
        boxes.post("good", RunResult("b", "ok"))
        while len(evicted) < 2 and time.monotonic() - started < 5:
            await asyncio.sleep(0.01)
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert [member for member, _ in evicted] == ["flooded-never-drained", "stuck"], evicted
    assert "events unsent" in evicted[0][1] and "waited" in evicted[1][1]
    assert took < 2.0
    assert [event.TYPE for event in sent["good"]] == ["run_result", "directory"]
