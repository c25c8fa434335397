"""The documentation cannot drift from the code: README.md and the MkDocs site in docs/.

- every setting has a docstring under its field (the configuration reference is made of them);
- every ```yaml block of the docs and the README is a configuration va accepts;
- every shell command of the getting-started page is one the suite runs (or a static check of it);
- the phrases of the "Writing commands" table run what the table says, on the module it shows;
- the site builds with `mkdocs build --strict`: a broken link, a missing page or any warning fails.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from va.cli.main import _SUBCOMMANDS
from va.config import ConfigError, parse_settings
from va.config import reference
from va.config.checks import setting, texts
from va.config.settings import CommandSettings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]
NOT_A_CONFIG = "<!-- not a va config -->"
"""Put on the line before a ```yaml block that is not a va configuration (Home Assistant's YAML, say)."""


def yaml_blocks(text: str) -> list[str]:
    """Each configuration in the ```yaml blocks of a Markdown page, padded with empty lines so
    that its line numbers are the page's; `---` lines separate several configurations in one
    block (the server's and a client's, side by side)."""
    found = []
    for match in re.finditer(r"^```ya?ml[^\n]*\n(.*?)^```", text, re.S | re.M):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.strip() == NOT_A_CONFIG:
            continue
        start = match.start(1)
        for separator in [*re.finditer(r"^---[ \t]*$", match.group(1), re.M), None]:
            end = match.start(1) + separator.start() if separator else match.end(1)
            found.append("\n" * text.count("\n", 0, start) + text[start:end])
            start = match.start(1) + separator.end() if separator else end
    return found


def config_errors(path: Path, text: str) -> list[str]:
    """One line per configuration block that va would refuse, naming the page and the line."""
    errors = []
    for block in yaml_blocks(text):
        try:
            parse_settings(block, filename=str(path.relative_to(ROOT) if path.is_absolute() else path))
        except ConfigError as error:
            errors.append(str(error))
    return errors


# --- settings: documented, and the reference made of them


def test_every_setting_has_a_docstring_under_its_field():
    assert reference.undocumented() == [], "add a docstring under each of these fields in va/config/settings.py"


def test_a_field_without_a_docstring_is_found():
    @dataclasses.dataclass(frozen=True)
    class Sample:
        """`sample:` a section."""

        documented: tuple = setting((), texts)
        """Has its docstring."""
        bare: tuple = setting((), texts)

    [section] = reference.sections(Sample, "sample.")
    assert {key.path: bool(key.doc) for key in section.keys} == {"sample.documented": True, "sample.bare": False}


def test_the_reference_gives_each_key_its_default_what_it_accepts_and_its_meaning():
    text = reference.markdown()
    row = next(line for line in text.splitlines() if line.startswith("| `commands.threshold` |"))
    assert "`75.0`" in row and "a number from 0 to 100" in row and "Fuzzy match score" in row
    for section in reference.sections():
        for key in section.keys:
            assert f"| `{key.path}` |" in text
    assert len([key for section in reference.sections() for key in section.keys]) >= 50
    assert [field.name for field in dataclasses.fields(CommandSettings)][0] == "modules"


def test_the_cli_reference_has_every_subcommand():
    sys.path.insert(0, str(DOCS))
    try:
        import hooks
    finally:
        sys.path.remove(str(DOCS))
    text = hooks.cli_markdown()
    for name in _SUBCOMMANDS:
        assert f"## `va {name}`" in text
    assert "--dry-run" in text and "--config PATH" in text


# --- configuration blocks


def test_every_yaml_block_of_the_docs_is_a_configuration_va_accepts():
    blocks = [(page, block) for page in PAGES for block in yaml_blocks(page.read_text())]
    assert len(blocks) >= 12, [str(page) for page, _ in blocks]
    errors = [error for page in PAGES for error in config_errors(page, page.read_text())]
    assert errors == []


def test_a_bad_block_is_reported_with_its_page_and_line():
    page = "# A page\n\n```yaml\nkeyword: computer\n---\ncommands:\n  threshold: lots\n```\n"
    page += f"\n{NOT_A_CONFIG}\n```yaml\nautomation: []\n```\n"
    assert config_errors(Path("page.md"), page) == [
        "page.md:7: commands.threshold must be a number from 0 to 100, got 'lots'"
    ]


# --- the getting-started page's shell commands


def shell_commands(text: str) -> list[str]:
    commands = []
    for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def _source(name: str) -> str:
    return (ROOT / "tests" / name).read_text()


def _extras(line: str) -> set:
    return set(re.search(r"\.\[([a-z,]+)\]", line).group(1).split(","))


def _covered(command: str) -> str:
    """How the suite runs `command`, or '' when it does not."""
    from test_pi_install import readme_pi_block  # the block it runs word for word, in a Debian 13 chroot

    if command in readme_pi_block().splitlines():
        return "test_pi_install.py runs it word for word"
    if command == "sudo /opt/va/bin/va install --server" and '"install", "--prefix"' in _source("test_units.py"):
        return "test_units.py runs va install --server into a prefix"
    if command == "sudo /opt/va/bin/va check --config /etc/va/config.yaml":
        if "/opt/va/bin/va check --config /etc/va/config.yaml" in _source("test_pi_install.py"):
            return "test_pi_install.py runs it as user va"
    if command.startswith("sudo /opt/va/bin/pip install '.["):
        config = configparser.ConfigParser()
        config.read(ROOT / "setup.cfg")
        extras = config["options.extras_require"]
        everything = set(extras["all"].split())
        if all(name in extras and set(extras[name].split()) <= everything for name in _extras(command)):
            return "CI installs these extras' packages (.[all]) and tests them; the client form runs word for word"
    if command == "journalctl -u va-client -f" and (ROOT / "systemd" / "va-client.service").is_file():
        return "not run (no journald in CI): the unit it names exists and test_units.py verifies it"
    return ""


def test_every_command_of_the_getting_started_page_is_one_the_suite_runs():
    commands = shell_commands((DOCS / "getting-started.md").read_text())
    assert "sudo /opt/va/bin/pip install '.[client,systemd]'" in commands
    assert [command for command in commands if not _covered(command)] == []


# --- the command table of "Writing commands"


def test_the_phrases_of_the_command_table_run_what_it_says():
    from va.commands.registry import load_registry
    from va.language.matching import interpret

    text = (DOCS / "commands.md").read_text()
    table = text[text.index("<!-- va:phrases docs/examples/lights.py -->"):].split("\n\n")[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[3:]]
    assert len(rows) >= 10
    registry = load_registry(CommandSettings(modules=(), paths=(str(DOCS / "examples" / "lights.py"),)))
    assert registry.failures == []
    for said, call in rows:
        result = interpret(said.strip(), registry)
        assert result.command is not None, (said, result.reason)
        args = ", ".join(f"{key}={_spelt(value)}" for key, value in result.args.items())
        assert f"`{result.command.name}({args})`" == call.strip(), said


def _spelt(value: object) -> str:
    import enum

    return f"{type(value).__name__}.{value.name}" if isinstance(value, enum.Enum) else repr(value)


# --- the site


def test_every_diagram_is_drawn_and_reads_as_svg():
    sources = sorted((DOCS / "diagrams").glob("*.dot"))
    assert len(sources) >= 3
    for source in sources:
        xml.dom.minidom.parse(str(source.with_suffix(".svg")))  # committed, made by docs/diagrams/make.py


@pytest.mark.timeout(120)
def test_the_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=110,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    pages = {path.parent.name for path in (tmp_path / "site").rglob("index.html")}
    assert {"getting-started", "configuration", "cli", "troubleshooting", "benchmarks"} <= pages
    configuration = (tmp_path / "site" / "configuration" / "index.html").read_text()
    assert "server.reject_margin" in configuration and "va:settings" not in configuration
    benchmarks = (tmp_path / "site" / "benchmarks" / "index.html").read_text()
    plots = re.findall(r"<svg .*?</svg>", benchmarks, re.S)
    assert len(plots) >= 3
    for plot in plots:
        xml.dom.minidom.parseString(plot)


def test_a_plot_reads_numbers_ranges_and_shares_from_the_cells():
    from bench import plots

    assert plots.read_value("256-284 ms") == plots.Value(256, 284)
    assert plots.read_value("1,430-3,364 ms") == plots.Value(1430, 3364)
    assert plots.read_value("48/54 (89%)") == plots.Value(89, 89)
    assert plots.read_value("98% (39/40)") == plots.Value(98, 98)
    assert plots.read_value("") is None
    page = "| setting | p50 |\n|---|---|\n| a | 100 ms |\n| b | 200-300 ms |\n<!-- plot: label=\"setting\" values=\"p50\" -->\n"
    [(_, picture)] = plots.plots(page)
    widths = [float(width) for width in re.findall(r'<rect [^>]*width="([\d.]+)"', picture)]
    assert widths == [pytest.approx(380 * 100 / 300, abs=0.1), pytest.approx(380 * 200 / 300, abs=0.1)]
    assert "200-300" in picture


def test_every_link_of_the_readme_points_at_a_file_and_heading_that_exist():
    import markdown

    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) >= 15
    for link in local:
        path, _, anchor = link.partition("#")
        assert (ROOT / path).is_file(), link
        if anchor:
            page = markdown.markdown((ROOT / path).read_text(), extensions=["toc"])
            assert f'id="{anchor}"' in page, link
