"""A throwaway Debian system in a chroot, for tests that install va the way a user would.

``debootstrap`` (Debian's package) builds a minimal system once per suite and architecture. It is
kept as a tar file under the cache directory (``$VA_TEST_CACHE``, default /var/cache/va-test),
together with what apt and pip download, so a later run unpacks it in seconds and installs every
package again from scratch without downloading it again. Needs root (chroot, mounts).

The chroot shares the host's network, loopback included: a server started on the host at
127.0.0.1 is reachable from inside. It also gets the host's name resolution, and pip inside
trusts the certificates the host trusts (some networks put an HTTPS proxy in the way).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator, List, Optional

CACHE = Path(os.environ.get("VA_TEST_CACHE", "/var/cache/va-test"))
MIRROR = os.environ.get("VA_DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unavailable() -> Optional[str]:
    """Why a Debian root cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot and mounts)"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (bash setup.sh test installs it)"
    return None


def architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def base_tarball(suite: str, timeout: float) -> Path:
    """The debootstrapped minimal system as a tar file, built on first use."""
    tarball = CACHE / f"{suite}-{architecture()}-minbase.tar"
    with _locked(CACHE / ".lock"):
        if tarball.exists():
            return tarball
        work = CACHE / f"{suite}.building"
        remove_tree(work)
        command = ["debootstrap", "--variant=minbase", "--include=sudo", f"--cache-dir={CACHE / 'debootstrap'}"]
        (CACHE / "debootstrap").mkdir(parents=True, exist_ok=True)
        subprocess.run([*command, suite, str(work), MIRROR], check=True, capture_output=True, timeout=timeout)
        subprocess.run(["chroot", str(work), "apt-get", "clean"], check=True, timeout=timeout)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(work), "-cf", str(partial), "."], check=True, timeout=timeout)
        partial.rename(tarball)
        remove_tree(work)
    return tarball


def mounts_under(path: Path) -> List[str]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    with open("/proc/mounts") as table:
        points = [line.split()[1].replace("\\040", " ") for line in table]
    return [point for point in points if point.startswith(prefix) or point == prefix.rstrip("/")]


def remove_tree(path: Path) -> None:
    """rm -rf, but never through a mount: those are unmounted first, and it refuses if one stays."""
    for point in sorted(mounts_under(path), reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False)
    if mounts_under(path):
        raise RuntimeError(f"refusing to delete {path}: still mounted: {mounts_under(path)}")
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


class DebianRoot:
    """A fresh Debian ``suite`` at ``path``: unpacked on enter, removed (with its mounts) on exit."""

    def __init__(self, suite: str, path: Path, timeout: float = 900.0) -> None:
        self.suite = suite
        self.path = path
        self.timeout = timeout
        self.setup_seconds = 0.0
        self._caches = {  # place in the root -> cache folder
            "var/cache/apt/archives": CACHE / f"apt-{suite}-{architecture()}",
            "var/lib/apt/lists": CACHE / f"lists-{suite}-{architecture()}",
            "root/.cache/pip": CACHE / f"pip-{suite}-{architecture()}",
        }

    def __enter__(self) -> DebianRoot:
        started = time.monotonic()
        try:
            self.create()
        except BaseException:
            remove_tree(self.path)
            raise
        self.setup_seconds = time.monotonic() - started
        return self

    def create(self) -> None:
        """Unpack the base system (debootstrap it first if it is not cached) and mount /proc, /dev/pts."""
        tarball = base_tarball(self.suite, self.timeout)
        self.path.mkdir(parents=True)
        subprocess.run(["tar", "-C", str(self.path), "-xf", str(tarball)], check=True, timeout=self.timeout)
        self._like_the_host()
        self._copy_caches(into_root=True)
        subprocess.run(["mount", "-t", "proc", "proc", str(self.path / "proc")], check=True)
        subprocess.run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts", str(self.path / "dev/pts")], check=True)

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._copy_caches(into_root=False)
        finally:
            remove_tree(self.path)

    def _like_the_host(self) -> None:
        for name in ("etc/resolv.conf", "etc/hosts"):
            target = self.path / name
            target.unlink(missing_ok=True)  # may be a dangling link
            shutil.copyfile(Path("/") / name, target)
        if HOST_CA.exists():  # pip in the root trusts what the host trusts (sudo drops PIP_CERT, so a file)
            shutil.copyfile(HOST_CA, self.path / "etc/host-ca-certificates.crt")
            (self.path / "etc/pip.conf").write_text("[global]\ncert = /etc/host-ca-certificates.crt\n")

    def _copy_caches(self, into_root: bool) -> None:
        with _locked(CACHE / ".lock"):  # another run may be copying the same files
            self._copy_caches_unlocked(into_root)

    def _copy_caches_unlocked(self, into_root: bool) -> None:
        for inside, cache in self._caches.items():
            source, target = (cache, self.path / inside) if into_root else (self.path / inside, cache)
            if source.is_dir():  # cp -u: only what is newer (apt's lists are large)
                target.mkdir(parents=True, exist_ok=True)
                subprocess.run(["cp", "-a", "-u", f"{source}/.", str(target)], check=True)

    def copy_in(self, source: Path, inside: str, ignore: List[str]) -> None:
        """A checkout as a clone would have it (git's files, plus new ones git does not ignore)."""
        target = self.path / inside.lstrip("/")
        listed = subprocess.run(["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=False)
        if listed.returncode != 0:  # not a git checkout: everything but the usual clutter
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(*ignore), symlinks=True)
            return
        for name in filter(None, listed.stdout.decode().split("\0")):
            if (source / name).is_file() or (source / name).is_symlink():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / name, target / name, follow_symlinks=False)

    def run(self, script: str, timeout: Optional[float] = None, check: bool = False) -> subprocess.CompletedProcess:
        """``bash -euo pipefail -c script`` as root in the root, with a clean environment."""
        env = ["env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"]
        return subprocess.run(
            ["chroot", str(self.path), *env, "bash", "-euo", "pipefail", "-c", script],
            capture_output=True, text=True, timeout=timeout or self.timeout, check=check,
        )


    def popen(self, script: str, log: Path) -> subprocess.Popen:
        """``run`` in the background, its output going to ``log``; end it with terminate()."""
        env = ["env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8"]
        with open(log, "ab") as out:
            return subprocess.Popen(["chroot", str(self.path), *env, "bash", "-euo", "pipefail", "-c", script],
                                    stdout=out, stderr=subprocess.STDOUT)


def timed(what: str, log: List[str]):
    """A context manager that appends "what: N s" to ``log``."""
    @contextlib.contextmanager
    def _timer() -> Iterator[None]:
        started = time.monotonic()
        yield
        log.append(f"{what}: {time.monotonic() - started:.1f} s")
    return _timer()
