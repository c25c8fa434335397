"""Finding command modules and the commands in them, and the modules that ship with va."""

import argparse
import dataclasses
import sys
import textwrap
import time
import webbrowser
from pathlib import Path

import pytest

from va.config import CommandSettings, Settings
from va.cli.commands import cli_commands
from va.commands.loader import BUILTIN_PACKAGE
from va.commands.registry import load_registry

COMMANDS = Path(__file__).parent / "commands"
REPO = Path(__file__).parent.parent


def settings(*paths, modules=(), **changes):
    return CommandSettings(modules=tuple(modules), paths=tuple(str(p) for p in paths), **changes)


def write(path, source):
    path.write_text(textwrap.dedent(source))
    return path


# --- discovery ------------------------------------------------------------------------------------


def test_public_functions_defined_in_the_module_are_commands():
    registry = load_registry(settings(COMMANDS / "demo.py"))
    assert list(registry.commands) == [
        "add numbers", "set mode", "switch light", "paint", "multiply", "say", "remind me"
    ]  # not `join` (imported), `_private_helper`, `setup` or the Color class
    add = registry.commands["add numbers"]
    assert (add.name, add.module, add.help) == ("add_numbers", "demo", "Add two numbers.")
    assert [(p.name, p.annotation, p.kind) for p in add.parameters] == [("first", int, "int"), ("second", int, "int")]
    assert add.function(first=3, second=4) == 7
    assert registry.failures == []


def test_decorator_gives_another_spoken_name_and_aliases():
    registry = load_registry(settings(COMMANDS / "demo.py"))
    say = registry.commands["say"]
    assert say.name == "echo"
    assert say.aliases == ("repeat after me",)
    assert "say" in registry.vocabulary() and "repeat after me" in registry.vocabulary()
    assert "echo" not in registry.vocabulary()


def test_setup_hook_receives_the_command_settings():
    command_settings = settings(COMMANDS / "demo.py", allow_power=True)
    registry = load_registry(command_settings)
    assert registry.commands["paint"].function.__globals__["SETTINGS"] is command_settings


def test_a_directory_loads_every_module_and_broken_ones_are_reported():
    registry = load_registry(settings(COMMANDS / "broken", COMMANDS / "demo.py"))
    assert "still works" in registry.commands and "add numbers" in registry.commands
    sources = {Path(f.source).name: f.error for f in registry.failures}
    assert set(sources) == {"raises_on_import.py", "syntax_error.py"}
    assert sources["syntax_error.py"].startswith("SyntaxError")
    assert "syntax_error.py, line 8" in sources["syntax_error.py"]
    assert "not installed" in sources["raises_on_import.py"]
    assert "fine" not in registry.commands  # nothing of a module that failed


def test_missing_paths_and_unknown_modules_are_reported(tmp_path):
    registry = load_registry(settings(tmp_path / "nope.py", modules=["no_such_pack", "clock"]))
    assert "what time is it" in registry.commands
    errors = {f.source: f.error for f in registry.failures}
    assert "no such file" in errors[str(tmp_path / "nope.py")]
    assert "no command module named 'no_such_pack'" in errors["no_such_pack"]


def test_duplicate_spoken_names_are_reported_and_the_first_kept(tmp_path):
    write(tmp_path / "a.py", "def lights_on():\n    return 'a'\n")
    write(
        tmp_path / "b.py",
        """
        from va.command import command

        @command(aliases=["lights on"])
        def lamp():
            return 'b'

        def other():
            return 'other'
        """,
    )
    registry = load_registry(settings(tmp_path))
    assert registry.commands["lights on"].function() == "a"
    assert "lamp" not in registry.commands and "other" in registry.commands
    [failure] = registry.failures
    assert failure.source == "b"
    assert "'lights on'" in failure.error and "a.lights_on" in failure.error


def test_reload_picks_up_an_edited_file(tmp_path):
    module = write(tmp_path / "mine.py", "def greet():\n    return 'old'\n")
    first = load_registry(settings(module))
    write(module, "def greet():\n    return 'new'\n\ndef wave():\n    return 'hi'\n")
    second = load_registry(settings(module))
    assert second.commands["greet"].function() == "new"
    assert "wave" in second.commands
    assert first.commands["greet"].function() == "old"  # the old registry keeps working until replaced


def test_builtin_modules_load_by_name_from_the_source_tree():
    registry = load_registry(settings(modules=["clock", "system", "web"]))
    assert registry.failures == []
    assert {"what time is it", "set timer", "set volume", "shut down", "open website", "search for"} <= set(registry.commands)
    package_dir = Path(sys.modules[BUILTIN_PACKAGE].__file__).resolve().parent
    if "site-packages" not in str(package_dir):  # not installed: found next to va/ by path
        assert package_dir == REPO / "commands"
    clock_file = Path(registry.commands["set timer"].function.__code__.co_filename).resolve()
    assert clock_file == package_dir / "clock.py"
    assert registry.commands["set timer"].module == "clock"


@pytest.fixture
def pack_site(tmp_path, monkeypatch):
    """A real installed-style pack: a package plus a .dist-info declaring a va.commands entry point."""
    site = tmp_path / "site"
    package = site / "va_test_pack"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    write(package / "lights.py", "def lights_on():\n    '''Turn the lights on.'''\n    return 'on'\n")
    info = site / "va_test_pack-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: va-test-pack\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[va.commands]\nlights = va_test_pack.lights\n")
    monkeypatch.syspath_prepend(str(site))
    yield package
    for name in [name for name in sys.modules if name.startswith("va_test_pack")]:
        del sys.modules[name]


def test_entry_point_pack_is_enabled_by_name(pack_site):
    registry = load_registry(settings(modules=["lights"]))
    assert registry.failures == []
    command = registry.commands["lights on"]
    assert (command.module, command.help, command.function()) == ("lights", "Turn the lights on.", "on")
    assert "lights on" not in load_registry(settings(modules=["clock"])).commands  # only when enabled

    write(pack_site / "lights.py", "def lights_on():\n    return 'on again'\n\ndef lights_off():\n    return 'off'\n")
    reloaded = load_registry(settings(modules=["lights"]))
    assert reloaded.commands["lights on"].function() == "on again"
    assert "lights off" in reloaded.commands


def test_importable_module_by_dotted_name(pack_site):
    registry = load_registry(settings(modules=["va_test_pack.lights"]))
    assert list(registry.commands) == ["lights on"]


def test_cli_commands_lists_commands_then_failures(capsys):
    app_settings = dataclasses.replace(Settings(), commands=settings(COMMANDS / "broken", COMMANDS / "demo.py", modules=["clock"]))
    status = cli_commands(argparse.Namespace(config=None, debug=False), app_settings)
    out = capsys.readouterr().out
    assert status == 1
    assert "set timer  (minutes: float)  [clock.set_timer]" in out
    assert "add numbers  (first: int, second: int)  [demo.add_numbers]  Add two numbers." in out
    assert "switch light  (on: bool, room: str = 'kitchen')" in out
    assert "also: repeat after me" in out
    failures = out.split("failed to load:")[1]
    assert "syntax_error.py: SyntaxError" in failures and "raises_on_import.py" in failures


def test_cli_commands_succeeds_when_everything_loads(capsys):
    app_settings = dataclasses.replace(Settings(), commands=settings(modules=["clock"]))
    assert cli_commands(argparse.Namespace(config=None, debug=False), app_settings) == 0
    assert "failed to load" not in capsys.readouterr().out


# --- the modules that ship with va ----------------------------------------------------------------


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """PATH holding only the tools a test creates; each records its arguments in a log file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("VA_FAKE_LOG", str(log))

    def make(name, status=0):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "$VA_FAKE_LOG"\necho "{name} said no" >&2\nexit {status}\n')
        tool.chmod(0o755)

    make.calls = lambda: log.read_text().splitlines() if log.exists() else []
    return make


def builtin(spoken, **changes):
    registry = load_registry(settings(modules=["clock", "system", "web"], **changes))
    return registry.commands[spoken].function


def test_clock_says_time_and_date():
    assert builtin("what time is it")().startswith("It is ")
    assert builtin("what day is it")().startswith("Today is ")


def test_timer_rings_out_loud_and_can_be_cancelled(fake_bin):
    fake_bin("espeak-ng")
    assert builtin("set timer")(minutes=0.001) == "Timer set for 0.001 minutes."
    deadline = time.monotonic() + 30
    while not fake_bin.calls() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_bin.calls() == ["espeak-ng Your 0.001 minutes timer is done."]

    builtin("set timer")(minutes=10)
    assert builtin("cancel timers")() == "Cancelled 1 timer."
    assert builtin("cancel timers")() == "No timers were running."
    with pytest.raises(ValueError, match="between 0 and"):
        builtin("set timer")(minutes=0)


def test_cancel_reaches_timers_set_before_a_reload():
    builtin("set timer")(minutes=10)
    assert builtin("cancel timers")() == "Cancelled 1 timer."  # a fresh load_registry between the two


def test_volume_uses_the_installed_mixer(fake_bin):
    fake_bin("amixer")
    assert builtin("set volume")(percent=70) == "Volume set to 70 percent."
    builtin("volume up")()
    builtin("mute")()
    assert fake_bin.calls() == ["amixer -q sset Master 70%", "amixer -q sset Master 10%+", "amixer -q sset Master mute"]
    fake_bin("wpctl")  # PipeWire is preferred when present
    builtin("set volume")(percent=5)
    assert fake_bin.calls()[-1] == "wpctl set-volume -l 1.0 @DEFAULT_AUDIO_SINK@ 5%"
    with pytest.raises(ValueError, match="between 0 and 100"):
        builtin("set volume")(percent=101)


def test_volume_errors_are_clear(fake_bin):
    with pytest.raises(RuntimeError, match="no volume control found"):
        builtin("set volume")(percent=50)
    fake_bin("pactl", status=1)
    with pytest.raises(RuntimeError, match="pactl said no"):
        builtin("volume down")()


def test_power_commands_refuse_unless_allowed(fake_bin):
    fake_bin("systemctl")
    with pytest.raises(PermissionError, match="allow_power"):
        builtin("shut down")()
    with pytest.raises(PermissionError, match="allow_power"):
        builtin("reboot")()
    assert fake_bin.calls() == []
    assert builtin("shut down", allow_power=True)() == "Shutting down."
    assert builtin("reboot", allow_power=True)() == "Rebooting."
    assert fake_bin.calls() == ["systemctl poweroff", "systemctl reboot"]


def test_uptime():
    assert builtin("uptime")().startswith("Up for ")


def test_web_refuses_without_a_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="no display"):
        builtin("open website")(site="github dot com")
    with pytest.raises(RuntimeError, match="no display"):
        builtin("search for")(query="cats")


@pytest.fixture
def fake_browser(fake_bin, monkeypatch):
    """A desktop whose browser is a fake that records the address it is asked to open."""
    fake_bin("firefox")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("BROWSER", "firefox")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER afresh
    return fake_bin


@pytest.mark.parametrize("site", ["file:///etc/passwd", "ftp://example.com", "javascript://x.com/%0aalert(1)"])
def test_web_opens_only_http_addresses(fake_browser, site):
    with pytest.raises(RuntimeError, match="only http and https"):
        builtin("open website")(site=site)
    builtin("open website")(site="http://example.com/a")
    builtin("open website")(site="github dot com")
    assert fake_browser.calls() == ["firefox http://example.com/a", "firefox https://github.com"]


@pytest.mark.parametrize(
    "site, url",
    [("github dot com", "https://github.com"), ("GitHub.com", "https://github.com"), ("wikipedia", "https://wikipedia.com")],
)
def test_site_urls(site, url):
    site_url = builtin("open website").__globals__["_site_url"]
    assert site_url(site) == url
