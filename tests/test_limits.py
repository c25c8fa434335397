"""va.server.limits.Burst: one line for the first of a run of like events, then one with the count."""

from __future__ import annotations

import logging

from va.server.limits import Burst


def test_a_run_of_events_is_two_lines_not_one_each(caplog):
    now = [100.0]
    burst = Burst("refused %d connection(s), the last from %s", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for attempt in range(50):
            burst.hit(f"10.0.0.{attempt}")
        now[0] += 30
        burst.flush()
        burst.flush()  # nothing more to say
    assert [record.getMessage() for record in caplog.records] == [
        "refused 1 connection(s), the last from 10.0.0.0",
        "refused 49 connection(s), the last from 10.0.0.49 (in the last 30 s)",
    ]


def test_after_a_flush_the_next_event_is_news_again(caplog):
    burst = Burst("dropped %d", clock=lambda: 0.0)
    with caplog.at_level(logging.WARNING):
        burst.hit()
        burst.flush()
        burst.hit()
    assert [record.getMessage() for record in caplog.records] == ["dropped 1", "dropped 1"]
