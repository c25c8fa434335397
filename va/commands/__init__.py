"""The command runtime: the registry (discovery and import of command modules) and the runner.

Command authors import the decorator from ``va.command``.
"""
