"""The optional `@command` decorator for command modules.

A command module is a plain Python file. Every public function defined in it is a command whose
spoken name is its name split on underscores (`set_timer` -> "set timer"); its docstring's first
line is its help. The decorator only adds what a name cannot say:

    from va.command import command

    @command(name="what's the date", aliases=["what day is it", "date"])
    def what_day_is_it() -> str:
        "Say today's date."

Sentence templates say a command in other word orders; a `{slot}` takes the parameter of that name:

    @command(sentences=["set a {minutes} minute timer", "timer for {minutes} minutes"])
    def set_timer(minutes: float) -> str: ...

A number parameter may say which values it takes; the server's reading of what was said then
takes only a value in range ("set volume to family" is read as 70, not 170):

    from typing import Annotated
    from va.command import Range

    def set_volume(percent: Annotated[int, Range(0, 100)]) -> str: ...

A free-text parameter may name the values it usually takes (devices, artists, sites): the
recognizer listens for them first, and any other words are still taken as said:

    from typing import Annotated
    from va.command import Values

    def turn_on(device: Annotated[str, Values("kitchen lights", "bedroom fan")]) -> str: ...

    def _artists():               # a function of the module, called each time the commands load
        return sorted(path.name for path in MUSIC.iterdir())

    def play_music(artist: Annotated[str, Values(_artists)]) -> str: ...

Settings reach a module through an optional module-level hook, called once each time the registry
loads the module (so again after a reload):

    def setup(settings):          # va.config.CommandSettings: .allow_power, .timeout, ...
        global _ALLOW_POWER
        _ALLOW_POWER = settings.allow_power

`setup` itself is therefore never a command. A `setup` that raises makes the module fail to load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar, overload

from va.language.parameters import Range, Values

__all__ = ["Range", "Values", "command", "info_of"]

ATTRIBUTE = "__va_command__"
SETUP_HOOK = "setup"

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class CommandInfo:
    """What `@command` recorded: another spoken name and/or aliases."""

    name: str | None = None
    aliases: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()


@overload
def command(function: F) -> F: ...


@overload
def command(
    function: None = None, *, name: str | None = None, aliases: Iterable[str] = (), sentences: Iterable[str] = ()
) -> Callable[[F], F]: ...


def command(
    function: F | None = None, *, name: str | None = None, aliases: Iterable[str] = (), sentences: Iterable[str] = ()
) -> F | Callable[[F], F]:
    """Mark a command with another spoken name, aliases or sentence templates; `@command` or `@command(...)`."""
    if isinstance(aliases, str):
        aliases = (aliases,)  # a single alias given as a string, not its letters
    if isinstance(sentences, str):
        sentences = (sentences,)
    info = CommandInfo(name, tuple(aliases), tuple(sentences))

    def mark(target: F) -> F:
        setattr(target, ATTRIBUTE, info)
        return target

    return mark(function) if function is not None else mark


def info_of(function: Callable) -> CommandInfo:
    return getattr(function, ATTRIBUTE, None) or CommandInfo()
