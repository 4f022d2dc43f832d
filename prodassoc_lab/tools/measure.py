"""Measuring a process: peak resident memory, fresh processes (benchmarks and chapter 10).

Not a teaching module: these are the instruments the benchmarks and
:mod:`prodassoc_lab.explain.cost` use to take their measurements.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from prodassoc_lab.validation import positive_int


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def mmap_large_allocations(threshold: int = 64 * 1024) -> bool:
    """Make ``malloc`` give every block of ``threshold`` bytes or more its own pages, freed at once (glibc).

    By default glibc's ``malloc`` keeps freed memory for reuse and raises the
    size above which blocks get their own pages as the program runs, so the
    peak resident memory of an operation depends on what the process did
    before: in processes forked from the same server, one GCN step on graphs of
    0.4 and 0.8 million adjacency entries read the same 190.6 MiB. With a fixed threshold
    (``mallopt(M_MMAP_THRESHOLD)``, which also turns the adjustment off), every
    tensor larger than it is mapped when allocated and unmapped when freed, so
    resident memory follows the memory in use. Call it once at the start of a
    process that measures memory; page faults make large allocations slower,
    so do not time code under it. Returns ``False`` where the C library has no
    ``mallopt`` (not glibc), where it changes nothing.
    """
    threshold = positive_int(threshold, "threshold")
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    m_mmap_threshold = -3  # from glibc's <malloc.h>
    return bool(mallopt is not None and mallopt(m_mmap_threshold, threshold))


def peak_rss_growth(operation: Callable[[], object]) -> tuple[object, int]:
    """Run ``operation()``; return its result and by how many bytes the process's peak resident memory rose.

    Linux only: the kernel's peak counter (``VmHWM``) is reset through
    ``/proc/self/clear_refs`` before the call and read after it. Resident
    memory counts every allocation — PyTorch's CPU allocator, NumPy, SciPy,
    MKL's buffers, and what ``malloc`` keeps after a free — which is what a
    memory budget is about; ``tracemalloc`` sees only Python's allocator, and
    ``torch.profiler(profile_memory=True)`` only PyTorch's (and slows the
    code it watches). Call it in a fresh process (:func:`fresh_processes`)
    after :func:`mmap_large_allocations`: in a process that already used more
    memory, freed pages are reused without raising the peak, and the growth
    reads too low.
    """
    clear_refs = Path("/proc/self/clear_refs")
    if not clear_refs.exists():
        raise RuntimeError("peak_rss_growth needs Linux's /proc/self/clear_refs to reset the peak-memory counter")
    clear_refs.write_text("5")  # 5: reset the peak resident set size (VmHWM) to the current one
    before = _status_kib("VmRSS")
    result = operation()
    return result, (_status_kib("VmHWM") - before) * 1024


def fresh_processes(preload: Sequence[str] = ("torch", "torch_geometric")) -> ProcessPoolExecutor:
    """An executor that runs each task in a new process, forked from a server that has imported ``preload``.

    A fresh process per measurement keeps one measurement's memory out of the
    next one's peak. Importing PyTorch and PyG takes seconds, which over a
    hundred measurements would outweigh the measurements, so the processes are
    forked from multiprocessing's fork server after it imported them once
    (``set_forkserver_preload``; the server has run nothing else, so its
    children start with clean heaps). ``preload`` names importable modules:
    a script's own functions are found by re-running the script in each
    process, which is quick once the heavy modules it imports are preloaded.
    The list takes effect when the fork server starts, at the first task of the
    first such executor in a program. Use it as a context manager.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1)

