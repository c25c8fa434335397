"""Commands across clients connected to different servers, through a real MQTT broker.

Everything is real and on loopback: mosquitto (Debian's package) started by the test on a free
port, two `va server` processes with `server.broker.url` pointing at it, and the clients of
tests/test_remote_e2e.py: the kitchen (long paced silence, so it stays connected) pinned to
server 2 by its `server_url`, the living room pinned to server 1. The spoken "computer, kitchen,
turn on the radio" given to the living room must run `turn_on(device="the radio")` exactly once,
in the kitchen's process. (Pinned by URL rather than through HAProxy: its leastconn would put
them wherever it likes, and the test needs them apart.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from procs import TIMEOUT, Process, environment, healthy, logged_port, wait_until
from test_remote_e2e import (  # noqa: F401 - the fixture kills what a test leaves running
    KITCHEN_RULES,
    RADIO_OFF,
    RADIO_ON,
    _no_process_left_behind,
    ran,
    silence,
    start_client,
    write_config,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed (bash setup.sh test installs it)"),
]


SHIPPED = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto.conf"


SHIPPED_ACL = SHIPPED.with_name("mosquitto.acl")
_PLACED = ("password_file", "listener", "allow_anonymous", "acl_file", "certfile", "keyfile", "tls_version")
"""The shipped lines that name files or ports of the broker box: the tests put their own."""


def loopback_config(shipped: str, port: int, passwords: Optional[Path] = None, acl: Optional[Path] = None) -> str:
    """The shipped config on 127.0.0.1:`port` with `passwords` as its password file (None:
    anonymous) and `acl` as its ACL file (None: none), no TLS, nothing kept on disk."""
    lines = [line for line in shipped.splitlines() if not line.startswith(_PLACED)]
    access = [f"password_file {passwords}", "allow_anonymous false"] if passwords else ["allow_anonymous true"]
    access += [f"acl_file {acl}"] if acl else []
    user = ["user root"] if os.geteuid() == 0 else []  # as root it would read the files as user mosquitto
    return "\n".join([f"listener {port} 127.0.0.1", *access, *user, "persistence false", *lines]) + "\n"


class Mosquitto:
    """`mosquitto -c` with deploy/mosquitto.conf on a loopback port; it can be restarted (on the same port).

    Mosquitto cannot bind port 0 (its "listener 0" is a Unix socket), so it is given a port the
    system just handed out and, should another process take that port first, another."""

    ATTEMPTS = 5

    def __init__(self, tmp_path: Path, users: Optional[Dict[str, str]] = None, acl: Optional[Path] = None) -> None:
        """`users`: name -> password, in a password file made with mosquitto_passwd (None: anonymous);
        `acl`: an ACL file (deploy/mosquitto.acl)."""
        self.acl = acl
        self.config = tmp_path / "mosquitto.conf"
        self.passwords = tmp_path / "mosquitto.passwd" if users else None
        if self.passwords is not None:
            self.passwords.touch()
        for name, password in (users or {}).items():
            subprocess.run(["mosquitto_passwd", "-b", str(self.passwords), name, password], check=True, timeout=TIMEOUT)
        self.log = tmp_path / "mosquitto.log"
        for _ in range(self.ATTEMPTS):
            self.port = _unused_port()
            self.config.write_text(loopback_config(SHIPPED.read_text(), self.port, self.passwords, self.acl))
            if self._started():
                break
        else:
            raise AssertionError(f"mosquitto found no free port in {self.ATTEMPTS} tries:\n{self.log.read_text()[-2000:]}")

    @staticmethod
    def missing() -> bool:
        return shutil.which("mosquitto") is None

    def start(self) -> subprocess.Popen:
        """Start it again, on its port."""
        assert self._started(), self.log.read_text()[-2000:]
        return self.popen

    def _started(self) -> bool:
        """Whether it listens now (False: its port was taken)."""
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(["mosquitto", "-v", "-c", str(self.config)], stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.popen.poll() is not None or self._listening(), "mosquitto to listen")
        return self.popen.poll() is None

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(30)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path)
    yield mosquitto
    mosquitto.stop()


def _unused_port() -> int:
    """A port the system just handed out and took back: for mosquitto only (see Mosquitto)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(tmp_path: Path, name: str, broker_port: int, token: str = "") -> tuple:
    """A `va server` with the broker on, on the port it picked; (process, port) once /health says ok."""
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"server:\n  host: 127.0.0.1\n  port: 0\n  model: tiny.en\n"
        f"  broker: {{url: 'mqtt://127.0.0.1:{broker_port}', topic_prefix: va-test}}\n"
        + (f"token: {token}\n" if token else "")
    )
    process = Process(tmp_path, name, ["server", "--config", str(config)], environment(tmp_path))
    port = wait_until(lambda: logged_port(process), f"{name}'s port in its log", process)
    wait_until(lambda: healthy(port), f"{name}'s /health", process)
    return process, port


def two_servers(tmp_path: Path, broker: Mosquitto, token: str = "") -> List[tuple]:
    servers = [start_server(tmp_path, name, broker.port, token) for name in ("va1", "va2")]
    for process, _ in servers:
        wait_until(lambda: "connected to the broker" in process.text(), "the broker connection", process.popen)
    return servers


def start_kitchen(tmp_path: Path, port: int, *servers: Process, extra: str = "") -> Process:
    """The kitchen on the server at `port`, once every server in `servers` lists it."""
    joined = [server.text().count("kitchen joined") for server in servers]
    kitchen = start_client(tmp_path, "kitchen", write_config(tmp_path, port, "kitchen", KITCHEN_RULES + extra),
                           [silence(tmp_path)], VA_INPUT_PACE="1")
    for server, before in zip(servers, joined):
        wait_until(lambda: server.text().count("kitchen joined") > before, "the kitchen in the directory", kitchen.popen)
    return kitchen


def test_said_in_the_living_room_on_one_server_it_runs_in_the_kitchen_on_the_other_once(tmp_path, broker):
    (va1, port1), (va2, port2) = two_servers(tmp_path, broker)
    kitchen = start_kitchen(tmp_path, port2, va1, va2)
    living = write_config(tmp_path, port1, "living-room")
    origin = start_client(tmp_path, "living-room", living, [RADIO_ON, RADIO_OFF])
    assert origin.wait() == 0, origin.text()
    health = json.loads(_get(port1))["broker"]  # server 1 lists server 2's kitchen
    kitchen.stop()

    calls = ran(tmp_path, "kitchen")
    assert [(call["name"], call["args"]) for call in calls] == [("turn_on", {"device": "the radio"})], kitchen.text()
    assert calls[0]["pid"] == kitchen.popen.pid
    assert ran(tmp_path, "living-room") == [], origin.text()  # nowhere else
    origin_log, target_log = origin.text(), kitchen.text()
    assert f"Connected to ws://127.0.0.1:{port1}" in origin_log and f"Connected to ws://127.0.0.1:{port2}" in target_log
    assert "ran kitchen: turn_on(device='the radio') -> 'turn_on done'" in origin_log, origin_log
    assert "refused kitchen: turn_off(device='the radio'): remote.allow does not let living-room run turn_off" in origin_log
    assert "Request from living-room: ran turn_on(device='the radio')" in target_log, target_log
    assert "Request from living-room: refused turn_off(device='the radio')" in target_log, target_log
    assert target_log.count("Request from living-room") == 2  # one record per request
    assert health["connected"] and (health["servers"], health["clients"]) == (1, 1), health


def test_a_kitchen_away_from_the_other_server_is_offline_at_once_and_runs_nothing_later(tmp_path, broker):
    (va1, port1), (va2, port2) = two_servers(tmp_path, broker)
    kitchen = start_kitchen(tmp_path, port2, va1, va2)
    kitchen.stop(signal.SIGKILL)  # no goodbye: server 2 notices, then tells server 1 through the broker
    wait_until(lambda: "kitchen left" in va1.text(), "server 1 to hear that the kitchen left", va1.popen)
    origin = start_client(tmp_path, "living-room", write_config(tmp_path, port1, "living-room"), [RADIO_ON])
    assert origin.wait() == 0, origin.text()
    assert "offline kitchen: turn_on(device='the radio'): kitchen is offline" in origin.text(), origin.text()

    back = start_kitchen(tmp_path, port2, va1, va2)
    wait_until(lambda: "Directory:" in back.text(), "the kitchen to get the directory", back.popen)
    back.stop()
    assert ran(tmp_path, "kitchen") == [], back.text()
    assert ran(tmp_path, "living-room") == []


def test_without_the_broker_the_other_servers_clients_read_offline_until_it_is_back(tmp_path, broker):
    (va1, port1), (va2, port2) = two_servers(tmp_path, broker)
    kitchen = start_kitchen(tmp_path, port2, va1, va2)
    broker.stop()
    wait_until(lambda: "lost the broker" in va1.text(), "server 1 to lose the broker", va1.popen)
    origin = start_client(tmp_path, "living-room", write_config(tmp_path, port1, "living-room"), [RADIO_ON])
    assert origin.wait() == 0, origin.text()
    assert "offline kitchen: turn_on(device='the radio'): kitchen is offline" in origin.text(), origin.text()

    joined = va1.text().count("kitchen joined")
    broker.start()  # same port: both servers reconnect and publish their clients again
    wait_until(lambda: va1.text().count("kitchen joined") > joined, "the kitchen listed again", va1.popen)
    again = start_client(tmp_path, "living-room-2", write_config(tmp_path, port1, "living-room"), [RADIO_ON])
    assert again.wait() == 0, again.text()
    kitchen.stop()
    calls = ran(tmp_path, "kitchen")
    assert [(call["name"], call["args"]) for call in calls] == [("turn_on", {"device": "the radio"})], kitchen.text()


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (bash setup.sh test installs it)")
def test_through_haproxy_the_two_clients_land_on_different_servers_and_it_runs_once(tmp_path, broker):
    """The building of docs/scaling.md: HAProxy (deploy/haproxy.cfg) in front of both servers, a token.
    leastconn puts the living room on the server the kitchen is not on; the test checks that it did."""
    from bench.haproxy import Balancer

    token = "building-secret"
    servers = two_servers(tmp_path, broker, token)
    balancer = Balancer(tmp_path, [port for _, port in servers], TIMEOUT)
    try:
        balancer.wait(lambda states: all(state == "UP" for state in states.values()), "both servers up", TIMEOUT)
        kitchen = start_kitchen(tmp_path, balancer.port, *(process for process, _ in servers), extra=f"token: {token}\n")
        holder = [json.loads(_get(port))["clients"] for _, port in servers].index(1)
        living = write_config(tmp_path, balancer.port, "living-room", f"token: {token}\n")
        origin = start_client(tmp_path, "living-room", living, [RADIO_ON])
        assert origin.wait() == 0, origin.text()
        kitchen.stop()
    finally:
        balancer.stop()
    heard = ["living-room@" in process.text() for process, _ in servers]  # the server that transcribed it
    assert heard == [index != holder for index in range(2)], "both clients on one server: nothing crossed"
    calls = ran(tmp_path, "kitchen")
    assert [(call["name"], call["args"]) for call in calls] == [("turn_on", {"device": "the radio"})], kitchen.text()
    assert ran(tmp_path, "living-room") == []
    assert "ran kitchen: turn_on(device='the radio') -> 'turn_on done'" in origin.text(), origin.text()


def _get(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT) as response:
        return response.read().decode()
