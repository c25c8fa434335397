"""`va key NAME`: make a client's own key, write it to a file only its owner reads, and print the
lines the client's and the server's configurations need (va.server.household.identities).
`va key --broker` makes the household's broker key (server.broker.key_file). The key itself is
never printed or logged: only where it is, and its hash."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from va.protocol.keys import key_hash, make_key, read_key


def cli_key(args: argparse.Namespace, settings: Any) -> int:
    if not args.broker and not args.name:
        print("va key: name the client (va key kitchen), or --broker for the broker key")
        return 2
    path = Path(args.out or (f"{args.name}.key" if args.name else "broker.key"))
    if path.exists() and not args.force:
        key = read_key(str(path))  # keep it: print its lines again
        print(f"{path} exists: its key is kept (--force makes a new one)")
    else:
        key = make_key()
        _write_secret(path, key)
        print(f"wrote a new key to {path} (only its owner can read it: keep it there, never in a config file)")
    if args.broker:
        print("\non every server, in /etc/va/config.yaml (the same file on each):")
        print(f"server:\n  broker:\n    key_file: {path.resolve()}")
        return 0
    print(f"\non {args.name}, in its /etc/va/config.yaml:")
    print(f"client:\n  name: {args.name}\n  key_file: {path.resolve()}")
    print("\non the server, in /etc/va/config.yaml (then systemctl reload va-server):")
    print(f"server:\n  clients:\n    {args.name}: \"{key_hash(key or '')}\"")
    return 0


def _write_secret(path: Path, key: str) -> None:
    """Write ``key`` to ``path`` readable by its owner only (0600), replacing what was there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    os.replace(temporary, path)
