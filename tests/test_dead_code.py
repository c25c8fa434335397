"""No dead code and no second copy: every module-level name of va/ is used somewhere, no two
module-level functions of va/ are the same code, and the tests start processes one way (procs.py)
on ports the serving process bound (no free_port() to bind, close and bind again).

Pure source reading (ast and a word search over va/, bench/, tests/ and commands/): no imports.
"""

from __future__ import annotations

import ast
import collections
import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {path: path.read_text() for folder in ("va", "bench", "tests", "commands") for path in (ROOT / folder).rglob("*.py")}


def _package() -> Iterator[Tuple[Path, ast.Module]]:
    for path, text in SOURCES.items():
        if path.is_relative_to(ROOT / "va"):
            yield path, ast.parse(text)


def _defined(node: ast.stmt) -> List[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _all_words(path: Path, tree: ast.Module) -> collections.Counter:
    """The words of the module's ``__all__`` (a name listed there is exported, not used)."""
    text = SOURCES[path]
    segments = [ast.get_source_segment(text, node) or "" for node in tree.body if "__all__" in _defined(node)]
    return collections.Counter(_WORD.findall(" ".join(segments)))


_WORD = re.compile(r"\w+")


def test_every_module_level_name_of_the_package_is_used_somewhere():
    words = collections.Counter(word for text in SOURCES.values() for word in _WORD.findall(text))
    unused = []
    for path, tree in _package():
        exported = _all_words(path, tree)
        for node in tree.body:
            for name in _defined(node):
                if not name.startswith("__") and words[name] - exported[name] <= 1:  # its own definition only
                    unused.append(f"{path.relative_to(ROOT)}: {name}")
    assert not unused, unused


def test_no_two_module_level_functions_of_the_package_are_the_same_code():
    bodies: Dict[str, List[str]] = collections.defaultdict(list)
    for path, tree in _package():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:]  # the docstring
                if body:
                    bodies[ast.dump(ast.Module(body=body, type_ignores=[]))].append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not [names for names in bodies.values() if len(names) > 1]


def test_the_tests_start_processes_one_way_and_bind_their_ports_where_they_serve():
    defining = sorted(path.name for path, text in SOURCES.items()
                      if path.is_relative_to(ROOT / "tests") and re.search(r"^class Process\b", text, re.MULTILINE))
    assert defining == ["procs.py"]
    others = [text for path, text in SOURCES.items() if path != Path(__file__).resolve()]
    assert not [text for text in others if "def free_port(" in text]  # ports are bound by the process that serves
