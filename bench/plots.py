"""Bar charts, as SVG, of the bench's Markdown tables (no plotting library needed).

    python -m bench.plots docs/benchmarks.md --out site-plots/

Each table to draw is followed by a marker naming the row label column and the value columns:

    <!-- plot: label="setting" values="p50; p90" unit="ms" -->

(`label="engine + window"` joins two columns into the row's label.)

A cell is read as a number ("145 ms", "1,430 ms"), a range over runs ("256-284 ms": a bar to the
low end, a whisker to the high one) or a count with its share ("48/54 (89%)", "98% (39/40)": the percentage).
The docs build (docs/hooks.py) puts each chart under its table, so a plot cannot drift from it.
"""

from __future__ import annotations

import argparse
import html
import re
import shlex
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

MARKER = re.compile(r"<!-- plot: (?P<spec>.*?) -->")
_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_RANGE = re.compile(rf"({_NUMBER})\s*(?:-|to)\s*({_NUMBER})")
_SHARE = re.compile(r"\((\d+(?:\.\d+)?)%\)|^(\d+(?:\.\d+)?)\s*%")
_ONE = re.compile(_NUMBER)
COLOURS = ("#3f51b5", "#ef6c00", "#2e7d32", "#8e24aa", "#00838f", "#c62828")


class Value(NamedTuple):
    low: float
    high: float


class Spec(NamedTuple):
    label: str
    values: list[str]
    unit: str
    title: str


def parse_spec(text: str) -> Spec:
    """`label="setting" values="p50; p90" unit="ms"` -> Spec."""
    fields = dict(item.split("=", 1) for item in shlex.split(text))
    values = [name.strip() for name in fields.get("values", "").split(";") if name.strip()]
    if "label" not in fields or not values:
        raise ValueError(f"plot marker needs label=... and values=...: {text!r}")
    return Spec(fields["label"], values, fields.get("unit", ""), fields.get("title", ""))


def read_table(lines: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a Markdown table (header row, rule, rows) as dicts of cell text."""
    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]

    header = cells(lines[0])
    return [dict(zip(header, cells(line))) for line in lines[2:]]


def read_value(cell: str) -> Optional[Value]:
    """A cell's number, range or percentage; None for an empty or unreadable cell."""
    cell = cell.replace("`", "")
    share = _SHARE.search(cell.strip())
    if share:
        percent = float(share.group(1) or share.group(2))
        return Value(percent, percent)
    found = _RANGE.match(cell.strip()) or None
    if found:
        low, high = (float(group.replace(",", "")) for group in found.groups())
        return Value(min(low, high), max(low, high))
    one = _ONE.search(cell)
    return Value(float(one.group().replace(",", "")), float(one.group().replace(",", ""))) if one else None


def table_before(text: str, position: int) -> list[str]:
    """The lines of the Markdown table that ends right before `position`."""
    lines = text[:position].rstrip("\n").split("\n")
    table: list[str] = []
    while lines and lines[-1].lstrip().startswith("|"):
        table.insert(0, lines.pop())
    if len(table) < 3:
        raise ValueError("a plot marker must follow a table directly")
    return table


def svg(rows: list[dict[str, str]], spec: Spec) -> str:
    """Horizontal bars, one group per row, one bar per value column; whiskers show ranges."""
    bars = [(_label(row, spec.label), [read_value(row.get(name, "")) for name in spec.values]) for row in rows]
    top = max((value.high for _, values in bars for value in values if value), default=1.0) or 1.0
    left, width, bar, gap = 330, 380, 14, 10
    group = bar * len(spec.values) + gap
    legend = 18 * len(spec.values) if len(spec.values) > 1 else 0
    height = 30 + legend + group * len(bars) + 20
    full = left + width + 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {full} {height}" width="{full}" height="{height}" '
           f'role="img" aria-label="{html.escape(spec.title or spec.label)}" '
           'style="max-width:100%;height:auto;font:12px sans-serif">']
    if spec.title:
        out.append(f'<text x="4" y="16" font-weight="bold">{html.escape(spec.title)}</text>')
    for index, name in enumerate(spec.values if legend else []):
        y = 24 + 18 * index
        out.append(f'<rect x="{left}" y="{y}" width="10" height="10" fill="{COLOURS[index % len(COLOURS)]}"/>'
                   f'<text x="{left + 14}" y="{y + 9}">{html.escape(_plain(name))}</text>')
    y = 30 + legend
    for label, values in bars:
        out.append(f'<text x="{left - 6}" y="{y + group / 2}" text-anchor="end">{html.escape(_short(_plain(label), 52))}</text>')
        for index, value in enumerate(values):
            out.extend(_bar(value, left, y + index * bar, bar - 2, width / top, COLOURS[index % len(COLOURS)], spec.unit))
        y += group
    out.append(f'<line x1="{left}" y1="{30 + legend}" x2="{left}" y2="{y - gap}" stroke="#555"/></svg>')
    return "\n".join(out)


def _bar(value: Optional[Value], x: float, y: float, thick: float, scale: float, colour: str, unit: str) -> list[str]:
    if value is None:
        return [f'<text x="{x + 4}" y="{y + thick - 2}" fill="#777">n/a</text>']
    parts = [f'<rect x="{x}" y="{y}" width="{max(1.0, value.low * scale):.1f}" height="{thick}" fill="{colour}"/>']
    if value.high > value.low:
        x1, x2, mid = x + value.low * scale, x + value.high * scale, y + thick / 2
        parts.append(f'<line x1="{x1:.1f}" y1="{mid}" x2="{x2:.1f}" y2="{mid}" stroke="{colour}" stroke-width="2"/>'
                     f'<line x1="{x2:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y + thick}" stroke="{colour}" stroke-width="2"/>')
    text = f"{value.low:g}" if value.high == value.low else f"{value.low:g}-{value.high:g}"
    parts.append(f'<text x="{x + value.high * scale + 4:.1f}" y="{y + thick - 2}">{text}{html.escape(unit)}</text>')
    return parts


def _label(row: dict[str, str], label: str) -> str:
    """A row's label: one column, or several joined (`label="engine + encoder window"`)."""
    return ", ".join(row.get(name.strip(), "?") for name in label.split(" + "))


def _plain(text: str) -> str:
    return re.sub(r"[`*]", "", text)


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def plots(text: str) -> list[tuple[re.Match, str]]:
    """Every marker of a Markdown page with the SVG of the table above it."""
    return [(match, svg(read_table(table_before(text, match.start())), parse_spec(match.group("spec"))))
            for match in MARKER.finditer(text)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plots", description=__doc__.split("\n")[0])
    parser.add_argument("page", type=Path, help="a Markdown page with plot markers (docs/benchmarks.md)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/plots"), help="folder for the SVG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for number, (_, picture) in enumerate(plots(args.page.read_text()), 1):
        path = args.out / f"{args.page.stem}-{number}.svg"
        path.write_text(picture + "\n")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
