"""`va key` and `va check` as a user follows docs/keys.md, and secrets kept out of what is printed
and logged (issue 23 item 3, issue 24 item 7)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def va(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VA_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "va", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_va_key_writes_a_private_key_and_prints_the_lines_that_va_check_accepts(tmp_path):
    made = va(tmp_path, "key", "kitchen", "--out", str(tmp_path / "kitchen.key"))
    assert made.returncode == 0, made.stderr
    key = (tmp_path / "kitchen.key").read_text().strip()
    assert stat.S_IMODE((tmp_path / "kitchen.key").stat().st_mode) == 0o600
    assert key not in made.stdout and key not in made.stderr
    server_block = made.stdout.split("server:\n", 1)[1]  # as printed: "  clients:\n    kitchen: "sha256:...""
    client_block = made.stdout.split("client:\n", 1)[1].split("\n\n", 1)[0]
    config = tmp_path / "config.yaml"
    config.write_text(f"token: shared\nclient:\n{client_block}\nserver:\n{server_block}")
    checked = va(tmp_path, "check", "--config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "server.clients: 1 with keys of their own (kitchen): their names are verified" in checked.stdout
    assert f"client.key_file: {tmp_path / 'kitchen.key'}" in checked.stdout
    assert key not in checked.stdout + checked.stderr

    again = va(tmp_path, "key", "kitchen", "--out", str(tmp_path / "kitchen.key"))  # kept, unless --force
    assert "its key is kept" in again.stdout and (tmp_path / "kitchen.key").read_text().strip() == key
    rotated = va(tmp_path, "key", "kitchen", "--out", str(tmp_path / "kitchen.key"), "--force")
    assert rotated.returncode == 0 and (tmp_path / "kitchen.key").read_text().strip() != key


def test_va_check_says_when_names_are_not_verified(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("token: shared\nserver:\n  broker: {url: 'mqtt://va1:hunter2@broker.lan:1883'}\n")
    checked = va(tmp_path, "check", "--config", str(config))
    assert "client names are not verified (anyone with the token may use any name" in checked.stdout, checked.stdout
    assert "server.broker.key_file is not set: messages on the broker are not signed" in checked.stdout
    assert "mqtt://va1:***@broker.lan:1883" in checked.stdout and "hunter2" not in checked.stdout + checked.stderr


def test_a_broker_password_is_never_in_a_config_error_or_a_log_line(tmp_path, caplog):
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  broker:\n    url: 'mqtt://va1:hunter2@broker.lan:99999'\n")
    checked = va(tmp_path, "check", "--config", str(config))
    assert checked.returncode == 2 and "server.broker.url must be" in checked.stderr, checked.stderr
    assert "hunter2" not in checked.stderr and "va1:***@" in checked.stderr
    config.write_text("server:\n  clients: {kitchen: 'sha256:nothex'}\n")
    checked = va(tmp_path, "check", "--config", str(config))
    assert checked.returncode == 2 and "server.clients must be" in checked.stderr and "nothex" not in checked.stderr

    pytest.importorskip("paho.mqtt")
    from va.config import BrokerSettings
    from va.server.household.federation import Federation
    from va.server.household.relay import RelayHub

    async def connect_and_stop() -> None:
        settings = BrokerSettings(url="mqtt://va1:hunter2@127.0.0.1:1", topic_prefix="t")
        federation = Federation(RelayHub(lambda client, event: asyncio.sleep(0)), settings)
        await federation.start()
        await asyncio.sleep(0.3)
        await federation.stop()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(connect_and_stop())
    assert "mqtt://va1:***@127.0.0.1:1" in caplog.text and "hunter2" not in caplog.text, caplog.text


def test_the_config_blocks_of_docs_keys_md_are_accepted(tmp_path):
    import re

    from va.config import load_settings

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "keys.md").read_text(), re.S)
    assert len(blocks) >= 3
    for index, block in enumerate(blocks):
        path = tmp_path / f"block{index}.yaml"
        path.write_text(block)
        load_settings(str(path))  # raises ConfigError with the line when a block is wrong
