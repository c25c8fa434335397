"""Markdown tables."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Sequence


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def emit(lines: Sequence[str], out: Optional[Path]) -> None:
    """Print the report, and write it to `out` too when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
