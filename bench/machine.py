"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
from importlib import metadata

PACKAGES = ("faster-whisper", "ctranslate2", "openai-whisper", "torch", "websockets", "numpy")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} n/a")
    return ", ".join(found)


def describe() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.system()} {platform.release()}); {versions()}"
    )
