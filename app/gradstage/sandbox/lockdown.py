"""What a worker child does to itself before it runs a learner's program.

Order matters: resource limits first, then Landlock (file access), then seccomp (system calls),
so that nothing after it can loosen them. Each layer is optional where the host lacks it; the
caller learns which layers held.
"""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Iterable

from gradstage.limits import Limits

# Loaded now, while files can still be read: after Landlock, finding libseccomp would fail.
try:
    import pyseccomp as seccomp
except (ImportError, OSError):  # pragma: no cover - libseccomp missing on this host
    seccomp = None

# System calls a traced program never needs. Refused with EPERM (a clean PermissionError in
# Python) rather than a kill, so the learner gets a plain message.
DENIED_SYSCALLS = (
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "execve", "execveat", "fork", "vfork",
    "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "kill", "tkill", "bpf", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "memfd_create", "init_module", "finit_module", "delete_module", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "personality", "open_by_handle_at",
    "name_to_handle_at", "reboot", "swapon", "swapoff", "kexec_load", "acct", "quotactl",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
)  # fmt: skip
CLONE_THREAD = 0x00010000


def _vm_size() -> int:
    """The process's current virtual memory size in bytes (torch maps a lot before any work)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def vm_size() -> int:
    """The process's current virtual memory size (read it before Landlock hides /proc)."""
    return _vm_size()


def apply_rlimits(limits: Limits, base_vm: int | None = None) -> None:
    """Address space, CPU seconds, file size, open files, no core dumps.

    The address-space limit is on top of what the process already maps (torch alone maps
    hundreds of MiB before any tensor exists).
    """
    headroom = (base_vm if base_vm is not None else _vm_size()) + limits.memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (headroom, headroom))
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def apply_landlock(readable: Iterable[str]) -> bool:
    """Allow reading only ``readable`` (Python, the venv, gradstage); writing nowhere."""
    try:
        from landlock import FSAccess, Ruleset
    except ImportError:
        return False
    try:
        ruleset = Ruleset()
        read = FSAccess.READ_FILE | FSAccess.READ_DIR
        for path in readable:
            if os.path.exists(path):
                ruleset.allow(path, rules=read)
        ruleset.apply()
    except (OSError, Exception):  # no Landlock in this kernel or container
        return False
    return True


def apply_seccomp() -> bool:
    """Refuse the system calls in ``DENIED_SYSCALLS`` and non-thread ``clone``."""
    if seccomp is None:
        return False
    try:
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        deny = seccomp.ERRNO(errno.EPERM)
        for name in DENIED_SYSCALLS:
            try:
                f.add_rule(deny, name)
            except (OSError, ValueError, RuntimeError):
                continue  # not a syscall on this architecture
        # clone() is how threads start too: only a clone that makes a thread is allowed.
        f.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        # clone3() passes its flags in memory, where a filter cannot read them. "Not
        # implemented" makes the C library fall back to clone(), checked above (EPERM would
        # make it give up: no thread could start, not even the tracer's own watchdog).
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        f.load()
    except (OSError, RuntimeError, ValueError):
        return False
    return True


def lock_down(limits: Limits, readable: Iterable[str]) -> dict[str, bool]:
    """Apply every layer this host supports; returns which ones are active."""
    base = _vm_size()
    landlock = apply_landlock(readable)
    apply_rlimits(limits, base)
    return {"rlimits": True, "landlock": landlock, "seccomp": apply_seccomp()}
