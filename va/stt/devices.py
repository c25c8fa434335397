"""Where the server's engine would run, said before it loads (`va check`).

The engines decide the same way when they load (va.stt.faster, va.stt.openai_engine); this reads
the same facts without loading a model: how many CUDA devices the engine's library sees, and
whether the libraries it needs on a GPU are there.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from va.stt import base, cuda


def describe_device(server: Any) -> Tuple[str, Optional[str]]:
    """(the line `va check` prints, a problem or None); ("", None) when the engine is not installed."""
    if server.engine == "openai-whisper":
        return _torch_device(server)
    return _ctranslate2_device(server)


def _ctranslate2_device(server: Any) -> Tuple[str, Optional[str]]:
    try:
        import ctranslate2
    except ImportError:
        return "", None
    count = ctranslate2.get_cuda_device_count()
    if server.device == "cpu" or (server.device == "auto" and count == 0):
        return f"device: cpu ({base.pick_compute_type(server.compute_type, 'cpu')}), {_seen(count)}", None
    if count == 0:
        return f"device: cuda, {_seen(count)}", "server.device is cuda but no CUDA device is usable; use cpu or auto"
    libraries = cuda.find()
    line = f"device: cuda ({base.pick_compute_type(server.compute_type, 'cuda')}), {_seen(count)}; {cuda.summary(libraries)}"
    if all(library.found for library in libraries):
        return line, None
    if server.device == "auto":
        return line + f"; the server will use the CPU: {cuda.INSTALL_HINT}", None
    return line, f"faster-whisper on CUDA needs cuBLAS 12: {cuda.INSTALL_HINT}"


def _torch_device(server: Any) -> Tuple[str, Optional[str]]:
    try:
        import torch
    except ImportError:
        return "", None
    build = f"torch {torch.__version__}, " + (f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU build")
    usable = torch.cuda.is_available()
    if server.device == "cpu" or (server.device == "auto" and not usable):
        return f"device: cpu ({build})", None
    if not usable:
        hint = "install a CUDA build of torch" if not torch.version.cuda else "no CUDA device is usable"
        return f"device: cuda ({build})", f"server.device is cuda but {hint}; use cpu or auto"
    return f"device: cuda ({build}, {torch.cuda.get_device_name(0)})", None


def _seen(count: int) -> str:
    return f"{count} CUDA device{'s' if count != 1 else ''} seen by CTranslate2"
