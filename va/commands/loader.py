"""Finding and importing command modules, afresh on every load.

- A name in `commands.modules` is looked up in this order:
  1. a module shipped with va, `va_commands.<name>` (the top-level `commands/` directory; when va
     runs from a source tree without being installed, that directory is loaded by path);
  2. an installed pack declaring an entry point `<name> = some.module` in the group `va.commands`;
  3. an importable module of that dotted name ("mypackage.lights").
  Modules imported before are re-executed (`importlib.reload`) so edits are picked up.
- A path in `commands.paths` is a .py file, or a directory whose *.py files (not starting with
  "_") are loaded. Each file is compiled from source under a new module name on every load.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import itertools
import logging
import re
import sys
from pathlib import Path
from types import CodeType, ModuleType
from typing import Callable, Iterable

_LOGGER = logging.getLogger(__name__)

BUILTIN_PACKAGE = "va_commands"
ENTRY_POINT_GROUP = "va.commands"
_SOURCE_TREE_COMMANDS = Path(__file__).resolve().parents[2] / "commands"


def load_named_module(name: str) -> ModuleType:
    """A built-in command module, else an entry-point pack, else an importable module."""
    if _builtin_exists(name):
        return _import_fresh(f"{BUILTIN_PACKAGE}.{name}")
    entry_point = _entry_point(name)
    if entry_point is not None:
        module = _import_fresh(entry_point.module)
        for attribute in filter(None, (entry_point.attr or "").split(".")):
            module = getattr(module, attribute)
        if not isinstance(module, ModuleType):
            raise TypeError(f"entry point {entry_point.value!r} in group {ENTRY_POINT_GROUP} is not a module")
        return module
    try:
        return _import_fresh(name)
    except ModuleNotFoundError as error:
        if error.name != name.split(".")[0] and error.name != name:
            raise
        raise ModuleNotFoundError(
            f"no command module named {name!r}: not shipped with va, no installed pack declares it in the "
            f"entry point group {ENTRY_POINT_GROUP!r}, and no importable module has that name",
            name=name,
        ) from None


def _builtin_exists(name: str) -> bool:
    if "." in name or not _builtin_package():
        return False
    try:
        return importlib.util.find_spec(f"{BUILTIN_PACKAGE}.{name}") is not None
    except (ImportError, ValueError):
        return False


def _builtin_package() -> ModuleType | None:
    """`va_commands`, imported if installed, else loaded from the source tree's commands/ directory."""
    if BUILTIN_PACKAGE in sys.modules:
        return sys.modules[BUILTIN_PACKAGE]
    try:
        return importlib.import_module(BUILTIN_PACKAGE)
    except ModuleNotFoundError as error:
        if error.name != BUILTIN_PACKAGE:
            raise
    init = _SOURCE_TREE_COMMANDS / "__init__.py"
    if not init.is_file():
        return None
    spec = importlib.util.spec_from_file_location(
        BUILTIN_PACKAGE, init, submodule_search_locations=[str(_SOURCE_TREE_COMMANDS)]
    )
    if spec is None or spec.loader is None:
        return None
    package = importlib.util.module_from_spec(spec)
    sys.modules[BUILTIN_PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def _entry_point(name: str) -> importlib.metadata.EntryPoint | None:
    points = importlib.metadata.entry_points()
    group = points.select(group=ENTRY_POINT_GROUP) if hasattr(points, "select") else points.get(ENTRY_POINT_GROUP, ())
    return next((point for point in group if point.name == name), None)


def _import_fresh(name: str) -> ModuleType:
    if name in sys.modules:
        return importlib.reload(sys.modules[name])
    return importlib.import_module(name)


class _FreshLoader(importlib.machinery.SourceFileLoader):
    """Compiles from source every time: cached bytecode is keyed by mtime in whole seconds, so a
    file edited within the same second as the last load would otherwise run the old code."""

    def get_code(self, fullname: str) -> CodeType:
        return self.source_to_code(self.get_data(self.path), self.path)


class _FileModules:
    """The module names given to command files: a new one per load, so a reload sees the edits,
    and the previous load's module leaves sys.modules."""

    def __init__(self) -> None:
        self._generation = itertools.count(1)
        self._latest: dict[str, str] = {}  # file path -> module name of its latest load

    def load(self, path: Path) -> ModuleType:
        """Execute a .py file as a new module (a unique name per load, so a reload sees its edits)."""
        stem = re.sub(r"\W", "_", path.stem)
        name = f"va_user_commands_{next(self._generation)}_{stem}"
        spec = importlib.util.spec_from_file_location(name, path, loader=_FreshLoader(name, str(path)))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        previous = self._latest.pop(str(path), None)
        if previous:
            sys.modules.pop(previous, None)
        sys.modules[name] = module  # dataclasses and pickle look their module up there
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        self._latest[str(path)] = name
        return module


load_file = _FileModules().load


def python_files(path: Path, fail: Callable[[str, str], None]) -> Iterable[Path]:
    """The command files `path` (a commands.paths entry) stands for; `fail(source, why)` if none."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
    if path.is_file() and path.suffix == ".py":
        return [path]
    if not path.exists() and path.suffix != ".py":
        # a folder for user commands that nobody has created yet (the example's /etc/va/commands)
        _LOGGER.warning("commands.paths: %s does not exist; no user commands loaded from it", path)
        return []
    fail(str(path), "commands.paths: not a .py file or a directory" if path.exists() else "no such file")
    return []
