"""The tables of bench.recognition: per condition, per kind of negative, per talker, per SNR, per voice.

Every function takes the judged results (dicts of bench.recognition._judge) and returns Markdown lines.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from bench import machine
from bench.report import table
from bench.stats import median, ms

CONDITIONS = ("clean", "noise", "reverb", "talker", "tv")
THREE_SECONDS = (2.5, 3.5)
"""Clips this long (s) count as "a 3 s command" for the latency column."""
SPLIT_ORDER = ("roomheldout", "heldout", "roomtune", "tune", "dev")


def _rows(results: Sequence[dict]) -> List[tuple]:
    """(path, split) pairs in the order paths first appear, held-out splits first."""
    paths = list(dict.fromkeys(r["path"] for r in results))
    return sorted({(r["path"], r["split"]) for r in results}, key=lambda k: (paths.index(k[0]), SPLIT_ORDER.index(k[1])))


def _mine(results: Sequence[dict], name: str, split: str) -> List[dict]:
    return [r for r in results if r["path"] == name and r["split"] == split]


def fraction(results: Sequence[dict]) -> str:
    right = sum(r["right"] for r in results)
    return f"{right}/{len(results)} ({100 * right / len(results):.0f}%)" if results else "-"


def summary(results: Sequence[dict]) -> List[str]:
    """One row per (path, split): accuracy per condition, false activations, wrong runs, p50 server time."""
    conditions = [c for c in CONDITIONS if any(r["condition"] == c for r in results)]
    rows = []
    for name, split in _rows(results):
        mine = _mine(results, name, split)
        negatives = [r for r in mine if r["expected"] is None]
        commands = [r for r in mine if r["expected"] is not None]
        wrong = sum(1 for r in commands if r["ran"] is not None and not r["right"])
        times = [r["processing_ms"] for r in mine if r["processing_ms"] is not None]
        short = [r["processing_ms"] for r in mine if r["processing_ms"] is not None
                 and THREE_SECONDS[0] <= r["seconds"] <= THREE_SECONDS[1]]
        rows.append([name, split, *(fraction([r for r in mine if r["condition"] == c]) for c in conditions),
                     fraction(commands), f"{sum(r['ran'] is not None for r in negatives)}/{len(negatives)}",
                     f"{wrong}/{len(commands)}", ms(median(times)), f"{ms(median(short))} ({len(short)})"])
    header = ["path", "split", *conditions, "all commands", "false activations", "wrong command/args ran",
              "p50 server ms", "p50 server ms, 3 s clips (n)"]
    return table(header, rows)


def negatives(results: Sequence[dict]) -> List[str]:
    kinds = sorted({r["condition"] for r in results if r["expected"] is None})
    rows = []
    for name, split in _rows(results):
        mine = [r for r in _mine(results, name, split) if r["expected"] is None]
        rows.append([name, split, *(f"{sum(r['ran'] is not None for r in mine if r['condition'] == k)}/"
                                    f"{sum(r['condition'] == k for r in mine)}" for k in kinds)])
    return table(["path", "split", *kinds], rows)


def by(results: Sequence[dict], key: str, where=lambda r: True) -> List[str]:
    """Commands right per value of `key` (talker, voice, snr_db), one row per (path, split)."""
    chosen = [r for r in results if r["expected"] is not None and r.get(key) is not None and where(r)]
    values = sorted({r[key] for r in chosen})
    rows = [[name, split, *(fraction([r for r in _mine(chosen, name, split) if r[key] == v]) for v in values)]
            for name, split in _rows(chosen)]
    return table(["path", "split", *(f"{v:g} dB" if isinstance(v, float) else str(v) for v in values)], rows)


def render(results: Sequence[dict], skipped: Dict[str, str], load: Sequence[float], model: Dict[str, Any]) -> List[str]:
    from bench.recognition import PATHS

    settings = ", ".join(f"{k}={v}" for k, v in model.items()) or "model=tiny.en (bundled)"
    lines = [f"Recognition on bench/corpus, {settings}, {machine.describe()}",
             f"1-minute load average: {load[0]:.2f} at start, {load[1]:.2f} at the end.", ""]
    lines += summary(results) + ["", "False activations by kind of negative:", ""] + negatives(results)
    if any(r.get("talker") for r in results):
        talking = lambda r: r["mix"] in ("talker", "tv")  # noqa: E731
        lines += ["", "Commands right under another person or a TV, by talker:", ""] + by(results, "talker", talking)
        lines += ["", "... by SNR:", ""] + by(results, "snr_db", talking)
    lines += ["", "Commands right by voice (all conditions):", ""] + by(results, "voice") + [""]
    lines += [f"- {name}: {path.note}" for name, path in PATHS.items()
              if name not in skipped and any(r["path"] == name for r in results)]
    lines += [f"- {name}: n/a ({why})" for name, why in skipped.items()]
    return lines
