"""What `pip install .` (not editable) puts in place: every package of va, and the shipped files.

An editable install and the tests' PYTHONPATH see the source tree, so a package missing from
setup.cfg only shows in a real install (tests/test_pi_install.py does one, in a chroot); this
finds it in a second.
"""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _options() -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config["options"]


def test_every_package_under_va_is_listed_in_setup_cfg():
    listed = set(_options()["packages"].split())
    packages = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "va").rglob("__init__.py")}
    assert packages - listed == set()


def test_the_data_files_exist():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    for files in config["options.data_files"].values():
        for name in files.split():
            assert (ROOT / name).is_file(), name
