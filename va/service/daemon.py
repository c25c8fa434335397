"""Run a Service as a systemd Type=notify daemon: signals, sd_notify, watchdog, reload.

    READY=1     after `await service.start()` returned
    STATUS=     service.status(), refreshed with every watchdog ping
    WATCHDOG=1  every WATCHDOG_USEC/2, from the event loop, only while service.healthy()
    SIGTERM/SIGINT  STOPPING=1, await service.stop(), wait for run() to return, exit 0
                    (a second one cancels run())
    SIGHUP      re-read the configuration; a bad one is logged and the old settings kept,
                a valid one goes to `await service.reload(settings)`. Signals are served while
                it runs: SIGTERM abandons a reload that hangs (a command module that never
                finishes importing) and stops; another SIGHUP meanwhile is ignored.
    SIGUSR1     service.recalibrate(), for services that have one (the client: measure the
                ambient noise again)

stop() is awaited exactly once on every way out after start() succeeded, so a service
releases its resources in one place.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from typing import Any, Mapping

from va.config import ConfigError, load_settings
from va.errors import SetupError

_LOGGER = logging.getLogger(__name__)

_SIGNALS = {signal.SIGTERM: "stop", signal.SIGINT: "stop", signal.SIGHUP: "reload", signal.SIGUSR1: "recalibrate"}
_IDLE_STATUS_SECONDS = 10.0  # STATUS= refresh when there is no watchdog


def notify(*states: str) -> bool:
    """Send "READY=1", "STATUS=..." etc. to systemd; False when not run by systemd."""
    message = "\n".join(states)
    try:
        from systemd.daemon import notify as sd_notify
    except ImportError:
        return _send_datagram(message, os.environ.get("NOTIFY_SOCKET"))
    try:
        return sd_notify(message)
    except OSError as error:  # systemd went away or a stale $NOTIFY_SOCKET: not worth dying for
        _LOGGER.debug("Cannot notify systemd: %s", error)
        return False


def _send_datagram(message: str, address: str | None) -> bool:
    """sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET ('@name': abstract)."""
    if not address or address[0] not in "/@":
        return False  # unset, or a vsock address we do not speak
    if address[0] == "@":
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as error:
        _LOGGER.debug("Cannot notify systemd: %s", error)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec=), None when no watchdog is set."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2 / 1e6


def run_service(service: Any, config_path: str | None, debug: bool = False) -> int:
    """Run `service` until it finishes or is stopped; the process exit code."""
    return asyncio.run(_Supervisor(service, config_path).run(), debug=debug)


class _Supervisor:
    def __init__(self, service: Any, config_path: str | None) -> None:
        self.service = service
        self.config_path = config_path
        self._signals: asyncio.Queue[str] | None = None  # made on the running loop
        self.reload_error: str | None = None
        self.reloading: asyncio.Task | None = None
        self.stopping = False

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._signals = asyncio.Queue()
        for signum, action in _SIGNALS.items():
            loop.add_signal_handler(signum, self._signals.put_nowait, action)
        try:
            exit_code = await self.start()
            if exit_code is not None:
                return exit_code
            heartbeat = asyncio.create_task(self.heartbeat()) if os.environ.get("NOTIFY_SOCKET") else None
            try:
                return await self.supervise(asyncio.create_task(self.service.run()))
            finally:
                if heartbeat is not None:
                    heartbeat.cancel()
        finally:
            for signum in _SIGNALS:
                loop.remove_signal_handler(signum)

    @property
    def signals(self) -> asyncio.Queue[str]:
        """The signals received, as "stop" / "reload" / ...; run() makes the queue."""
        if self._signals is None:
            raise RuntimeError("the supervisor is not running")
        return self._signals

    async def start(self) -> int | None:
        """start(), unless a stop signal comes first; None when ready, else the exit code."""
        name = getattr(self.service, "name", "va")
        notify(f"STATUS=Starting {name}")
        starting = asyncio.create_task(self.service.start())
        while not starting.done():
            waiting = asyncio.create_task(self.signals.get())
            await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
            elif waiting.result() == "stop":
                _LOGGER.info("Stopping %s before it finished starting", name)
                notify("STOPPING=1", "STATUS=Stopping before ready")
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
                return 0
            # a SIGHUP while starting: start() reads the settings it was given; nothing to do
        error = starting.exception()
        if error is not None:
            _LOGGER.error("%s failed to start: %s", name, error, exc_info=_traceback_for(error))
            notify(f"STATUS=Failed to start: {_one_line(error)}")
            return 1
        notify("READY=1", f"STATUS={self.status()}")
        _LOGGER.info("%s is ready", name)
        return None

    async def supervise(self, running: asyncio.Task) -> int:
        """Serve signals until run() returns; the exit code."""
        while True:
            waiting = asyncio.create_task(self.signals.get())
            await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                waiting.cancel()
                break
            await self.on_signal(waiting.result(), running)
        if self.reloading is not None:
            self.reloading.cancel()
        error = None if running.cancelled() else running.exception()
        if error is not None:
            _LOGGER.error("Service failed: %s", error, exc_info=_traceback_for(error))
        if not self.stopping:
            notify("STOPPING=1", f"STATUS=Failed: {_one_line(error)}" if error else "STATUS=Finished")
            await self.stop()
        return 1 if error is not None else 0

    async def on_signal(self, action: str, running: asyncio.Task) -> None:
        if action == "stop" and self.stopping:
            _LOGGER.warning("Asked to stop again: cancelling the work in flight")
            running.cancel()
        elif action == "stop":
            self.stopping = True
            if self.reloading is not None and not self.reloading.done():
                _LOGGER.warning("Stopping: abandoning the reload still running (a command module hanging at import?)")
                self.reloading.cancel()
            _LOGGER.info("Stopping")
            notify("STOPPING=1", "STATUS=Stopping")
            await self.stop()
        elif self.stopping:
            return
        elif action == "reload" and self.reloading is not None and not self.reloading.done():
            _LOGGER.warning("Reload asked while the last one still runs: ignored")
        elif action == "reload":
            self.reloading = asyncio.create_task(self.reload())
        elif action == "recalibrate":
            self.recalibrate()

    async def stop(self) -> None:
        try:
            await self.service.stop()
        except Exception:  # the process is leaving anyway: say why, do not hide run()'s outcome
            _LOGGER.exception("Error while stopping")

    def recalibrate(self) -> None:
        recalibrate = getattr(self.service, "recalibrate", None)
        if recalibrate is None:
            _LOGGER.info("SIGUSR1 ignored: %s has nothing to recalibrate", getattr(self.service, "name", "va"))
        else:
            recalibrate()

    async def reload(self) -> None:
        notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
        try:
            settings = await asyncio.to_thread(load_settings, self.config_path)
            await self.service.reload(settings)
        except ConfigError as error:
            self.reload_error = f"reload failed, old configuration kept: {_one_line(error)}"
            _LOGGER.error("Configuration not reloaded, keeping the running one: %s", error)
        except Exception as error:
            self.reload_error = f"reload failed: {_one_line(error)}"
            _LOGGER.exception("Reload failed")
        else:
            self.reload_error = None
            _LOGGER.info("Configuration reloaded from %s", settings.source or "built-in defaults")
        notify("READY=1", f"STATUS={self.status()}")

    async def heartbeat(self) -> None:
        """STATUS= refresh and, while healthy, WATCHDOG=1: proof that the event loop turns."""
        interval = watchdog_interval()
        last_status = None
        was_healthy = True
        while True:
            await asyncio.sleep(interval or _IDLE_STATUS_SECONDS)
            healthy = self.healthy()
            if healthy and interval:
                notify("WATCHDOG=1")
            elif was_healthy and not healthy:
                _LOGGER.error("Service is unhealthy: %s", self.status())
            was_healthy = healthy
            status = self.status()
            if status != last_status:
                notify(f"STATUS={status}")
                last_status = status

    def healthy(self) -> bool:
        try:
            return bool(self.service.healthy())
        except Exception:
            _LOGGER.exception("healthy() failed")
            return False

    def status(self) -> str:
        try:
            status = _one_line(self.service.status())
        except Exception as error:
            status = f"status unavailable: {error}"
        return f"{status} ({self.reload_error})" if self.reload_error else status


def _traceback_for(error: BaseException) -> BaseException | None:
    """A SetupError is the user's to fix: its one line says what; anything else is a bug."""
    return None if isinstance(error, SetupError) else error


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
