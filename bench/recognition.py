"""Recognition accuracy on the committed corpus (bench/corpus), through a real `va server`.

    .venv/bin/python -m bench.recognition [--split heldout|tune|all] [--paths old,new] [--json OUT] [--limit N]

For each path in PATHS, a `va server` (bundled tiny.en, int8, the path's settings) starts on a free
loopback port; one connection sends the hello the va client sends (keyword, spoken names, grammar)
and then every clip as an `audio_input` with an id, one at a time, so `processing_ms` is the
server's time for that clip alone. The path's decide function turns each reply into what the
client would run, and that is judged against the manifest: a command clip is right when the
expected command ran with the expected arguments (free text compared without case and
punctuation), a negative when nothing ran.

A path is a row: a name, the server settings it needs and a decide function taking the reply.
"old" is today's client (greedy transcript, fuzzy matcher, typed arguments); "new" uses the
server's reading when the reply has one (accepted: run it; rejected: run nothing) and falls back
to the client's own matcher when it has none, as with a server that predates readings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import enum
import importlib
import json
import os
import random
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from bench import machine, procs, servers
from bench.report import table
from bench.stats import median, ms

CORPUS = procs.ROOT / "bench" / "corpus"
COMMANDS = CORPUS / "commands.py"
KEYWORD = "computer"
CONDITIONS = ("clean", "noise", "talker", "reverb")
THREE_SECONDS = (2.5, 3.5)
"""Clips this long (s) count as "a 3 s command" for the latency column."""
REPLY_TIMEOUT = 120.0


def _first(*names: str) -> Any:
    """The first of `module:attribute` that imports (va's files moved into rooms during issue 9)."""
    errors = []
    for name in names:
        module, _, attribute = name.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as error:
            errors.append(f"{name}: {error}")
    raise ImportError("; ".join(errors))


class Client:
    """What the va client knows and decides: its registry (bench/corpus/commands.py) and matcher."""

    def __init__(self, commands: Path = COMMANDS, keyword: str = KEYWORD) -> None:
        self._interpret = _first("va.language.matching:interpret", "va.matching:interpret")
        load_registry = _first("va.commands.registry:load_registry", "va.registry:load_registry")
        settings = dataclasses.replace(_first("va.config:CommandSettings")(), modules=(), paths=(str(commands),))
        self.registry = load_registry(settings)
        if self.registry.failures:
            raise RuntimeError(f"{commands}: {self.registry.failures}")
        self.keyword, self.threshold = keyword, settings.threshold

    def hello(self, grammar: bool) -> Any:
        """The hello `va client` sends: keyword, every spoken name, and (`grammar`) the grammar where va has one."""
        hello = _first("va.protocol:Hello")
        names = (self.keyword, tuple(self.registry.vocabulary()), "bench-recognition")
        if not grammar:
            return hello(*names)
        grammar_of = _first("va.language.grammar_registry:grammar_of", "va.language.grammar:grammar_of")
        return hello(*names, grammar_of(self.registry))

    def match(self, text: str) -> Optional[dict]:
        """The client's own matcher on a transcript: {"command", "args"} of what would run, or None."""
        decision = self._interpret(text, self.registry, self.keyword, self.threshold).to_dict()
        return None if decision["command"] is None else {"command": decision["command"], "args": decision["args"]}

    def from_reading(self, reading: Any) -> Optional[dict]:
        """An accepted reading as the client would run it (its defaults filled), or None if it does not fit."""
        command = next((c for c in self.registry.commands.values() if c.name == reading.command), None)
        if command is None:
            return None
        args_from_wire = _first("va.language.grammar_registry:args_from_wire", "va.language.grammar:args_from_wire")
        args = args_from_wire(command.parameters, reading.args)
        if args is None:
            return None
        return {"command": command.name, "args": {name: _plain(value) for name, value in args.items()}}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def old_matcher(commands: Path = COMMANDS, keyword: str = KEYWORD) -> Callable[[str], Optional[dict]]:
    """Today's matcher on a text (make_corpus.py --check)."""
    return Client(commands, keyword).match


def decide_old(reply: Any, client: Client) -> Optional[dict]:
    return client.match(reply.text)


def decide_new(reply: Any, client: Client) -> Optional[dict]:
    reading = getattr(reply, "reading", None)
    if reading is None:
        return client.match(reply.text)
    return client.from_reading(reading) if reading.accepted else None


@dataclasses.dataclass(frozen=True)
class RecognitionPath:
    server: Optional[Dict[str, Any]]
    """`server:` settings on top of tiny.en/int8; None: the path is not available yet (skipped)."""
    decide: Callable[[Any, Client], Optional[dict]]
    grammar: bool
    """Whether the hello carries the grammar (the old path's does not: the client before issue 11)."""
    note: str
    engine: str = "faster-whisper"


PATHS: Dict[str, RecognitionPath] = {
    "old": RecognitionPath({"recognition": "free"}, decide_old, False,
                           "greedy transcript + the client's fuzzy matcher and typed arguments"),
    "new": RecognitionPath({"recognition": "grammar"}, decide_new, True,
                           "server.recognition: grammar: the server's reading (accepted: run, rejected: nothing), "
                           "else the client's matcher"),
    "openai-old": RecognitionPath({"recognition": "free"}, decide_old, False,
                                  "as old, on openai-whisper (PyTorch, the same tiny.en weights)", "openai-whisper"),
    "openai-new": RecognitionPath({"recognition": "grammar"}, decide_new, True,
                                  "as new, on openai-whisper: guided decoding on its own decoder", "openai-whisper"),
}
DEFAULT_PATHS = ("old", "new")


@dataclasses.dataclass
class Clip:
    entry: dict
    pcm: bytes

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["entry"][name]
        except KeyError:
            raise AttributeError(name) from None


def load_clips(split: str) -> List[Clip]:
    entries = json.loads((CORPUS / "manifest.json").read_text())
    chosen = [e for e in entries if split == "all" or e["split"] == split]
    return [Clip(e, _pcm(CORPUS / e["file"])) for e in chosen]


def _pcm(path: Path) -> bytes:
    return subprocess.run(["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", "16000", "-"],
                          check=True, capture_output=True).stdout


async def _ask(targets: Dict[str, tuple], clips: Sequence[Clip]) -> Dict[str, List[Any]]:
    """On one connection per path (url, hello): the hello, then each clip as audio_input with an id,
    to each path in turn, one request in flight in all, so the paths share the machine's noise."""
    from websockets.asyncio.client import connect

    protocol = importlib.import_module("va.protocol")
    replies: Dict[str, List[Any]] = {name: [] for name in targets}
    async with contextlib.AsyncExitStack() as stack:
        connections = {}
        for name, (url, hello) in targets.items():
            connections[name] = await stack.enter_async_context(connect(url, max_size=None))
            await connections[name].send(hello.to_json())
            await asyncio.wait_for(connections[name].recv(), REPLY_TIMEOUT)  # ready
        for index, clip in enumerate(clips):
            for name, connection in connections.items():
                await connection.send(protocol.AudioInput(clip.pcm, id=index).to_json())
                reply = protocol.parse_server_message(await asyncio.wait_for(connection.recv(), REPLY_TIMEOUT))
                if getattr(reply, "id", index) != index:
                    raise RuntimeError(f"{name}: reply for {reply.id} while waiting for {index}")
                replies[name].append(reply)
    return replies


def run_paths(names: Sequence[str], clips: Sequence[Clip], client: Client, logs: Path) -> tuple:
    """A server per path with its settings, every clip through all of them: (results, {skipped path: why})."""
    skipped: Dict[str, str] = {}
    started: Dict[str, Any] = {}
    targets: Dict[str, tuple] = {}
    try:
        for name in names:
            path = PATHS[name]
            if path.server is None:
                skipped[name] = path.note
                continue
            try:
                started[name], url = servers.start_va(logs, path.engine, name=f"recognition-{name}", **path.server)
            except Exception as error:  # a path whose server cannot start is a line that says why
                skipped[name] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                continue
            targets[name] = (url, client.hello(path.grammar))
        replies = asyncio.run(_ask(targets, clips)) if targets else {}
    finally:
        for server in started.values():
            procs.stop(server)
    results = []
    for name, answers in replies.items():
        decide = PATHS[name].decide
        results += [_judge(name, clip, reply, decide(reply, client) if hasattr(reply, "text") else None)
                    for clip, reply in zip(clips, answers)]
    return results, skipped


def _judge(name: str, clip: Clip, reply: Any, ran: Optional[dict]) -> dict:
    reading = getattr(reply, "reading", None)
    return {"path": name, "file": clip.file, "split": clip.split, "condition": clip.condition, "voice": clip.voice,
            "seconds": clip.seconds, "text": clip.text, "expected": clip.expected,
            "transcript": getattr(reply, "text", None), "error": getattr(reply, "message", None),
            "reading": reading.to_dict() if reading is not None else None, "ran": ran,
            "right": same_call(clip.expected, ran), "processing_ms": getattr(reply, "processing_ms", None)}


def _words(text: str) -> str:
    """Free text compared as words: no case, no punctuation, numbers as words ("80s" == "eighties")."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return " ".join(_number_words(word) for word in words)


def _number_words(word: str) -> str:
    found = re.fullmatch(r"(\d+)(s?)", word)
    if not found:
        return word
    spoken = _first("va.language.numbers:number_to_words", "va.numbers:number_to_words")(int(found[1]))
    if found[2]:
        spoken = spoken[:-1] + "ies" if spoken.endswith("y") else spoken + "s"
    return spoken


def same_call(expected: Optional[dict], got: Optional[dict]) -> bool:
    """Right command with right arguments (free text compared without case and punctuation); None == None."""
    if expected is None or got is None:
        return expected is None and got is None
    if expected["command"] != got["command"] or set(expected["args"]) != set(got["args"]):
        return False
    return all(_same_value(want, got["args"][name]) for name, want in expected["args"].items())


def _same_value(want: Any, have: Any) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return abs(want - have) < 1e-6
    if isinstance(want, str) and isinstance(have, str):
        return _words(want) == _words(have)
    return bool(want == have)


def summary_rows(results: Sequence[dict]) -> List[List[str]]:
    """One row per (path, split): accuracy per condition, false activations, p50 server time."""
    rows = []
    for name, split in _rows(results):
        mine = [r for r in results if r["path"] == name and r["split"] == split]
        cells = [_fraction([r for r in mine if r["condition"] == c]) for c in CONDITIONS]
        negatives = [r for r in mine if r["expected"] is None]
        wrong = sum(1 for r in mine if r["expected"] is not None and r["ran"] is not None and not r["right"])
        times = [r["processing_ms"] for r in mine if r["processing_ms"] is not None]
        short = [r["processing_ms"] for r in mine if r["processing_ms"] is not None
                 and THREE_SECONDS[0] <= r["seconds"] <= THREE_SECONDS[1]]
        rows.append([name, split, *cells, f"{sum(r['ran'] is not None for r in negatives)}/{len(negatives)}",
                     f"{wrong}/{len(mine) - len(negatives)}", ms(median(times)), f"{ms(median(short))} ({len(short)})"])
    return rows


def _rows(results: Sequence[dict]) -> List[tuple]:
    """(path, split) pairs in PATHS order, held out first."""
    return sorted({(r["path"], r["split"]) for r in results}, key=lambda k: (list(PATHS).index(k[0]), k[1] != "heldout"))


def _fraction(results: Sequence[dict]) -> str:
    right = sum(r["right"] for r in results)
    return f"{right}/{len(results)} ({100 * right / len(results):.0f}%)" if results else "-"


def negative_rows(results: Sequence[dict]) -> List[List[str]]:
    kinds = sorted({r["condition"] for r in results if r["expected"] is None})
    rows = []
    for name, split in _rows(results):
        mine = [r for r in results if r["path"] == name and r["split"] == split and r["expected"] is None]
        rows.append([name, split, *(f"{sum(r['ran'] is not None for r in mine if r['condition'] == k)}/"
                                    f"{sum(r['condition'] == k for r in mine)}" for k in kinds)])
    return table(["path", "split", *kinds], rows)


def voice_rows(results: Sequence[dict]) -> List[str]:
    voices = sorted({r["voice"] for r in results if r["expected"] is not None})
    rows = [[name, split, *(_fraction([r for r in results if r["path"] == name and r["split"] == split
                                       and r["voice"] == v and r["expected"] is not None]) for v in voices)]
            for name, split in _rows(results)]
    return table(["path", "split", *voices], rows)


def render(results: Sequence[dict], skipped: Dict[str, str], load: Sequence[float]) -> List[str]:
    header = ["path", "split", *CONDITIONS, "false activations", "wrong command/args ran", "p50 server ms",
              "p50 server ms, 3 s clips (n)"]
    lines = [f"Recognition on bench/corpus, tiny.en int8, {machine.describe()}",
             f"1-minute load average: {load[0]:.2f} at start, {load[1]:.2f} at the end.", ""]
    lines += table(header, summary_rows(results)) + ["", "False activations by kind of negative:", ""]
    lines += negative_rows(results) + ["", "Commands right by voice (all conditions):", ""]
    lines += voice_rows(results) + [""]
    lines += [f"- {name}: {path.note}" for name, path in PATHS.items() if name not in skipped]
    lines += [f"- {name}: n/a ({why})" for name, why in skipped.items()]
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Recognition accuracy on bench/corpus through a real va server.")
    parser.add_argument("--split", choices=("heldout", "tune", "dev", "all"), default="heldout")
    parser.add_argument("--paths", default=",".join(DEFAULT_PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    parser.add_argument("--json", type=Path, help="write every clip's result and the table here")
    parser.add_argument("--limit", type=int, help="a fixed sample of this many clips (a quick look)")
    args = parser.parse_args(argv)
    clips, client = load_clips(args.split), Client()
    if args.limit:
        keep = set(random.Random(0).sample(range(len(clips)), min(args.limit, len(clips))))
        clips = [clip for index, clip in enumerate(clips) if index in keep]
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="va-recognition-") as logs:
        results, skipped = run_paths(args.paths.split(","), clips, client, Path(logs))
    lines = render(results, skipped, (start_load, os.getloadavg()[0]))
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"table": lines, "results": results}, indent=1) + "\n")
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
