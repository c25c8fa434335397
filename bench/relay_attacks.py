"""Attacks on the relay of a real `va server` (issue 24 A, C, D), with the server's RSS and CPU and a
well-behaved client's latency measured during and after each.

    python -m bench.relay_attacks            # starts a server (tiny.en) on a free port, prints a table

A  a relay member that stops reading (its socket's receive buffer full), then 30 members join
   with 20 KB of commands each; the probe (a relay client that joins and asks the directory) times
   its answer during the joins and after.
C  one connection says hello under 30 names and sends 64 runs under each to a member that never
   answers; and 40 members join at once: directories and bytes they are sent.
D  a run whose command holds a newline and a forged log line, one with a 3 MB argument, and a
   name with a zero-width space: what the server logs (lines, the longest).

tests/test_relay_limits.py runs the same scenarios and checks the outcomes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench import procs

WAIT = 10.0
"""Seconds the probe waits for an answer before it counts as none."""


# -- the server's side: memory and CPU ------------------------------------------------------------


def sample(pid: int) -> Dict[str, float]:
    """The process's resident memory (MB) and CPU time so far (s)."""
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"rss_mb": rss / 1024, "cpu_s": (int(fields[11]) + int(fields[12])) / ticks}


def health(port: int) -> Optional[Dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=WAIT) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


# -- clients ------------------------------------------------------------------------------------


def hello(name: str, commands: int = 0) -> str:
    spoken = [f"command number {index} of {name}" for index in range(commands)]
    return json.dumps({"type": "hello", "client": name, "relay": True, "commands": spoken})


async def member(port: int, name: str, commands: int = 0) -> Any:
    connection = await connect(f"ws://127.0.0.1:{port}", proxy=None, max_size=None)
    await connection.send(hello(name, commands))
    return connection


def stuck_member(port: int, name: str = "stuck") -> socket.socket:
    """A relay member that says hello and never reads again (a small receive buffer, never drained)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    sock.sendall(_masked_text(hello(name)))
    return sock


def _masked_text(text: str) -> bytes:
    payload, mask = text.encode(), os.urandom(4)
    header = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0x80 | 126]) + len(payload).to_bytes(2, "big"))
    return header + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


async def probe(port: int, name: str) -> Optional[float]:
    """Seconds from a newcomer's hello to its answered directory query (None: no answer in WAIT s):
    the directory pushed after its hello, and the answer to its query, which the server reads only
    once it is done with the hello."""
    started = time.monotonic()
    try:
        connection = await asyncio.wait_for(member(port, name), WAIT)
        try:
            await connection.send(json.dumps({"type": "directory"}))
            directories = 0
            while directories < 2:
                message = json.loads(await asyncio.wait_for(connection.recv(), WAIT - (time.monotonic() - started)))
                directories += message["type"] == "directory"
            return time.monotonic() - started
        finally:
            await asyncio.wait_for(connection.close(), WAIT)
    except (asyncio.TimeoutError, OSError, ValueError):
        return None


async def next_of(connection: Any, kind: str, timeout: float = WAIT) -> Dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(connection.recv(), timeout))
        if message["type"] == kind:
            return message


# -- the scenarios ------------------------------------------------------------------------------


async def silent_member(port: int, pid: int, log: Path, members: int = 30, commands: int = 2000,
                        evict_wait: float = 15.0) -> Dict[str, Any]:
    """A: one member stops reading; ``members`` join after it; the probe during and after."""
    stuck = stuck_member(port)
    before = sample(pid)
    joined = await asyncio.gather(*(member(port, f"member-{index}", commands) for index in range(members)))
    during = await probe(port, "probe-during")
    mid = sample(pid)
    deadline = time.monotonic() + evict_wait  # a member is let go once a send waited SEND_TIMEOUT
    while "let go of" not in log.read_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    after = await probe(port, "probe-after")
    end = sample(pid)
    clients = (health(port) or {}).get("clients")
    stuck.close()
    await asyncio.gather(*(connection.close() for connection in joined), return_exceptions=True)
    return {"latency_during_s": during, "latency_after_s": after, "evicted": "let go of" in log.read_text(),
            "clients_after": clients, "expected_clients": members + 1,
            "rss_mb": (before["rss_mb"], mid["rss_mb"], end["rss_mb"]),
            "cpu_s_during": mid["cpu_s"] - before["cpu_s"], "cpu_s_after": end["cpu_s"] - mid["cpu_s"]}


async def many_names(port: int, pid: int, names: int = 30, runs: int = 64) -> Dict[str, Any]:
    """C: one connection, ``names`` hellos, ``runs`` runs under each, to a member that never answers."""
    sink = await member(port, "sink")
    await next_of(sink, "ready")
    attacker = await member(port, "name-0")
    before = sample(pid)
    sent, evicted = 0, False
    try:
        for index in range(names):
            if index:
                await attacker.send(hello(f"name-{index}"))
            for number in range(runs):
                await attacker.send(json.dumps({"type": "run", "id": f"{index}-{number}", "target": "sink", "command": "turn_on", "args": {}, "ttl": 60}))
                sent += 1
    except ConnectionClosed:  # it did not read its refusals either: let go
        evicted = True
    during = await probe(port, "probe-names")
    received = 0
    try:
        while True:
            received += json.loads(await asyncio.wait_for(sink.recv(), 1.0))["type"] == "run"
    except asyncio.TimeoutError:
        pass
    after = sample(pid)
    await asyncio.gather(sink.close(), attacker.close(), return_exceptions=True)
    return {"runs_sent": sent, "runs_delivered": received, "attacker_let_go": evicted, "latency_s": during,
            "rss_mb": (before["rss_mb"], after["rss_mb"]), "cpu_s": after["cpu_s"] - before["cpu_s"]}


async def joins(port: int, pid: int, members: int = 40, commands: int = 50) -> Dict[str, Any]:
    """C: ``members`` join at once; the directories (and bytes) each gets until it is quiet."""
    before = sample(pid)
    started = time.monotonic()
    connections = await asyncio.gather(*(member(port, f"joiner-{index}", commands) for index in range(members)))
    counts: List[List[int]] = [[0, 0] for _ in connections]

    async def count(connection: Any, tally: List[int]) -> None:
        try:
            while True:
                frame = await asyncio.wait_for(connection.recv(), 1.5)
                if json.loads(frame)["type"] == "directory":
                    tally[0] += 1
                    tally[1] += len(frame)
        except asyncio.TimeoutError:
            pass

    await asyncio.gather(*(count(connection, tally) for connection, tally in zip(connections, counts)))
    settled = time.monotonic() - started - 1.5
    after = sample(pid)
    await asyncio.gather(*(connection.close() for connection in connections), return_exceptions=True)
    return {"members": members, "directories": sum(tally[0] for tally in counts), "mb_sent": sum(tally[1] for tally in counts) / 1e6,
            "settled_s": settled, "cpu_s": after["cpu_s"] - before["cpu_s"], "rss_mb": (before["rss_mb"], after["rss_mb"])}


async def forged_lines(port: int, log: Path) -> Dict[str, Any]:
    """D: a newline in a command, a 3 MB argument, a zero-width space in a name."""
    lines_before = len(log.read_text().splitlines())
    sink = await member(port, "kitchen\u200b")
    await next_of(sink, "ready")
    origin = await member(port, "living-room")
    await next_of(origin, "ready")
    forged = "x\n2026-12-04 10:00:00,000 INFO va.client.remote_target: Request from living-room: ran unlock_front_door()"
    answers = []
    for command, args in ((forged, {}), ("turn_on", {"device": "x" * 3_000_000})):
        await origin.send(json.dumps({"type": "run", "id": f"d{len(answers)}", "target": "kitchen\\u200b", "command": command, "args": args}))
        answers.append(await _answer(origin))
    await asyncio.sleep(0.3)
    await origin.send(json.dumps({"type": "directory"}))
    listed = [entry["name"] for entry in (await next_of(origin, "directory"))["clients"]]
    delivered = 0
    try:
        while True:
            delivered += json.loads(await asyncio.wait_for(sink.recv(), 0.5))["type"] == "run"
    except asyncio.TimeoutError:
        pass
    await asyncio.gather(sink.close(), origin.close())
    new = log.read_text().splitlines()[lines_before:]
    return {"errors": [str(answer.get("data", answer))[:80] for answer in answers], "delivered": delivered, "listed": listed,
            "log_lines": len(new), "longest_line": max(map(len, new), default=0),
            "forged_line_in_log": any(line.startswith("2026-12-04 10:00:00") for line in new)}


async def _answer(connection: Any) -> Dict[str, Any]:
    """The answer to a run: an error, a run_result, or (none within 2 s) ``{"type": "none"}``."""
    try:
        while True:
            message = json.loads(await asyncio.wait_for(connection.recv(), 2.0))
            if message["type"] in ("error", "run_result"):
                return message
    except asyncio.TimeoutError:
        return {"type": "none"}


# -- the command line ---------------------------------------------------------------------------


def start_server(directory: Path) -> tuple:
    config = directory / "server.yaml"
    config.write_text("server: {host: 127.0.0.1, port: 0, model: tiny.en, max_connections: 512}\n")
    server = procs.start("server", ["-m", "va", "server", "--config", str(config)], directory)
    port = procs.logged_port(server)
    procs.wait_health(server, port)
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server, port = start_server(Path(folder))
        try:
            for name, scenario in (("A silent member", silent_member(port, server.pid, server.log)),
                                   ("C many names", many_names(port, server.pid)),
                                   ("C 40 joins", joins(port, server.pid)),
                                   ("D forged lines", forged_lines(port, server.log))):
                print(f"{name}: {json.dumps(asyncio.run(scenario), default=str)}", flush=True)
        finally:
            procs.stop(server)
        print(f"load: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
