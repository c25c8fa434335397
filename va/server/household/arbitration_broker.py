"""The household's arbitration across servers: candidates, readings and decisions through the broker.

Each server with ``server.broker.url`` set holds a second MQTT connection (va.server.household.broker's
``BrokerLink``, with its own client id) for one topic, ``<prefix>/arbitration``: every server
publishes there what its clients heard and read and the groups it decided
(va.server.household.answers), and hears the others'. Its messages are small and not retained;
one lost costs a late or double decision, never a stuck reply (every wait is bounded).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Optional

from va.server.household.answers import Answers

_LOGGER = logging.getLogger(__name__)


class ArbitrationBroker:
    def __init__(self, answers: Answers, settings: Any) -> None:
        from va.server.household.broker import BrokerLink  # imported late: paho-mqtt is optional

        prefix = settings.topic_prefix.strip("/")
        self.topic = f"{prefix}/arbitration"
        self._answers = answers
        self.link = BrokerLink(settings.url, f"{answers.server_id}-arbitration", (self.topic,),
                               f"{prefix}/arbitration-gone/{answers.server_id}", (settings.username, settings.password))

    def start(self) -> None:
        self._answers.share = self._publish
        self.link.start(self._deliver)

    async def stop(self) -> None:
        self._answers.share = None
        await asyncio.to_thread(self.link.stop)

    def _publish(self, message: dict) -> None:
        if self.link.connected:
            self.link.publish(self.topic, json.dumps(message).encode())

    def _deliver(self, kind: str, value: Any) -> None:
        if kind != "message":
            return
        try:
            message = json.loads(value[1])
            if message.get("server") != self._answers.server_id:
                self._answers.on_remote(message)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            _LOGGER.warning("a bad arbitration message from the broker: %s", error)


async def start_arbitration_broker(answers: Answers, settings: Any) -> Optional[ArbitrationBroker]:
    """The arbitration's broker link, started (None when ``server.broker.url`` is not set)."""
    if settings.url is None or not answers.settings.enabled:
        return None
    broker = ArbitrationBroker(answers, settings)
    broker.start()
    return broker
