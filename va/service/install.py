"""`sudo va install [--server] [--prefix DIR] [--no-start]`: the systemd units, user and config.

Puts in place, under the prefix (default /):
    etc/systemd/system/va-client.service (and va-server.service), ExecStart= pointing at this va
    etc/va/config.yaml       the commented example, only when there is none yet
    etc/va/commands/         for your own command modules
then, on the real root and unless --no-start: creates the system user `va` (in group audio),
`systemctl daemon-reload` and `systemctl enable --now` the units.
"""

from __future__ import annotations

import argparse
import grp
import logging
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from va.config.settings import Settings

_LOGGER = logging.getLogger(__name__)

USER = "va"
UNITS = ("va-server.service", "va-client.service")
_PLACEHOLDER = "/usr/local/bin/va"


def data_file(*parts: str) -> Path:
    """A file shipped with va: from the source checkout, else from the wheel's data files."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "setup.cfg").exists() and checkout.joinpath(*parts).exists():
        return checkout.joinpath(*parts)
    # setup.cfg [options.data_files] installs them under <data>/share/va/
    for base in (sysconfig.get_path("data"), sys.prefix, sysconfig.get_path("data", f"{os.name}_user")):
        installed = Path(base, "share", "va", *parts)
        if installed.exists():
            return installed
    raise FileNotFoundError(f"{'/'.join(parts)} is not shipped with this installation of va")


def va_command() -> list:
    """How systemd should start this very installation of va."""
    script = Path(sys.argv[0])
    if script.name == "va" and script.is_file():
        return [str(script.absolute())]
    beside = Path(sys.executable).parent / "va"  # the console script of this interpreter's environment
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    return [sys.executable, "-m", "va"]


def render_unit(text: str, command: list) -> str:
    """The unit file with ExecStart= running `command` instead of /usr/local/bin/va."""
    executable = shlex.join(command)
    return re.sub(rf"^(ExecStart=){re.escape(_PLACEHOLDER)}(?= )", lambda m: m.group(1) + executable, text, flags=re.M)


def cli_install(args: argparse.Namespace, settings: Settings) -> int:
    prefix = Path(args.prefix)
    real_root = prefix.resolve() == Path("/")
    if real_root and os.geteuid() != 0:
        print("va install writes to /etc and creates a system user: run it as root (sudo va install)", file=sys.stderr)
        return 1
    units = UNITS if args.server else ("va-client.service",)
    if real_root:
        try:
            ensure_user()
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"cannot create the system user {USER}: {error}", file=sys.stderr)
            return 1
    unit_dir = prefix / "etc/systemd/system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    command = va_command()
    if _hidden_from_services(Path(command[0])):
        print(
            f"warning: {command[0]} is under a home directory, which the units hide from the service "
            "(ProtectHome) and user va cannot read: install va outside it, e.g. "
            "python3 -m venv /opt/va && /opt/va/bin/pip install 'va[client,server,systemd]'",
            file=sys.stderr,
        )
    for unit in units:
        (unit_dir / unit).write_text(render_unit(data_file("systemd", unit).read_text(), command))
        print(f"wrote {unit_dir / unit}")
    install_config(prefix / "etc/va", real_root)
    if not real_root or args.no_start:
        print("not started: systemctl daemon-reload && systemctl enable --now " + " ".join(units))
        return 0
    if not systemd_booted():
        print(
            "not enabled and not started: this system was not booted with systemd (a container or a chroot?); "
            "on the booted system run: systemctl daemon-reload && systemctl enable --now " + " ".join(units),
            file=sys.stderr,
        )
        return 0
    return _systemctl(["daemon-reload"]) or _systemctl(["enable", "--now", *units])


def systemd_booted() -> bool:
    """Whether systemd runs this system (sd_booted(3): /run/systemd/system exists)."""
    return Path("/run/systemd/system").is_dir()


def _hidden_from_services(executable: Path) -> bool:
    return any(executable.absolute().is_relative_to(home) for home in ("/home", "/root", "/run/user"))


def install_config(etc: Path, real_root: bool) -> None:
    """etc/va/config.yaml from the example unless present (it may hold a token: not world-readable)."""
    (etc / "commands").mkdir(parents=True, exist_ok=True)
    config = etc / "config.yaml"
    if config.exists():
        print(f"kept {config}")
        return
    shutil.copyfile(data_file("config", "config.yaml"), config)
    config.chmod(0o640)
    if real_root:
        os.chown(config, 0, grp.getgrnam(USER).gr_gid)
    print(f"wrote {config}")


def ensure_user() -> None:
    """The system user `va`, in group audio (for the microphone) when that group exists."""
    groups = ["audio"] if _group_exists("audio") else []
    try:
        pwd.getpwnam(USER)
    except KeyError:
        nologin = shutil.which("nologin") or "/usr/sbin/nologin"
        command = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/va"]
        command += ["--shell", nologin] + (["--groups", ",".join(groups)] if groups else []) + [USER]
        subprocess.run(command, check=True)
        print(f"created system user {USER}")
        return
    if groups and USER not in grp.getgrnam("audio").gr_mem:
        subprocess.run(["usermod", "--append", "--groups", "audio", USER], check=True)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _systemctl(arguments: list) -> int:
    result = subprocess.run(["systemctl", *arguments])
    if result.returncode != 0:
        print(f"systemctl {' '.join(arguments)} failed (exit {result.returncode})", file=sys.stderr)
        return 1
    return 0
