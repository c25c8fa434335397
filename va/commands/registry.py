"""Discover command modules and the commands in them.

`load_registry(command_settings)` loads, each time afresh (the client calls it again on SIGHUP):
- every name in `commands.modules`, looked up in this order:
  1. a module shipped with va, `va_commands.<name>` (the top-level `commands/` directory; when va
     runs from a source tree without being installed, that directory is loaded by path);
  2. an installed pack declaring an entry point `<name> = some.module` in the group `va.commands`;
  3. an importable module of that dotted name ("mypackage.lights").
  Modules imported before are re-executed (`importlib.reload`) so edits are picked up.
- every path in `commands.paths`: a .py file, or a directory whose *.py files (not starting with
  "_") are loaded. Each file is compiled from source under a new module name on every load.

A command is a public function defined in the module itself (not one imported into it); see
`va.command` for the `@command` decorator and the `setup(settings)` hook through which a module
receives the `CommandSettings`. A module that fails to import or set up, and a command whose spoken
name or alias another command already has, are logged and recorded in `Registry.failures`; every
other command still loads.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import itertools
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator

from va.language.arguments import Parameter, parameters_of
from va.language.words import norms
from va.command import SETUP_HOOK, info_of
from va.language.grammar import template_error

_LOGGER = logging.getLogger(__name__)

BUILTIN_PACKAGE = "va_commands"
ENTRY_POINT_GROUP = "va.commands"
_SOURCE_TREE_COMMANDS = Path(__file__).resolve().parents[2] / "commands"
_generation = itertools.count(1)


@dataclass(frozen=True)
class Command:
    """One command: `function` is called with keyword arguments bound from what was said."""

    name: str
    spoken: str
    aliases: tuple[str, ...]
    module: str
    function: Callable = field(repr=False)
    parameters: tuple[Parameter, ...] = ()
    help: str = ""
    sentences: tuple[str, ...] = ()
    """Sentence templates, e.g. "set a {minutes} minute timer" (see va.language.grammar)."""

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.spoken,) + self.aliases

    def call(self, args: dict) -> Any:
        return self.function(**args)


@dataclass(frozen=True)
class LoadFailure:
    source: str
    error: str


@dataclass
class Registry:
    commands: dict[str, Command] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)

    def vocabulary(self) -> list[str]:
        """Every spoken name and alias, for the server's decoding prompt."""
        return [phrase for command in self.commands.values() for phrase in command.phrases]

    def phrases(self) -> Iterator[tuple[str, Command]]:
        for command in self.commands.values():
            for phrase in command.phrases:
                yield phrase, command

    def add(self, command: Command) -> None:
        names = [parameter.name for parameter in command.parameters]
        for sentence in command.sentences:
            error = template_error(sentence, names)
            if error:
                self.fail(command.module, f"{command.module}.{command.name}: {error}; {command.name} is not loaded")
                return
        taken = {phrase: other for phrase, other in self.phrases()}
        for phrase in command.phrases:
            if phrase in taken:
                other = taken[phrase]
                self.fail(
                    command.module,
                    f"{command.module}.{command.name}: spoken name {phrase!r} is already used by "
                    f"{other.module}.{other.name}; {command.name} is not loaded",
                )
                return
        self.commands[command.spoken] = command

    def fail(self, source: str, error: str) -> None:
        _LOGGER.error("command module %s: %s", source, error)
        self.failures.append(LoadFailure(source, error))


def load_registry(settings: Any) -> Registry:
    """Load the commands that `settings` (a va.config.CommandSettings) enables."""
    registry = Registry()
    for name in settings.modules:
        _add_module(registry, name, lambda name=name: load_named_module(name), settings)
    for path in settings.paths:
        for file in _python_files(registry, Path(path).expanduser()):
            _add_module(registry, str(file), lambda file=file: load_file(file), settings, label=file.stem)
    _LOGGER.info("loaded %d commands (%d problems)", len(registry.commands), len(registry.failures))
    return registry


def _add_module(registry: Registry, source: str, load: Callable[[], ModuleType], settings: Any, label: str = "") -> None:
    try:
        module = load()
        setup = getattr(module, SETUP_HOOK, None)
        if callable(setup):
            setup(settings)
    except (Exception, SystemExit) as error:
        _LOGGER.debug("loading %s failed", source, exc_info=True)
        registry.fail(source, _describe(error))
        return
    for command in commands_in(module, label or source):
        registry.add(command)


def _describe(error: BaseException) -> str:
    """One line: "SyntaxError: invalid syntax (clock.py, line 8)", "ImportError: No module named 'x'"."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def commands_in(module: ModuleType, label: str) -> list[Command]:
    """The public functions defined in `module` (in definition order), as commands."""
    commands = []
    for attribute, value in list(vars(module).items()):
        if attribute.startswith("_") or attribute == SETUP_HOOK or not inspect.isfunction(value):
            continue
        if value.__module__ != module.__name__:
            continue  # imported into the module, not defined there
        commands.append(_command(value, label))
    return commands


def _command(function: Callable, label: str) -> Command:
    info = info_of(function)
    spoken = spoken_form(info.name or function.__name__)
    aliases = tuple(dict.fromkeys(a for a in map(spoken_form, info.aliases) if a and a != spoken))
    doc = inspect.getdoc(function) or ""
    help_ = next((line.strip() for line in doc.splitlines() if line.strip()), "")
    parameters = parameters_of(function)
    return Command(function.__name__, spoken, aliases, label, function, parameters, help_, info.sentences)


def spoken_form(name: str) -> str:
    """"set_timer" -> "set timer"; "What's the date?" -> "whats the date" (as transcripts are matched)."""
    return norms(name)


# --- finding and importing modules -------------------------------------------------------------


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

    def get_code(self, fullname: str):
        return self.source_to_code(self.get_data(self.path), self.path)


_USER_MODULES: dict[str, str] = {}  # file path -> module name of its latest load


def load_file(path: Path) -> ModuleType:
    """Execute a .py file as a new module (a unique name per load, so a reload sees its edits)."""
    stem = re.sub(r"\W", "_", path.stem)
    name = f"va_user_commands_{next(_generation)}_{stem}"
    loader = _FreshLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    previous = _USER_MODULES.pop(str(path), None)
    if previous:
        sys.modules.pop(previous, None)
    sys.modules[name] = module  # dataclasses and pickle look their module up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _USER_MODULES[str(path)] = name
    return module


def _python_files(registry: Registry, path: Path) -> Iterable[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
    if path.is_file() and path.suffix == ".py":
        return [path]
    if not path.exists() and path.suffix != ".py":
        # a folder for user commands that nobody has created yet (the example's /etc/va/commands)
        _LOGGER.warning("commands.paths: %s does not exist; no user commands loaded from it", path)
        return []
    registry.fail(str(path), "commands.paths: not a .py file or a directory" if path.exists() else "no such file")
    return []


# --- va commands --------------------------------------------------------------------------------


def cli_commands(args: Any, settings: Any) -> int:
    """`va commands`: every command, then the modules that failed. Exit 1 when something failed."""
    from va.client.remote import describe_others

    registry = load_registry(settings.commands)
    for line in describe_registry(registry) + describe_others(settings):
        print(line)
    return 1 if registry.failures else 0


def describe_registry(registry: Registry) -> list[str]:
    lines = []
    for command in registry.commands.values():
        parameters = ", ".join(parameter.describe() for parameter in command.parameters)
        lines.append(f"{command.spoken}  ({parameters})  [{command.module}.{command.name}]  {command.help}".rstrip())
        if command.aliases:
            lines.append("    also: " + ", ".join(command.aliases))
        if command.sentences:
            lines.append("    sentences: " + ", ".join(repr(sentence) for sentence in command.sentences))
    if not registry.commands:
        lines.append("no commands are enabled")
    if registry.failures:
        lines.append("")
        lines.append("failed to load:")
        lines.extend(f"  {failure.source}: {failure.error}" for failure in registry.failures)
    return lines
