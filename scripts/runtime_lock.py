"""Write requirements-runtime.lock: the packages the app needs to run, pinned as in the full lock.

The full lock (``requirements.lock``) pins everything in the development environment, test and
lint tools included. The Docker image needs only what ``gradstage`` itself requires: this walks
the requirements of the project's ``dependencies`` (with their extras and environment markers
for this platform) through the installed distributions and keeps those lines of the full lock.

    .venv/bin/python scripts/runtime_lock.py        (run by ``make lock``)
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HEADER = (
    "# The packages gradstage needs at run time (the Docker image installs these), pinned as in\n"
    "# requirements.lock (setuptools, which pip freeze leaves out, as installed).\n"
    "# Regenerate: make lock\n"
)


def closure(roots: list[str]) -> set[str]:
    """Canonical names of ``roots`` and everything they require, transitively."""
    needed: set[str] = set()
    pending = [Requirement(r) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        req = pending.pop()
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        needed.add(name)
        for line in metadata.distribution(req.name).requires or []:
            sub = Requirement(line)
            # A requirement applies when its marker holds for this platform with no extra, or
            # with one of the extras asked for.
            extras = ("", *req.extras)
            if sub.marker is None or any(
                sub.marker.evaluate({**default_environment(), "extra": e}) for e in extras
            ):
                pending.append(sub)
    return needed


def render() -> str:
    """The runtime lock's text, from pyproject.toml, requirements.lock and the installed
    distributions."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = closure(list(project["dependencies"]))
    kept: list[str] = []
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name = canonicalize_name(line.split("==")[0])
        if name in needed:
            kept.append(line)
            needed.discard(name)
    # pip freeze leaves out setuptools (torch requires it): pinned as installed.
    kept += [f"{name}=={metadata.version(name)}" for name in sorted(needed)]
    return HEADER + "\n".join(kept) + "\n"


def main() -> int:
    (ROOT / "requirements-runtime.lock").write_text(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
