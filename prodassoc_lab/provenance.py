"""Where a results file or a weights file came from: a provenance record written beside it.

Every results file a command or benchmark writes, and every saved weights file,
gets ``<file>.provenance.json`` beside it: the git commit of the working tree
(and whether it had uncommitted changes), the Python and library versions, the
command line, the CPU model and the logical CPU count, the time, and the file's
SHA-256, so that a number in the book can be traced to the code, the libraries
and the machine that made it. Outside a git checkout (an installed package, a
copy of the sources) the commit is recorded as ``null`` instead of failing.

The CPU functions live here rather than in :mod:`prodassoc_lab.tools.measure`
because a foundation imports no tool; the benchmarks import them from here.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from prodassoc_lab.files import write_atomically

#: The folder whose git checkout is recorded: the one holding the package's sources.
SOURCE = Path(__file__).resolve().parent.parent

#: Distributions whose versions are recorded (pip's names).
LIBRARIES = ("torch", "torch_geometric", "numpy", "scipy", "pandas", "scikit-learn")

SUFFIX = ".provenance.json"


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` reports)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def logical_cpus() -> int:
    """Logical CPUs this process may run on (its affinity set where the system reports one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _git(*arguments: str) -> str | None:
    """The output of ``git -C SOURCE arguments``, or ``None`` where git or the checkout is missing."""
    try:
        done = subprocess.run(["git", "-C", str(SOURCE), *arguments], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding the package."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def provenance(command: list[str] | None = None) -> dict:
    """The record of this run: git state, versions, command line (default ``sys.argv``), CPU and time."""
    return {
        "git": git_state(),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "command": list(sys.argv if command is None else command),
        "cpu": cpu_model(),
        "logical_cpus": logical_cpus(),
        "platform": platform.platform(),
        "written_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def provenance_path(path: str | os.PathLike) -> Path:
    """``<path>.provenance.json``, the record beside ``path``."""
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def write_provenance(path: str | os.PathLike, command: list[str] | None = None,
                     extra: Mapping[str, object] | None = None) -> Path:
    """Write the provenance record of the existing file ``path`` beside it, atomically; return its path.

    The record is :func:`provenance` with the file's name and SHA-256 and the
    entries of ``extra`` (which may replace any of them).
    """
    path = Path(path)
    record = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
              **provenance(command), **(extra or {})}
    try:
        text = json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:  # NaN is not JSON; nor is an arbitrary object
        raise ValueError(f"the provenance record of {path} cannot be written as JSON: {error}") from None
    return write_atomically(provenance_path(path), lambda temporary: temporary.write_text(text, encoding="utf-8"),
                            "provenance file")
