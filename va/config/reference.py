"""The configuration reference, generated from the settings tree (va.config.settings).

Every key comes from a dataclass field, its meaning from the docstring written under the field,
its default from the field, and what it accepts from its check (va.config.checks), asked with a
value no check accepts. The docs site renders `markdown()` (docs/hooks.py); `undocumented()`
lists the keys whose docstring is missing, which a test and the docs build refuse.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from typing import Any, Iterator, NamedTuple

import yaml

from va.config.checks import Invalid
from va.config.settings import Settings


class Key(NamedTuple):
    """One YAML key of the configuration: `server.tls.cert`."""

    path: str
    default: Any
    accepts: str
    doc: str


class Section(NamedTuple):
    """One mapping of the configuration (`server.tls:`), its own keys and its docstring."""

    path: str
    doc: str
    keys: list[Key]


class _Unlike:
    """A value that no check accepts, so the check's Invalid says what it would accept."""


def field_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the fields of a dataclass (attribute docstrings, PEP 257)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:]):
        if not (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)):
            continue
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            docs[node.target.id] = inspect.cleandoc(str(after.value.value))
    return docs


def sections(cls: type = Settings, prefix: str = "") -> Iterator[Section]:
    """Each mapping of the tree, top level first, with the keys it holds itself."""
    docs = field_docs(cls)
    keys, nested = [], []
    for item in dataclasses.fields(cls):
        if "section" in item.metadata:
            nested.append((item.metadata["section"], f"{prefix}{item.name}."))
        elif "check" in item.metadata:
            keys.append(Key(prefix + item.name, _default(item), _accepts(item.metadata["check"]), docs.get(item.name, "")))
    yield Section(prefix.rstrip("."), inspect.cleandoc(cls.__doc__ or ""), keys)
    for section_cls, section_prefix in nested:
        yield from sections(section_cls, section_prefix)


def undocumented() -> list[str]:
    """Keys without a docstring under their field, and sections without a class docstring."""
    missing = []
    for section in sections():
        if not section.doc:
            missing.append(section.path or "(top level)")
        missing.extend(key.path for key in section.keys if not key.doc)
    return missing


def markdown() -> str:
    """The reference as Markdown: a third-level heading per section, a table of its keys."""
    missing = undocumented()
    if missing:
        raise ValueError("settings without a docstring under their field: " + ", ".join(missing))
    parts = []
    for section in sections():
        title = f"`{section.path}:`" if section.path else "The top level"
        doc = _one_line(section.doc).removeprefix(f"`{section.path}:`").strip()
        parts.append(f"### {title}\n\n{doc[:1].upper()}{doc[1:]}\n")
        if section.keys:
            parts.append("| key | default | accepts | meaning |\n|---|---|---|---|")
            parts.extend(f"| `{key.path}` | `{_yaml(key.default)}` | {_cell(key.accepts)} | {_cell(key.doc)} |"
                         for key in section.keys)
            parts.append("")
    return "\n".join(parts)


def _default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    return item.default_factory()  # type: ignore[operator]


def _accepts(check: Any) -> str:
    try:
        check(_Unlike())
    except Invalid as invalid:
        return invalid.allowed
    return "see the meaning"


def _yaml(value: Any) -> str:
    """How the value is written in the YAML file: `[clock, system]`, `null`, `0.8`."""
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()
    plain = str(value)
    if isinstance(value, str) and text != plain and yaml.safe_load(f"[{plain}]") == [value]:
        return plain  # ws://127.0.0.1:8001 reads back the same without quotes
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")
