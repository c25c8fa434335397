"""The client on the real microphone path: RSS and CPU while idle and while hearing speech.

    .venv/bin/python -m bench.microphone [--seconds 20]

A headless PulseAudio with a virtual microphone (tests/sound_server.py), `va server` (tiny.en) and
`va client` listening through ALSA's pulse plugin and PyAudio, in real time. Idle: the microphone
hears digital silence. Speech: spoken commands played back to back into it for as long again.
Also what SpeechRecognition costs: its size on disk and the memory its import adds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from sound_server import PulseAudio  # noqa: E402
from procs import Process, environment, start_server, wait_until  # noqa: E402

PHRASES = ["time-joe.wav", "day-joe.wav", "nokey-joe.wav", "timer-joe.wav"]
RAN = re.compile(r"Heard '[^']*': ran ")


def _config(config: Path, port: int) -> Path:
    recorder = ROOT / "tests" / "client_commands" / "recorder.py"
    config.write_text(f"server_url: ws://127.0.0.1:{port}\nserver: {{host: 127.0.0.1, port: {port}, model: tiny.en}}\n"
                      f"commands: {{modules: [], paths: ['{recorder}']}}\nmicrophone: {{device: test_mic}}\n")
    return config


def _sample(process: psutil.Process, seconds: float) -> Dict[str, float]:
    """CPU (% of one core) and RSS (MB, the largest seen) over ``seconds``, with the load then."""
    times = process.cpu_times()
    before, started, rss = times.user + times.system, time.monotonic(), []
    load = os.getloadavg()[0]
    while time.monotonic() - started < seconds:
        rss.append(process.memory_info().rss)
        time.sleep(0.25)
    times = process.cpu_times()
    wall = time.monotonic() - started
    return {"cpu": (times.user + times.system - before) / wall * 100, "rss": max(rss) / 2**20, "load": load, "s": wall}


def _play_for(pulse: PulseAudio, seconds: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        for name in PHRASES:
            pulse.play(ROOT / "tests" / "fixtures" / name)


def _rss_after(code: str) -> float:
    """MB resident in a fresh interpreter after running ``code``."""
    probe = code + "\nprint([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmRSS')][0])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    return int(result.stdout.split()[-1]) / 1024


def _import_costs() -> List[str]:
    bare = _rss_after("pass")
    client = _rss_after("import va.client.assistant")
    without = _rss_after("import sys; sys.modules['speech_recognition'] = None; import va.client.assistant")
    return [f"| RSS of a bare interpreter / after importing the client | {bare:.1f} / {client:.1f} MB |",
            f"| RSS SpeechRecognition adds to the client's imports | {client - without:.1f} MB |"]


def _disk(package: str) -> List[str]:
    import importlib.util

    spec = importlib.util.find_spec(package)
    folder = Path(spec.origin).parent
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    parts = sorted(((sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size) / 2**20, p.name)
                   for p in folder.iterdir())
    big = ", ".join(f"{name} {size:.1f}" for size, name in reversed(parts) if size >= 0.4)
    return [f"| {package} on disk | {total:.1f} MB ({big}) |"]


def run(seconds: float) -> List[str]:
    with tempfile.TemporaryDirectory(prefix="va-bench-mic-") as tmp, PulseAudio(Path(tmp) / "pulse") as pulse:
        folder = Path(tmp)
        server = start_server(folder, _config(folder / "server.yaml", 0))
        config = _config(folder / "config.yaml", server.port)
        client = Process(folder, "client", ["client", "--config", str(config)], environment(folder, **pulse.env))
        try:
            wait_until(lambda: "va-client is ready" in client.text(), "the client", client.popen)
            process = psutil.Process(client.popen.pid)
            time.sleep(2.0)
            idle = _sample(process, seconds)
            stop = threading.Event()
            player = threading.Thread(target=_play_for, args=(pulse, seconds, stop))
            player.start()
            speech = _sample(process, seconds)
            stop.set()
            player.join()
            time.sleep(2.0)
            heard = len(RAN.findall(client.text()))
        finally:
            client.stop()
            server.stop()
    rows = ["| client on the sound-server path | CPU % of one core | RSS MB (max) | load avg (1 min) | seconds |", "|---|---|---|---|---|"]
    for name, got in (("idle (digital silence)", idle), (f"hearing speech ({heard} commands ran)", speech)):
        rows.append(f"| {name} | {got['cpu']:.1f} | {got['rss']:.1f} | {got['load']:.1f} | {got['s']:.0f} |")
    rows += ["", "| SpeechRecognition | cost |", "|---|---|"]
    rows += _disk("speech_recognition")
    rows += _import_costs()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    args = parser.parse_args()
    if shutil.which("pulseaudio") is None:
        sys.exit("needs pulseaudio, pulseaudio-utils and libasound2-plugins (bash setup.sh test installs them)")
    print("\n".join(run(args.seconds)))


if __name__ == "__main__":
    main()
