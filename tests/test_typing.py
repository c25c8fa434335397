"""`mypy va` is clean under the strictness setup.cfg's [mypy] section states (CI runs this file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_type_errors_in_va():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "setup.cfg"), str(ROOT / "va")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert "No module named mypy" not in result.stderr, "mypy is missing: pip install -e '.[test]'"
    assert result.returncode == 0, result.stdout + result.stderr
