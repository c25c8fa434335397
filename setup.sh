#!/usr/bin/env bash
# One script for the README's quick start.
#   bash setup.sh run    system packages, .venv with va, then the server and the assistant on the defaults
#   bash setup.sh test   the same setup with every engine and the test tools, then the whole test suite
#   bash setup.sh env    only the setup (what the two above share)
#   bash setup.sh client a client-only box (a Raspberry Pi): Debian's prebuilt PyAudio and systemd-python,
#                        a venv that sees them, va with the client extra; nothing compiles
#   bash setup.sh docs   the documentation site (MkDocs Material) on http://127.0.0.1:8000, rebuilt as
#                        docs/ changes; extra arguments go to `mkdocs serve` (e.g. -a 0.0.0.0:8000)
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
shift || true
VENV=${VA_VENV:-.venv}
PY="$VENV/bin/python"

need_debs() {
    local missing=()
    for deb in "$@"; do
        dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { echo "setup: please install: ${missing[*]}" >&2; return 1; }
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_env() {
    # PyAudio and systemd-python compile against these; sox/espeak-ng make test speech; the
    # `systemd` package brings systemd-analyze for the unit checks; haproxy (test mode) sits in
    # front of two servers in tests/test_balancer.py; mosquitto (test mode) is the broker those
    # servers share in tests/test_broker_e2e.py
    need_debs gcc pkg-config portaudio19-dev libsystemd-dev "$@"
    python3 -m venv --help >/dev/null 2>&1 || need_debs python3-venv
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
}

setup_client() {
    # the Pi steps of docs/getting-started.md; Debian's python3 is the one that sees python3-pyaudio
    need_debs python3-venv python3-pyaudio python3-systemd
    if [ -x "$PY" ] && ! grep -qs "include-system-site-packages = true" "$VENV/pyvenv.cfg"; then
        echo "setup: $VENV exists and does not see Debian's packages; remove it or set VA_VENV" >&2
        return 1
    fi
    [ -x "$PY" ] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
    "$PY" -m pip install -q ".[client,systemd]"
    echo "setup: $VENV/bin/va is ready; next: $VENV/bin/va devices, or sudo $VENV/bin/va install"
}

case "$mode" in
docs)
    python3 -m venv --help >/dev/null 2>&1 || need_debs python3-venv
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install -q -e ".[docs]"
    exec "$PY" -m mkdocs serve "$@"
    ;;
client)
    setup_client
    ;;
env)
    setup_env
    "$PY" -m pip install -q -e ".[client,server,systemd]"
    ;;
run)
    setup_env
    "$PY" -m pip install -q -e ".[client,server,systemd]"
    exec "$PY" -m va.cli.quickstart "$@"
    ;;
test)
    # debootstrap: the Debian 13 install test; PulseAudio, PipeWire and ALSA's pulse plugin: the microphone test
    setup_env sox espeak-ng systemd openssl haproxy mosquitto debootstrap pulseaudio pulseaudio-utils libasound2-plugins \
        pipewire pipewire-pulse wireplumber dbus
    # the CPU build of torch (an unpinned torch would pull a multi-GB CUDA build)
    "$PY" -m pip install -q "torch==2.13.0"
    "$PY" -m pip install -q -e ".[all,test]"
    exec "$PY" -m pytest -q "$@"
    ;;
*)
    echo "usage: bash setup.sh [run|test|env|client|docs] [ARGS...]" >&2
    exit 2
    ;;
esac
