"""Recognition accuracy on the committed corpus (bench/corpus), through real `va server`s.

    .venv/bin/python -m bench.recognition [--split roomheldout|heldout|tune|dev|roomtune|room|all]
        [--paths old,new,values] [--model DIR] [--set KEY=VALUE ...] [--json OUT] [--limit N]

For each path in PATHS, a `va server` (bundled tiny.en int8, or --model, plus the path's settings;
paths with the same settings share one) starts on a free loopback port; a connection per path
and command file sends the hello the va client sends (keyword, spoken names, grammar) and then
every clip as an `audio_input` with an id, one request in flight in all, so `processing_ms` is the
server's time for that clip alone and every path sees the same machine load.

What would run is decided by the client's own code (`va.client.decide.decision` over
`va.language.matching.interpret` and the reply's reading), over the clip's split's commands
(bench/corpus/commands.py; the room splits: household.py), and judged against the manifest: a
command clip is right when the expected command ran with the expected arguments (free text
without case, punctuation or a leading article), a negative when nothing ran.

- old: the hello without grammar (the client before issue 11): the client's matcher on the transcript.
- new: the hello with the grammar: the server's reading decides (accepted: run; rejected: nothing).
- values: as new, with household_known.py's grammar (the str slots' known values declared);
  room splits only.
Tables: bench/recognition_tables.py.
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
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import procs, servers

CORPUS = procs.ROOT / "bench" / "corpus"
COMMANDS = CORPUS / "commands.py"
HOUSEHOLD = CORPUS / "household.py"
HOUSEHOLD_KNOWN = CORPUS / "household_known.py"
ROOM_SPLITS = ("roomtune", "roomheldout")
SPLITS = ("heldout", "tune", "dev") + ROOM_SPLITS
KEYWORD = "computer"
REPLY_TIMEOUT = 300.0


class Client:
    """What the va client knows and decides: its registry (a corpus command file) and its own code."""

    def __init__(self, commands: Path = COMMANDS, keyword: str = KEYWORD) -> None:
        from va.commands.registry import load_registry
        from va.config.settings import CommandSettings

        settings = dataclasses.replace(CommandSettings(), modules=(), paths=(str(commands),))
        self.registry = load_registry(settings)
        if self.registry.failures:
            raise RuntimeError(f"{commands.name}: {'; '.join(f.error for f in self.registry.failures)}")
        self.keyword, self.threshold = keyword, settings.threshold

    def hello(self, grammar: bool) -> Any:
        """The hello `va client` sends: keyword, every spoken name, and (`grammar`) its grammar."""
        from va.language.grammar_registry import grammar_of
        from va.protocol import Hello

        names = (self.keyword, tuple(self.registry.vocabulary()), "bench-recognition")
        return Hello(*names, grammar_of(self.registry)) if grammar else Hello(*names)

    def match(self, text: str) -> Optional[dict]:
        """The client's own matcher on a text: {"command", "args"} of what would run, or None."""
        from va.language.matching import interpret

        return _call(interpret(text, self.registry, self.keyword, self.threshold))

    def decide(self, reply: Any) -> Optional[dict]:
        """What the client runs for a reply (va.client.decide.decision): {"command", "args"} or None."""
        from va.client.decide import decision
        from va.language.matching import interpret

        matched = interpret(reply.text.strip(), self.registry, self.keyword, self.threshold)
        return _call(decision(matched, getattr(reply, "reading", None), self.registry))


def _call(interpretation: Any) -> Optional[dict]:
    if interpretation.command is None:
        return None
    return {"command": interpretation.command.name,
            "args": {name: _plain(value) for name, value in interpretation.args.items()}}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def old_matcher(commands: Path = COMMANDS, keyword: str = KEYWORD):
    """Today's matcher on a text (make_corpus.py --check)."""
    return Client(commands, keyword).match


@dataclasses.dataclass(frozen=True)
class RecognitionPath:
    server: Dict[str, Any]
    """`server:` settings on top of the model's."""
    grammar: bool
    """Whether the hello carries the grammar (the old path's does not: the client before issue 11)."""
    note: str
    known_values: bool = False
    """Room clips only, with household_known.py (values declared) as the client's commands."""
    engine: str = "faster-whisper"


PATHS: Dict[str, RecognitionPath] = {
    "old": RecognitionPath({"recognition": "free"}, False, "greedy transcript + the client's fuzzy matcher"),
    "new": RecognitionPath({"recognition": "grammar"}, True,
                           "server.recognition: grammar: the server's reading decides (accepted: run, rejected: "
                           "nothing), else the client's matcher"),
    "values": RecognitionPath({"recognition": "grammar"}, True,
                              "as new, the str slots' known values declared (household_known.py); room splits only",
                              known_values=True),
    "openai-old": RecognitionPath({"recognition": "free"}, False,
                                  "as old, on openai-whisper (PyTorch, the same tiny.en weights)", engine="openai-whisper"),
    "openai-new": RecognitionPath({"recognition": "grammar"}, True,
                                  "as new, on openai-whisper: guided decoding on its own decoder", engine="openai-whisper"),
}
DEFAULT_PATHS = ("old", "new", "values")


def commands_for(path: RecognitionPath, split: str) -> Optional[Path]:
    """The command file a path's client has for a split's clips (None: the path skips them)."""
    if path.known_values:
        return HOUSEHOLD_KNOWN if split in ROOM_SPLITS else None
    return HOUSEHOLD if split in ROOM_SPLITS else COMMANDS


@dataclasses.dataclass
class Clip:
    entry: dict
    pcm: bytes

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["entry"][name]
        except KeyError:
            raise AttributeError(name) from None


def chosen_splits(split: str) -> Tuple[str, ...]:
    named = {"all": SPLITS, "room": ROOM_SPLITS}
    return tuple(s for part in split.split(",") for s in named.get(part, (part,)))


def load_clips(split: str) -> List[Clip]:
    splits = chosen_splits(split)
    entries = json.loads((CORPUS / "manifest.json").read_text())
    return [Clip(e, _pcm(CORPUS / e["file"])) for e in entries if e["split"] in splits]


def _pcm(path: Path) -> bytes:
    return subprocess.run(["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", "16000", "-"],
                          check=True, capture_output=True).stdout


Target = Tuple[str, Path]
"""(path name, command file): one connection, one hello."""


async def _ask(targets: Dict[Target, tuple], clips: Sequence[Clip], paths: Dict[str, RecognitionPath]) -> List[tuple]:
    """Each clip to each path in turn on its (path, command file) connection, one request in flight
    in all: [(path name, clip, reply)]."""
    from websockets.asyncio.client import connect

    from va import protocol

    answers = []
    async with contextlib.AsyncExitStack() as stack:
        connections = {}
        for target, (url, hello) in targets.items():
            connections[target] = await stack.enter_async_context(connect(url, max_size=None))
            await connections[target].send(hello.to_json())
            await asyncio.wait_for(connections[target].recv(), REPLY_TIMEOUT)  # ready
        for index, clip in enumerate(clips):
            for name, path in paths.items():
                commands = commands_for(path, clip.split)
                if commands is None:
                    continue
                connection = connections[(name, commands)]
                await connection.send(protocol.AudioInput(clip.pcm, id=index).to_json())
                reply = protocol.parse_server_message(await asyncio.wait_for(connection.recv(), REPLY_TIMEOUT))
                if getattr(reply, "id", index) != index:
                    raise RuntimeError(f"{name}: reply for {reply.id} while waiting for {index}")
                answers.append((name, clip, reply))
    return answers


def run_paths(names: Sequence[str], clips: Sequence[Clip], logs: Path, model: Dict[str, Any]) -> tuple:
    """Servers for the paths (one per distinct settings), every clip through every path: (results, {skipped: why})."""
    skipped: Dict[str, str] = {}
    started: Dict[str, tuple] = {}
    clients: Dict[Path, Client] = {}
    targets: Dict[Target, tuple] = {}
    paths: Dict[str, RecognitionPath] = {}
    try:
        for name in names:
            path = PATHS[name]
            files = {commands_for(path, clip.split) for clip in clips} - {None}
            try:
                for file in files:
                    clients.setdefault(file, Client(file))
                key = json.dumps({**model, **path.server, "engine": path.engine}, sort_keys=True)
                if key not in started:
                    started[key] = servers.start_va(logs, path.engine, name=f"recognition-{name}",
                                                    **{**path.server, **model})
            except Exception as error:  # a path that cannot run is a line that says why
                skipped[name] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                continue
            if files:
                paths[name] = path
                targets.update({(name, file): (started[key][1], clients[file].hello(path.grammar)) for file in files})
        answers = asyncio.run(_ask(targets, clips, paths)) if targets else []
    finally:
        for server, _ in started.values():
            procs.stop(server)
    results = []
    for name, clip, reply in answers:
        client = clients[commands_for(PATHS[name], clip.split)]
        results.append(_judge(name, clip, reply, client.decide(reply) if hasattr(reply, "text") else None))
    return results, skipped


def _judge(name: str, clip: Clip, reply: Any, ran: Optional[dict]) -> dict:
    reading = getattr(reply, "reading", None)
    return {"path": name, "file": clip.file, "split": clip.split, "condition": clip.condition, "voice": clip.voice,
            "talker": clip.entry.get("talker"), "snr_db": clip.entry.get("snr_db"), "mix": clip.mix,
            "seconds": clip.seconds, "text": clip.text, "expected": clip.expected,
            "transcript": getattr(reply, "text", None), "error": getattr(reply, "message", None),
            "reading": reading.to_dict() if reading is not None else None, "ran": ran,
            "right": same_call(clip.expected, ran), "processing_ms": getattr(reply, "processing_ms", None)}


def _words(text: str) -> str:
    """Free text compared as words: no case, no punctuation, numbers as words ("80s" == "eighties")."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return " ".join(_number_words(word) for word in words)


def _bare(text: str) -> str:
    """Free text as words without a leading article: "the kitchen lights" names what "kitchen lights" does."""
    return re.sub(r"^(the|a|an) ", "", _words(text))


def _number_words(word: str) -> str:
    from va.language.numbers import number_to_words

    found = re.fullmatch(r"(\d+)(s?)", word)
    if not found:
        return word
    spoken = number_to_words(int(found[1]))
    if found[2]:
        spoken = spoken[:-1] + "ies" if spoken.endswith("y") else spoken + "s"
    return spoken


def same_call(expected: Optional[dict], got: Optional[dict]) -> bool:
    """Right command with right arguments (free text compared as _bare words); None == None."""
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
        return _bare(want) == _bare(have)
    return bool(want == have)


def _settings(pairs: Sequence[str]) -> Dict[str, Any]:
    """--set KEY=VALUE pairs as `server:` settings (values read as YAML: numbers stay numbers)."""
    import yaml

    result = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        result[key.strip()] = yaml.safe_load(value)
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    from bench.recognition_tables import render

    parser = argparse.ArgumentParser(description="Recognition accuracy on bench/corpus through a real va server.")
    parser.add_argument("--split", default="roomheldout",
                        help=f"comma-separated, of {', '.join(SPLITS)}, room (both room splits) or all")
    parser.add_argument("--paths", default=",".join(DEFAULT_PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    parser.add_argument("--model", help="server.model: a name or a CTranslate2 directory (default: bundled tiny.en)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a server setting for every path, e.g. reject_margin=14 or compute_type=int8")
    parser.add_argument("--json", type=Path, help="write every clip's result and the table here")
    parser.add_argument("--limit", type=int, help="a fixed sample of this many clips (a quick look)")
    args = parser.parse_args(argv)
    unknown = set(chosen_splits(args.split)) - set(SPLITS)
    if unknown:
        parser.error(f"unknown split {', '.join(sorted(unknown))}")
    clips = load_clips(args.split)
    if args.limit:
        keep = set(random.Random(0).sample(range(len(clips)), min(args.limit, len(clips))))
        clips = [clip for index, clip in enumerate(clips) if index in keep]
    model = {**({"model": args.model} if args.model else {}), **_settings(args.set)}
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="va-recognition-") as logs:
        results, skipped = run_paths(args.paths.split(","), clips, Path(logs), model)
    lines = render(results, skipped, (start_load, os.getloadavg()[0]), model)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"table": lines, "settings": model, "results": results}, indent=1) + "\n")
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
