"""MkDocs hooks: the pages that are generated from the code at build time, so they cannot drift.

- `<!-- va:settings -->` becomes the configuration reference (va.config.reference: the settings
  dataclasses, their field docstrings and checks); a setting without a docstring fails the build.
- `<!-- va:cli -->` becomes the command-line reference (va.cli.main's argparse parser).
- `<!-- plot: ... -->` under a table becomes a bar chart of it (bench.plots).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's va and bench, whichever va is installed

from bench import plots  # noqa: E402
from va.cli.main import build_parser  # noqa: E402
from va.config import reference  # noqa: E402


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if "<!-- va:settings -->" in markdown:
        generated = f'<div class="va-reference" markdown="1">\n\n{reference.markdown()}\n</div>'
        markdown = markdown.replace("<!-- va:settings -->", generated)
    if "<!-- va:cli -->" in markdown:
        markdown = markdown.replace("<!-- va:cli -->", cli_markdown())
    for match, picture in reversed(plots.plots(markdown)):
        figure = f'\n<div class="va-plot">\n{picture}\n</div>\n'
        markdown = markdown[: match.start()] + figure + markdown[match.end():]
    return markdown


def cli_markdown() -> str:
    """Each `va` subcommand: its one-line help and its full --help text."""
    parser = build_parser()
    parts = [_help(parser)]
    for action in parser._actions:  # argparse keeps its subcommands here (sphinx-argparse reads the same)
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                parts.append(f"## `va {name}`\n\n{(helps.get(name) or '').capitalize()}.\n\n{_help(sub)}")
    return "\n".join(parts)


def _help(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = functools.partial(argparse.HelpFormatter, width=78)  # not the terminal's width
    return f"```text\n{parser.format_help().strip()}\n```\n"
