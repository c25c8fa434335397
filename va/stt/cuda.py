"""The CUDA libraries faster-whisper needs, found and loaded before CTranslate2 asks for them.

CTranslate2 4.x opens cuBLAS 12 by name (``libcublas.so.12``) the first time it runs on a GPU. A
system with another CUDA (13, say), or none beside the driver, does not have it; the
``nvidia-cublas-cu12`` wheel (``pip install 'va[cuda]'``) puts it in site-packages, where the
dynamic loader does not look. So: look in the loader's own places first, then in the wheels'
``nvidia/*/lib`` folders, and load what is found there globally, so that CTranslate2's own
``dlopen("libcublas.so.12")`` finds the library already loaded. Nothing is downloaded.
"""

from __future__ import annotations

import ctypes
import logging
import site
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

from va.errors import SetupError

_LOGGER = logging.getLogger(__name__)

CTRANSLATE2_LIBRARIES = ("libcublasLt.so.12", "libcublas.so.12")
"""What CTranslate2 4.x loads on a GPU (its library names ``libcublas.so.12``; cuBLAS itself needs
cuBLASLt, loaded first so that cuBLAS finds it), in the order to load them."""

INSTALL_HINT = "pip install 'va[cuda]' (the nvidia-cublas-cu12 wheel: CUDA 12's cuBLAS, which runs on any driver for CUDA 12 or newer)"


@dataclass(frozen=True)
class Library:
    name: str
    """The library's name as CTranslate2 asks for it (``libcublas.so.12``)."""
    path: Optional[str]
    """Where it was found: a file in a wheel, the name itself when the system's loader finds it,
    None when it is nowhere."""

    @property
    def found(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        if self.path is None:
            return f"{self.name} missing"
        return f"{self.name} from {'the system' if self.path == self.name else self.path}"


def wheel_folders(roots: Optional[Iterable[str]] = None) -> List[Path]:
    """The ``nvidia/*/lib`` folders of the NVIDIA wheels under the site-packages in `roots`."""
    if roots is None:
        roots = [*site.getsitepackages(), site.getusersitepackages(), *sys.path]
    folders: List[Path] = []
    for root in dict.fromkeys(roots):
        base = Path(root) / "nvidia"
        if base.is_dir():
            folders.extend(sorted(path for path in base.glob("*/lib") if path.is_dir()))
    return folders


def find(names: Sequence[str] = CTRANSLATE2_LIBRARIES, folders: Optional[Sequence[Path]] = None) -> List[Library]:
    """Each library: in a wheel's folder, else as the system's loader finds it, else missing."""
    folders = wheel_folders() if folders is None else folders
    found = []
    for name in names:
        in_wheel = next((folder / name for folder in folders if (folder / name).is_file()), None)
        if in_wheel is not None:
            found.append(Library(name, str(in_wheel)))
        else:
            found.append(Library(name, name if _loadable(name) else None))
    return found


def load(libraries: Sequence[Library]) -> None:
    """Load each found library globally (RTLD_GLOBAL), so later lookups by name find it."""
    for library in libraries:
        if library.path is not None:
            ctypes.CDLL(library.path, mode=ctypes.RTLD_GLOBAL)


def prepare_ctranslate2(required: bool, folders: Optional[Sequence[Path]] = None) -> List[Library]:
    """Find and load what CTranslate2 needs on a GPU.

    Missing libraries raise a SetupError that says what to install when the GPU is `required`
    (``server.device: cuda``); otherwise (``auto``) the caller falls back to the CPU.
    """
    libraries = find(CTRANSLATE2_LIBRARIES, folders)
    missing = [library.name for library in libraries if not library.found]
    if missing:
        if required:
            raise SetupError(f"faster-whisper on CUDA needs {', '.join(missing)}, which is not installed: {INSTALL_HINT}")
        return libraries
    load(libraries)
    return libraries


def summary(libraries: Sequence[Library]) -> str:
    return "; ".join(library.describe() for library in libraries)


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True
