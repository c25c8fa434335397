"""The GPU server's parts that run without a GPU: finding and loading CUDA 12's cuBLAS from the
NVIDIA wheel (real shared libraries, built here with the same names), the message when it is
missing, what `va check` says about the device, an openai-whisper checkpoint given as a path,
and a setup error printed as one line without a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from procs import ROOT, environment, pcm, words, write_config

from va.errors import SetupError
from va.stt import cuda


def _shared_library(folder: Path, name: str, needs: str = "") -> Path:
    """A real ELF shared library called `name` (its soname too), optionally needing another."""
    source = folder / f"{name}.c"
    source.write_text(f"int {name.split('.')[0]}_version(void) {{ return 12; }}\n")
    path = folder / name
    link = [f"-L{folder}", f"-l:{needs}", f"-Wl,-rpath,$ORIGIN"] if needs else []
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{name}", "-o", str(path), str(source), *link], check=True)
    return path


@pytest.fixture
def wheel_site(tmp_path: Path) -> Path:
    """A site-packages holding nvidia/cublas/lib as the nvidia-cublas-cu12 wheel lays it out."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc builds the stand-in libraries")
    lib = tmp_path / "site" / "nvidia" / "cublas" / "lib"
    lib.mkdir(parents=True)
    _shared_library(lib, "libcublasLt.so.12")
    _shared_library(lib, "libcublas.so.12", needs="libcublasLt.so.12")
    return tmp_path / "site"


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environment(tmp_path), cwd=ROOT, timeout=120)


def test_cublas_in_a_wheel_is_found_and_loaded_so_a_lookup_by_name_succeeds(wheel_site, tmp_path):
    result = _python(f"""
        import ctypes
        try:
            ctypes.CDLL("libcublas.so.12")
            print("already loadable")
        except OSError:
            pass
        from va.stt import cuda
        libraries = cuda.prepare_ctranslate2(True, cuda.wheel_folders([{str(wheel_site)!r}]))
        print(cuda.summary(libraries))
        ctypes.CDLL("libcublas.so.12")  # what CTranslate2 does on its first GPU call
        print("loaded by name")
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "already loadable" not in result.stdout  # the test means something only on a machine without CUDA 12
    assert f"libcublas.so.12 from {wheel_site}/nvidia/cublas/lib/libcublas.so.12" in result.stdout
    assert "loaded by name" in result.stdout


def test_missing_cublas_is_one_line_that_says_what_to_install(tmp_path):
    libraries = cuda.find(folders=[tmp_path])
    if all(library.found for library in libraries):
        pytest.skip("this machine has CUDA 12's cuBLAS")
    with pytest.raises(SetupError) as caught:
        cuda.prepare_ctranslate2(True, [tmp_path])
    message = str(caught.value)
    assert "libcublas.so.12" in message and "pip install 'va[cuda]'" in message and "\n" not in message
    # with device auto the caller falls back to the CPU: nothing raised, nothing loaded
    assert not all(library.found for library in cuda.prepare_ctranslate2(False, [tmp_path]))


def _va(tmp_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "va", *args], capture_output=True, text=True,
                          env=environment(tmp_path), cwd=ROOT, timeout=timeout)


@pytest.mark.slow
def test_device_cuda_without_a_gpu_fails_in_one_line_without_a_traceback(tmp_path):
    config = write_config(tmp_path / "config.yaml", 0, {"server": {"device": "cuda", "warmup": False}})
    check = _va(tmp_path, "check", "--config", str(config))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "device: cuda, 0 CUDA devices seen by CTranslate2" in check.stdout
    assert "error: server.device is cuda but no CUDA device is usable; use cpu or auto" in check.stdout

    server = _va(tmp_path, "server", "--config", str(config))
    assert server.returncode != 0
    assert "server.device is cuda but no CUDA device is usable" in server.stderr, server.stderr
    assert "Traceback" not in server.stderr, server.stderr


def test_va_check_names_the_device_the_server_would_use(tmp_path):
    config = write_config(tmp_path / "config.yaml", 0)
    check = _va(tmp_path, "check", "--config", str(config))
    assert "device: cpu (int8), 0 CUDA devices seen by CTranslate2" in check.stdout, check.stdout


@pytest.mark.slow
def test_an_openai_whisper_checkpoint_given_as_a_path_loads_and_transcribes(tmp_path, monkeypatch):
    import numpy as np

    from va.config.settings import ServerSettings
    from va.stt import create_engine
    from va.stt.models import openai_checkpoint

    checkpoint = tmp_path / "models" / "tiny.en.pt"
    checkpoint.parent.mkdir()
    shutil.copy(openai_checkpoint("tiny.en"), checkpoint)
    settings = replace(ServerSettings(), engine="openai-whisper", model=str(checkpoint), warmup=False)
    engine = create_engine(settings)
    audio = np.frombuffer(pcm("timer-joe.wav"), np.int16).astype(np.float32) / 32768
    assert "set a timer" in words(engine.transcribe(audio).text)


@pytest.fixture(scope="module")
def openai_engine():
    from va.config.settings import ServerSettings
    from va.stt import create_engine

    return create_engine(replace(ServerSettings(), engine="openai-whisper", device="cpu"))


@pytest.mark.slow
def test_openai_whisper_reads_with_the_grammar_what_its_greedy_decoding_garbles(openai_engine):
    """The guided recognizer on openai-whisper's own decoder (va.stt.torch_scoring), the clips and
    readings of tests/test_recognition_e2e.py's faster-whisper test: without judging texts against
    the audio, both transcripts read as no command."""
    from test_recognition_e2e import HOME, transcripts

    replies = transcripts(openai_engine, HOME, ["guided-turn-on-noise.wav", "guided-call-talker.wav"])
    readings = [(reply.reading.command, reply.reading.args, reply.reading.accepted) for reply in replies]
    assert readings == [("turn_on", {"device": "heater", "room": "hall"}, True), ("call", {"person": "dad"}, True)], \
        [(reply.text, reply.reading) for reply in replies]
    assert all("guided" in reply.reading.why for reply in replies)
