"""`va devices` says which way a device reaches the microphone: pure functions, no sound needed."""

from __future__ import annotations

from va.client import soundroute
from va.client.soundroute import SoundServer, describe, find_sound_server, route, server_pcms


def test_pulse_server_from_the_environment_wins():
    server = find_sound_server({"PULSE_SERVER": "unix:/run/va-audio/native"}, exists=lambda path: True)
    assert server == SoundServer("PulseAudio or PipeWire ($PULSE_SERVER)", "unix:/run/va-audio/native")


def test_a_pulse_server_socket_that_is_not_there_is_said():
    server = find_sound_server({"PULSE_SERVER": "unix:/run/va-audio/native"}, exists=lambda path: False)
    assert str(server) == "PulseAudio or PipeWire ($PULSE_SERVER, but no socket there) at unix:/run/va-audio/native"


def test_a_session_socket_is_pipewire_when_pipewire_runs_beside_it():
    sockets = {"/run/user/1000/pulse/native", "/run/user/1000/pipewire-0"}
    server = find_sound_server({"XDG_RUNTIME_DIR": "/run/user/1000"}, exists=sockets.__contains__)
    assert server == SoundServer("PipeWire", "/run/user/1000/pulse/native")
    only_pulse = find_sound_server({"XDG_RUNTIME_DIR": "/run/user/1000"}, exists={"/run/user/1000/pulse/native"}.__contains__)
    assert only_pulse.name == "PulseAudio"


def test_a_service_without_a_session_reaches_no_server_unless_one_runs_system_wide():
    assert find_sound_server({}, exists=lambda path: False) is None
    system = find_sound_server({}, exists={soundroute.SYSTEM_PULSE}.__contains__)
    assert system == SoundServer("PulseAudio (system-wide)", soundroute.SYSTEM_PULSE)


def test_routes_by_device_name(tmp_path):
    assert route("USB PnP Sound Device: Audio (hw:1,0)", tmp_path) == "ALSA: the card itself"
    assert route("pulse", tmp_path) == "sound server"
    assert route("default", tmp_path) == "ALSA default"
    (tmp_path / "99-pipewire-default.conf").write_text("")
    assert route("default", tmp_path) == "sound server (PipeWire)"
    assert route("dmix", tmp_path) == "ALSA plugin"


def test_asound_conf_devices_of_type_pulse_are_sound_server_devices(tmp_path):
    conf = tmp_path / "asound.conf"
    conf.write_text('pcm.kitchen_mic {\n    type pulse\n    device "alsa_input.usb-mic"\n}\npcm.card { type plug; slave.pcm "hw:1,0" }\n')
    assert server_pcms([conf, tmp_path / "missing"]) == {"kitchen_mic"}


def test_describe_says_when_the_sound_server_is_out_of_reach(tmp_path):
    assert "none reachable" in describe("pulse", None, tmp_path)
    assert describe("pulse", SoundServer("PulseAudio", "/run/pulse/native"), tmp_path) == "sound server: PulseAudio at /run/pulse/native"
    assert describe("Card (hw:0,0)", None, tmp_path) == "ALSA: the card itself"
