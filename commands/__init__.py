"""Command modules that ship with va; enable them by name in `commands.modules`."""
