"""HAProxy on loopback with the shipped deploy/haproxy.cfg, for the balancer test and bench.

Only what cannot run on loopback as a normal user changes: the addresses, and the root-only
global lines (chroot, user, syslog, the /run stats socket). Everything else (timeouts, health
checks, retries, leastconn) is the file a site installs.

HAProxy cannot bind port 0, so its listening socket is made here, on a port the system picks, and
handed to it open (``bind fd@N``): no other process can take the port in between.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
HAPROXY_CFG = DEPLOY / "haproxy.cfg"
TLS_PASSTHROUGH_CFG = DEPLOY / "haproxy-tls-passthrough.cfg"
_ROOT_ONLY = re.compile(r"^\s+(log /dev/log|chroot|user|group|daemon|stats socket)\b")


def loopback_config(shipped: str, bind: str, servers: List[int], stats: Path, pem: Optional[Path] = None) -> str:
    """The shipped config on `bind` ("127.0.0.1:8000", or "fd@3": a socket it inherits) in front of
    `servers` (ports), with a stats socket; with `pem`, TLS terminated there (haproxy.cfg's
    commented `bind ... ssl` line instead of its plain one).

    Server lines beyond len(servers) are dropped; more servers than lines is an error."""
    lines: List[str] = []
    ports = iter(servers)
    for line in shipped.splitlines():
        if _ROOT_ONLY.match(line):
            continue
        if pem is not None and re.match(r"^\s+# bind :8443 ssl crt \S+", line):
            line = re.sub(r"# bind :8443 ssl crt \S+", f"bind {bind} ssl crt {pem}", line)
        elif re.match(r"^\s+bind :(8000|8443)$", line):
            if pem is not None:
                continue
            line = f"    bind {bind}"
        elif re.match(r"^\s+server va\d", line):
            server = next(ports, None)
            if server is None:
                continue
            line = f"    server {line.split()[1]} 127.0.0.1:{server}"
        lines.append(line)
        if line == "global":
            lines += [f"    stats socket {stats} mode 600 level admin", "    log stderr format short local0 info"]
    if next(ports, None) is not None:
        raise ValueError("the shipped config has fewer server lines than servers were given")
    return "\n".join(lines) + "\n"


class Balancer:
    """`haproxy -db` (foreground) on a loopback port the system picked (`port`); its config and log
    go in `directory`."""

    def __init__(
        self, directory: Path, servers: List[int], timeout: float = 60.0, shipped: Path = HAPROXY_CFG,
        pem: Optional[Path] = None,
    ) -> None:
        with socket.socket() as listening:
            listening.bind(("127.0.0.1", 0))
            listening.listen(128)
            self.port = port = listening.getsockname()[1]
            self.stats = directory / f"haproxy-{port}.sock"
            config = directory / f"haproxy-{port}.cfg"
            config.write_text(loopback_config(shipped.read_text(), f"fd@{listening.fileno()}", servers, self.stats, pem))
            self.log = directory / f"haproxy-{port}.log"
            with open(self.log, "ab") as out:
                self.popen = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                              pass_fds=[listening.fileno()])
        self.wait(lambda states: len(states) == len(servers), "its stats socket", timeout)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def states(self) -> Optional[Dict[str, str]]:
        """Server name -> "UP", "DOWN", "UP 1/2"..., as HAProxy sees it; None until it answers."""
        try:
            text = self._show_stat()
        except OSError:
            return None
        rows = [line.split(",") for line in text.splitlines() if line.startswith("va_servers")]
        return {row[1]: row[17] for row in rows if row[1] not in ("FRONTEND", "BACKEND")}

    def _show_stat(self) -> str:
        """HAProxy's `show stat` CSV (management.txt, 9.1: column 17 status, 36 check_status)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats))
            sock.sendall(b"show stat\n")
            return b"".join(iter(lambda: sock.recv(65536), b"")).decode()

    def check(self, name: str) -> Optional[str]:
        """The last health check of server `name` as HAProxy reports it ("L7OK", "L4CON", ...)."""
        rows = [line.split(",") for line in self._show_stat().splitlines() if line.startswith("va_servers")]
        return next((row[36] for row in rows if row[1] == name), None)

    def up(self, name: str) -> bool:
        return (self.states() or {}).get(name) == "UP"

    def wait(self, condition, what: str, timeout: float) -> None:
        """Until condition(states) holds; raises if HAProxy exits or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            if states is not None and condition(states):
                return
            if self.popen.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.popen.returncode}: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"haproxy: timed out waiting for {what} ({states})")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(30)
