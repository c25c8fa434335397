"""HAProxy (deploy/haproxy.cfg) in front of two real `va server`s, with real `va client`s.

Everything is real and on loopback: the shipped HAProxy config (only its addresses and the
root-only global lines changed), `va server` processes with the bundled model, `va client --input`
processes playing spoken commands at a slow pace so that their phrases keep coming while a server
is SIGKILLed and restarted and the other is SIGTERMed (drained) and restarted. Each client runs
tests/client_commands/recorder.py into its own file: every command must run exactly once.
"""

from __future__ import annotations

import json
import shutil
import signal
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
import trustme
from bench.haproxy import TLS_PASSTHROUGH_CFG, Balancer
from procs import FIXTURES, TIMEOUT, Process, environment, logged_port, wait_until, write_config
from test_client_e2e import (  # noqa: F401 - the fixture kills what a test leaves running
    MANIFEST,
    _no_process_left_behind,
    expected,
    phrase_records,
    ran,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (bash setup.sh test installs it)"),
]

SPOKEN = [entry for entry in MANIFEST if entry["command"] and not entry["noisy"] and entry["voice"] != "espeak"]
TOKEN = "building-secret"
PACE = "0.7"  # slower than real time: 9 phrases take about 50 s, long enough to span the faults


@pytest.fixture
def balancer_factory():
    started: List[Balancer] = []

    def start(tmp_path: Path, servers: List[int], **options: Any) -> Balancer:
        started.append(Balancer(tmp_path, servers, TIMEOUT, **options))
        return started[-1]

    yield start
    for balancer in started:
        balancer.stop()


# --- va servers and clients ---------------------------------------------------------------------


class Server:
    """One `va server` on the port it picked the first time; started again after it was killed or
    stopped, it takes the same port (HAProxy knows it by it)."""

    def __init__(self, tmp_path: Path, name: str, tls: Optional[Tuple[Path, Path, Path]] = None) -> None:
        """`tls`: (certificate, key, CA) to serve wss:// and https:// /health."""
        self.tmp_path, self.name, self.port, self.tls = tmp_path, name, 0, tls
        self.config = tmp_path / f"{name}.yaml"
        self.context = ssl.create_default_context(cafile=str(tls[2])) if tls is not None else None
        self.runs = 0
        self.process: Optional[Process] = None

    def start(self) -> None:
        self.runs += 1
        text = f"token: {TOKEN}\nserver:\n  host: 127.0.0.1\n  port: {self.port}\n  model: tiny.en\n"
        if self.tls is not None:
            text += f"  tls: {{cert: {self.tls[0]}, key: {self.tls[1]}}}\n"
        self.config.write_text(text)
        args = ["server", "--config", str(self.config)]
        self.process = Process(self.tmp_path, f"{self.name}-{self.runs}", args, environment(self.tmp_path))

    def wait_healthy(self) -> None:
        self.port = wait_until(lambda: logged_port(self.process), f"{self.name}'s port in its log", self.process)
        wait_until(lambda: (self.health() or {}).get("status") == "ok", f"{self.name}'s /health", self.process)

    def health(self) -> Optional[dict]:
        try:
            scheme = "https" if self.context else "http"
            with urllib.request.urlopen(f"{scheme}://127.0.0.1:{self.port}/health", timeout=5, context=self.context) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:  # 503 while stopping: the body says so
            return json.load(error)
        except (OSError, ValueError):
            return None


def start_clients(
    tmp_path: Path, config: Path, rounds: str, files: List[List[dict]], pace: Optional[str] = None
) -> List[Process]:
    """One `va client --input` per list of files, each recording what ran in its own folder."""
    clients = []
    for index, mine in enumerate(files):
        folder = tmp_path / f"{rounds}-client{index + 1}"
        folder.mkdir()
        args = ["client", "--config", str(config), "--input", *(str(FIXTURES / entry["file"]) for entry in mine)]
        clients.append(Process(folder, "client", args, environment(folder, **({"VA_INPUT_PACE": pace} if pace else {}))))
    return clients


def finish(clients: List[Process], files: List[List[dict]]) -> str:
    """Wait for the clients; each phrase heard once and each command run once. Their logs, joined."""
    logs = []
    for client, mine in zip(clients, files):
        assert client.wait() == 0, client.text()
        log = client.text()
        folder = client.log.parent
        assert ran(folder) == expected(mine), f"{folder.name} ran something twice or not at all:\n{log}"
        assert len(phrase_records(log)) == len(mine), log
        assert "Dropped a phrase" not in log, log
        logs.append(log)
    return "\n".join(logs)


def total_ran(tmp_path: Path, rounds: str) -> int:
    return sum(sum(ran(folder).values()) for folder in tmp_path.glob(f"{rounds}-client*"))


# --- the test -----------------------------------------------------------------------------------


@pytest.mark.timeout(900)  # a bound for a very busy machine; it takes about 1.5 min
@pytest.mark.parametrize("stream", [False, True], ids=["whole-phrases", "streamed"])
def test_a_killed_and_a_drained_server_lose_no_phrase_and_run_none_twice(tmp_path, balancer_factory, stream):
    servers = [Server(tmp_path, "va1"), Server(tmp_path, "va2")]
    for server in servers:
        server.start()
    for server in servers:
        server.wait_healthy()
    balancer = balancer_factory(tmp_path, [server.port for server in servers])
    # server_url: the balancer, which passes the token through
    config = write_config(tmp_path / "config.yaml", balancer.port, {"client": {"stream": stream}, "token": TOKEN})

    # three clients, each with the nine commands in another order, slowly
    files = [SPOKEN[shift:] + SPOKEN[:shift] for shift in (0, 3, 6)]
    clients = start_clients(tmp_path, config, "first", files, PACE)
    wait_until(lambda: total_ran(tmp_path, "first") >= 2, "the first commands", clients[0].popen)

    # SIGKILL the server with the most clients while it decodes a phrase: frozen (SIGSTOP) as soon
    # as /health shows one, it cannot answer it; killed, it sends no close frame
    victim, other = sorted(servers, key=lambda server: -(server.health() or {}).get("clients", 0))
    assert victim.health()["clients"] >= 1, "no client was connected to either server"
    seen: dict = {}
    wait_until(lambda: seen.update(victim.health() or {}) or seen.get("queue_depth", 0) > 0, "a phrase in flight",
               victim.process.popen)
    victim.process.popen.send_signal(signal.SIGSTOP)
    # each transcript is logged before it is sent: none logged since /health counted `served`
    # means the phrase in flight got no reply (the rare miss: it was answered just before). A
    # streamed phrase may be in flight only as a check of the phrase so far: its stream dies with
    # the server and the client sends the phrase whole at its end, with nothing to resend
    unanswered = not stream and victim.process.text().count(" s of audio, ") <= seen["served"]
    victim.process.popen.kill()
    victim.process.stop()
    victim.start()  # it comes back while the clients go on through the other one
    victim.wait_healthy()
    wait_until(lambda: balancer.up(victim.name), f"haproxy to see {victim.name} up again", victim.process.popen)

    # rolling restart of the other: SIGTERM drains it (1012 to its clients), then it starts again
    assert other.health()["clients"] >= 1, "the clients finished before the rolling restart"
    other.process.stop(signal.SIGTERM)
    assert other.process.popen.returncode == 0, other.process.text()
    assert "closing" in other.process.text() and "with 1012" in other.process.text()
    other.start()
    other.wait_healthy()
    wait_until(lambda: balancer.up(other.name), f"haproxy to see {other.name} up again", other.process.popen)

    logs = finish(clients, files)
    assert not unanswered or "were in flight; sending them again" in logs  # the killed server's phrase
    assert "is restarting (close code 1012); reconnecting at once" in logs
    assert logs.count("Connected to ws://") >= 3 + 2, logs  # each client at least once, some again

    # after the restarts both servers take new clients: leastconn spreads them, /health counts them
    served = [server.health()["served"] for server in servers]
    files = [SPOKEN[shift : shift + 3] for shift in (0, 3, 6)]
    finish(start_clients(tmp_path, config, "second", files, "1"), files)
    after = [server.health()["served"] for server in servers]
    assert all(now > before for now, before in zip(after, served)), (served, after)
    if not stream:  # a streamed phrase may also cost checks of the phrase so far, each counted
        assert sum(after) - sum(served) == sum(map(len, files))


@pytest.mark.parametrize("tls", ["terminated at haproxy", "passed through"])
def test_wss_through_haproxy_with_tls_terminated_there_or_passed_through(tmp_path, balancer_factory, tls):
    """The two TLS setups of docs/scaling.md: HAProxy holds the certificate and talks ws:// to the
    server, or HAProxy passes TCP through (deploy/haproxy-tls-passthrough.cfg) to a wss:// server
    whose /health it checks over TLS. The client trusts a private CA (client.tls.ca)."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    ca_file, pem, cert, key = (tmp_path / name for name in ("ca.pem", "haproxy.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    issued.private_key_and_cert_chain_pem.write_to_path(str(pem))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    passthrough = tls == "passed through"
    server = Server(tmp_path, "va1", tls=(cert, key, ca_file) if passthrough else None)
    server.start()
    server.wait_healthy()
    options = {"shipped": TLS_PASSTHROUGH_CFG} if passthrough else {"pem": pem}
    balancer = balancer_factory(tmp_path, [server.port], **options)
    balancer.wait(lambda _: balancer.check("va1") == "L7OK", "a health check that passed", TIMEOUT)
    config = write_config(tmp_path / "config.yaml", balancer.port, {"client": {"tls": {"ca": str(ca_file)}}, "token": TOKEN},
                          scheme="wss")
    files = [SPOKEN[:2]]
    logs = finish(start_clients(tmp_path, config, "tls", files), files)
    assert f"Connected to wss://127.0.0.1:{balancer.port}" in logs
