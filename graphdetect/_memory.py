"""How a ``graphdetect detect`` process asks glibc for memory.

numpy takes every array of 32 MB or more (at a city's size, most per-claim arrays) from a
fresh ``mmap`` and gives it back on free, so the kernel zeroes its pages again for the
next one: at ten million claims a run had 10 GB of pages zeroed for a 2.8 GB peak, and
a fifth to a quarter of its CPU time in the kernel. Told to serve such arrays from its heap, to keep
up to 1 GiB freed at the heap's top and to use one arena for all threads, glibc hands the
same pages to the next array: 4.3 GB zeroed, about 9 % less wall (benchmarks/README.md,
tenth session).

This must run before numpy is imported: numpy's import starts OpenBLAS's threads, and an
arena one of them made stays in use, smaller than the large arrays, which then come from
``mmap`` again (the same settings made after the imports zeroed 6.4 GB and peaked 0.2 GB
higher). Only the command line calls it, for the embedded engine, so a library caller's
process keeps its own settings. A variable the user set (``MALLOC_ARENA_MAX``,
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``) is left as it is;
``GRAPHDETECT_MALLOC=default`` leaves glibc alone.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["keep_freed_memory"]

# glibc's variable, mallopt's parameter (malloc.h), and the value
_SETTINGS = (("MALLOC_ARENA_MAX", -8, 1),                   # threads share one heap
             ("MALLOC_MMAP_THRESHOLD_", -3, 1 << 30),       # below 1 GiB from that heap
             ("MALLOC_TRIM_THRESHOLD_", -1, 1 << 30))       # 1 GiB free at its top kept


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory for the next allocation, in this process
    and in those it starts (through glibc's variables); True when it took the settings.
    False on other systems than Linux with glibc, and with ``GRAPHDETECT_MALLOC=default``.
    """
    if os.environ.get("GRAPHDETECT_MALLOC") == "default" or not sys.platform.startswith(
            "linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    took = True
    for name, param, value in _SETTINGS:
        if name not in os.environ:          # else glibc read the user's at start
            took &= mallopt(param, value) == 1
            os.environ[name] = str(value)
    return took
