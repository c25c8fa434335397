"""The `va` command line (``main``) and what its subcommands print."""

from va.cli.main import main

__all__ = ["main"]
