"""One MQTT connection to the broker the servers behind a balancer share (``server.broker``).

paho-mqtt runs the connection in its own thread: it connects, keeps alive, and reconnects with a
back-off when the broker goes away, and on every (re)connection this module subscribes again.
What arrives (messages, and "connected"/"lost") is handed to the event loop in the order it came,
through ``deliver`` called with ``loop.call_soon_threadsafe``. ``publish`` may be called from the
event loop: paho queues it for its thread.

The will: when the connection drops without a goodbye (the server was killed, or lost its
network), the broker publishes ``will`` (a topic, an empty retained payload), which clears the
retained message at that topic.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any, Callable, Optional, Sequence, Tuple, Union
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from va.config.checks import masked

__all__ = ["BrokerLink", "masked"]

_LOGGER = logging.getLogger(__name__)

KEEPALIVE = 10
"""Seconds between pings: a broker that hears nothing for 1.5 times that drops us (and sends the will)."""
RECONNECT_DELAYS = (1, 8)
QOS = 1
"""At least once; the relay makes it exactly once (request ids)."""

Delivery = Callable[[str, Any], None]
"""``deliver("message", (topic, payload))`` or ``deliver("connected" / "lost", None)``, on the loop."""


class BrokerLink:
    def __init__(self, url: str, client_id: str, subscriptions: Sequence[str], will: Union[str, Tuple[str, bytes]],
                 credentials: Tuple[Optional[str], Optional[str]] = (None, None), ca: Optional[str] = None) -> None:
        """``will``: (topic, payload) the broker publishes, retained, when we drop without a goodbye
        (a topic alone: an empty payload, which clears the retained message there)."""
        will = (will, b"") if isinstance(will, str) else will
        self.url = url
        self.connected = False
        self._subscriptions = tuple(subscriptions)
        self._deliver: Optional[Delivery] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self._client.will_set(will[0], will[1], qos=QOS, retain=True)
        self._client.reconnect_delay_set(*RECONNECT_DELAYS)
        username, password = credentials
        if username is not None:
            self._client.username_pw_set(username, password)
        if urlsplit(url).scheme == "mqtts":
            self._client.tls_set_context(ssl.create_default_context(cafile=ca))
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self, deliver: Delivery) -> None:
        """Connect in paho's thread (at once, and again whenever the connection is lost)."""
        self._loop, self._deliver = asyncio.get_running_loop(), deliver
        parts = urlsplit(self.url)
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        if parts.username and self._client.username is None:
            self._client.username_pw_set(unquote(parts.username), unquote(parts.password or "") or None)
        self._client.connect_async(parts.hostname or "127.0.0.1", port, KEEPALIVE)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, retain: bool = False, expiry: Optional[int] = None) -> Any:
        """Queue a message (QoS 1), dropped by the broker after ``expiry`` seconds (MQTT 5's message
        expiry: a retained one is no longer given to new subscribers); the MQTTMessageInfo paho returns."""
        properties = None
        if expiry is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = expiry
        return self._client.publish(topic, payload, qos=QOS, retain=retain, properties=properties)

    def stop(self, last: Optional[Tuple[str, bytes]] = None, timeout: float = 2.0) -> None:
        """Blocking (run it in a thread): publish ``last`` (retained) if connected, say goodbye."""
        if last is not None and self.connected:
            try:
                self.publish(*last, retain=True).wait_for_publish(timeout)
            except (RuntimeError, ValueError) as error:
                _LOGGER.debug("the last message did not go out: %s", error)
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho's thread ----------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            _LOGGER.warning("the broker %s refused the connection: %s", masked(self.url), reason)
            return
        _no_delay(client.socket())
        for topic in self._subscriptions:
            client.subscribe(topic, qos=QOS)
        self.connected = True
        self._hand_over("connected", None)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        was, self.connected = self.connected, False
        if was:
            self._hand_over("lost", str(reason))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._hand_over("message", (message.topic, bytes(message.payload)))

    def _hand_over(self, kind: str, value: Any) -> None:
        if self._loop is not None and self._deliver is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._deliver, kind, value)


def _no_delay(sock: Any) -> None:
    """Small messages go out at once: Nagle's algorithm with delayed ACKs adds ~40 ms a hop."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):  # not a TCP socket (a websocket transport, a test double)
        pass
