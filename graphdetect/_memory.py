"""How a ``graphdetect detect`` process asks glibc for memory.

numpy takes every array of 32 MB or more (at a city's size, most per-claim arrays) from a
fresh ``mmap`` and gives it back on free, so the kernel zeroes its pages again for the
next one: at ten million claims a run had 10 GB of pages zeroed for a 2.8 GB peak, and a
fifth to a quarter of its CPU time in the kernel. Told to serve such arrays from its
heap, to keep up to 1 GiB freed at the heap's top and to use one arena for all threads,
glibc hands the same pages to the next array: 4.3 GB zeroed, about 9 % less wall
(benchmarks/README.md, tenth session).

This must run before numpy is imported: numpy's import starts OpenBLAS's threads, and an
arena one of them made stays in use, smaller than the large arrays, which then come from
``mmap`` again (the same settings made after the imports zeroed 6.4 GB and peaked 0.2 GB
higher). Only the command line calls it, for the embedded engine, so a library caller's
process keeps its own settings. A variable the user set (``MALLOC_ARENA_MAX``,
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``) is left as it is;
``GRAPHDETECT_MALLOC=default`` leaves glibc alone.

What a detector freed is kept that way too, in the middle of the heap as well as at its
top, and the next detector's arrays do not always fit it. A run therefore hands the
freed pages back (:func:`trim_heap`) each time a detector ends: at ten million claims the
peak fell by about a quarter of a gigabyte at the same wall time (benchmarks/README.md,
sixteenth session).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["keep_freed_memory", "one_arena", "trim_heap"]

# glibc's variable, mallopt's parameter (malloc.h), and the value
_SETTINGS = (("MALLOC_ARENA_MAX", -8, 1),                   # threads share one heap
             ("MALLOC_MMAP_THRESHOLD_", -3, 1 << 30),       # below 1 GiB from that heap
             ("MALLOC_TRIM_THRESHOLD_", -1, 1 << 30))       # 1 GiB free at its top kept


def _libc():
    """glibc, or None elsewhere (other C libraries' options differ)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def _mallopt():
    """glibc's ``mallopt``, or None elsewhere."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def one_arena() -> None:
    """Have glibc's malloc serve every thread from one arena, as every run does (the
    command line's :func:`keep_freed_memory` does more, and earlier). With an arena per
    thread (glibc's default), what one detector thread frees is kept for that thread: at
    ten million claims the peak grew by about 0.25 GB, with no gain in speed. This
    process's environment is left as it is."""
    _apply(_SETTINGS[:1], export=False)


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory for the next allocation, in this process
    and in those it starts (through glibc's variables); True when it took the settings.
    False on other systems than Linux with glibc, and with ``GRAPHDETECT_MALLOC=default``.
    """
    return _apply(_SETTINGS, export=True)


def _apply(settings, *, export: bool) -> bool:
    mallopt = None if os.environ.get("GRAPHDETECT_MALLOC") == "default" else _mallopt()
    if mallopt is None:
        return False
    took = True
    for name, param, value in settings:
        if name not in os.environ:          # else glibc read the user's at start
            took &= mallopt(param, value) == 1
            if export:
                os.environ[name] = str(value)
    return took


def trim_heap() -> None:
    """Hand the pages of memory this process freed back to the system (glibc's
    ``malloc_trim``); nothing elsewhere, or with ``GRAPHDETECT_MALLOC=default``."""
    libc = None if os.environ.get("GRAPHDETECT_MALLOC") == "default" else _libc()
    if libc is not None:
        libc.malloc_trim(0)
