"""The commands: what a command is (`Command`), the set of them (`Registry`), and loading them.

`load_registry(command_settings)` loads, each time afresh (the client calls it again on SIGHUP),
the modules `commands.modules` names and the files under `commands.paths` (how they are found and
imported: va.commands.loader).

A command is a public function defined in the module itself (not one imported into it); see
`va.command` for the `@command` decorator and the `setup(settings)` hook through which a module
receives the `CommandSettings`. A module that fails to import or set up, and a command whose spoken
name or alias another command already has, are logged and recorded in `Registry.failures`; every
other command still loads.
"""

from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

from va.command import SETUP_HOOK, info_of
from va.config.settings import CommandSettings
from va.commands.loader import load_file, load_named_module, python_files
from va.language.grammar import template_error
from va.language.parameters import VALUES_ATTRIBUTE, Parameter, format_call, parameters_of
from va.language.words import norms

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    """One command: `function` is called with keyword arguments bound from what was said."""

    name: str
    spoken: str
    aliases: tuple[str, ...]
    module: str
    function: Callable[..., Any] = field(repr=False)
    parameters: tuple[Parameter, ...] = ()
    help: str = ""
    sentences: tuple[str, ...] = ()
    """Sentence templates, e.g. "set a {minutes} minute timer" (see va.language.grammar)."""

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.spoken,) + self.aliases

    def call(self, args: dict) -> Any:
        return self.function(**args)

    def call_text(self, args: dict) -> str:
        """How a call reads in the logs: "set_timer(minutes=5.0)"."""
        return format_call(self.name, args)


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


def load_registry(settings: CommandSettings) -> Registry:
    """Load the commands that `settings` enables."""
    registry = Registry()
    for name in settings.modules:
        _add_module(registry, name, functools.partial(load_named_module, name), settings)
    for path in settings.paths:
        for file in python_files(Path(path).expanduser(), registry.fail):
            _add_module(registry, str(file), functools.partial(load_file, file), settings, label=file.stem)
    _LOGGER.info("loaded %d commands (%d problems)", len(registry.commands), len(registry.failures))
    return registry


def _add_module(registry: Registry, source: str, load: Callable[[], ModuleType], settings: CommandSettings, label: str = "") -> None:
    try:
        module = load()
        setup = getattr(module, SETUP_HOOK, None)
        if callable(setup):
            setup(settings)
    except (Exception, SystemExit) as error:
        _LOGGER.debug("loading %s failed", source, exc_info=True)
        registry.fail(source, _one_line(error))
        return
    for command in commands_in(module, label or source):
        registry.add(command)


def _one_line(error: BaseException) -> str:
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
        if getattr(value, VALUES_ATTRIBUTE, False):
            continue  # it lists a parameter's known values (va.command.Values)
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
