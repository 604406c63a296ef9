"""The bubblewrap command line that starts a fork server in its own namespaces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import gradstage

SANDBOX_UID = 65534  # "nobody"


def _binds() -> list[str]:
    """Read-only views of only what Python, the venv and gradstage need."""
    args: list[str] = []
    for top in ("/usr", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(top):
            args += ["--ro-bind", top, top]
    for link in ("/bin", "/sbin", "/lib", "/lib64"):
        p = Path(link)
        if p.is_symlink():
            args += ["--symlink", os.readlink(link), link]
        elif p.exists():
            args += ["--ro-bind", link, link]
    package_root = str(Path(gradstage.__file__).resolve().parent.parent)
    seen: set[str] = set()
    for path in (sys.base_prefix, sys.prefix, package_root, *[p for p in sys.path if p]):
        real = os.path.realpath(path)
        if not os.path.isdir(real) or real.startswith("/usr") or real in seen:
            continue
        if _covers_tmp(real):
            # /tmp itself on sys.path (a script run from /tmp) or one of its parents: binding it
            # would replace the sandbox's private, writable /tmp, which torch needs (importing
            # torch._dynamo looks for a temporary directory).
            continue
        if any(real.startswith(s + "/") for s in seen):
            continue
        seen.add(real)
        args += ["--ro-bind", real, real]
        if path != real and not path.startswith("/usr"):
            args += ["--ro-bind", real, path]
    if os.path.isdir("/sys/devices/system/cpu"):
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return args


def _covers_tmp(path: str) -> bool:
    """True for /tmp and the folders that contain it."""
    return path == "/tmp" or "/tmp".startswith(path.rstrip("/") + "/")


def _pythonpath() -> list[str]:
    """Keep PYTHONPATH (its folders are bound above), so the sandbox imports the same gradstage."""
    value = os.environ.get("PYTHONPATH")
    return ["--setenv", "PYTHONPATH", value] if value else []


def command(python_args: list[str]) -> list[str]:
    """``bwrap ... -- python ARGS``: no network, no host files beyond the binds, no privileges."""
    bwrap = shutil.which("bwrap") or "bwrap"
    return [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_UID),
        # A private /tmp first: the binds below then appear on top of it, so a venv or checkout
        # that lives under /tmp stays visible inside the sandbox.
        "--tmpfs", "/tmp",
        *_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--chdir", "/tmp",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "PYTHONHASHSEED", "0",
        *_pythonpath(),
        "--setenv", "OMP_NUM_THREADS", "1",
        "--setenv", "MKL_NUM_THREADS", "1",
        "--",
        sys.executable,
        *python_args,
    ]  # fmt: skip


def available() -> tuple[bool, str]:
    """Whether bubblewrap can create its namespaces on this host, and why not if it cannot."""
    if shutil.which("bwrap") is None:
        return False, "bwrap is not installed"
    try:
        result = subprocess.run(
            command(["-c", "pass"]), capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if result.returncode != 0:
        return False, result.stderr.decode(errors="replace").strip()[:300]
    return True, "ok"
