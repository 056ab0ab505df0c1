"""The detect command's memory settings (graphdetect._memory), each in a fresh process:
they change the process they run in."""

import json
import os
import platform
import subprocess
import sys

import pytest

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
VARIABLES = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _python(code: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in VARIABLES and k != "GRAPHDETECT_MALLOC"}
    done = subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


SET = ("import json, os; from graphdetect._memory import keep_freed_memory as k; "
       "took = k(); print(json.dumps({'took': took, 'env': {v: os.environ.get(v) for v in "
       + repr(VARIABLES) + "}}))")


def test_the_command_line_starts_without_numpy():
    """The settings must come before numpy's import starts OpenBLAS's threads (an arena
    made by one of them stays in use): the CLI's own imports leave numpy, pandas and
    pyarrow for the command that needs them."""
    loaded = _python("import json, sys, graphdetect.cli; print(json.dumps("
                     "[m for m in ('numpy', 'pandas', 'pyarrow', 'scipy', 'flask') "
                     "if m in sys.modules]))")
    assert loaded == []


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_settings_are_taken_and_passed_to_child_processes():
    out = _python(SET)
    assert out["took"] is True
    assert out["env"] == {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
                          "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_a_variable_the_user_set_is_kept():
    out = _python(SET, MALLOC_ARENA_MAX="4")
    assert out["took"] is True
    assert out["env"]["MALLOC_ARENA_MAX"] == "4"
    assert out["env"]["MALLOC_MMAP_THRESHOLD_"] == str(1 << 30)


def test_default_leaves_glibc_alone():
    out = _python(SET, GRAPHDETECT_MALLOC="default")
    assert out == {"took": False, "env": dict.fromkeys(VARIABLES)}


def test_package_attributes_load_on_first_use():
    """``graphdetect.read_folder`` and ``graphdetect.ledger.Ledger`` are imported when
    first asked for, and an unknown name is still an AttributeError."""
    out = _python("import json, graphdetect, graphdetect.ledger as l; "
                  "from graphdetect import ClaimsData, read_folder; "
                  "from graphdetect.ledger import Ledger; "
                  "print(json.dumps([read_folder.__module__, ClaimsData.__name__, "
                  "Ledger.__module__, hasattr(graphdetect, 'nothing'), "
                  "hasattr(l, 'nothing')]))")
    assert out == ["graphdetect.io", "ClaimsData", "graphdetect.ledger.book", False, False]


def test_every_run_takes_one_arena_and_leaves_the_environment_alone():
    """detect_folder's own setting (a library caller's run): one arena, no variable set."""
    out = _python("import json, os; from graphdetect._memory import one_arena; one_arena(); "
                  "print(json.dumps([os.environ.get(v) for v in " + repr(VARIABLES) + "]))")
    assert out == [None, None, None]


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_trim_heap_hands_back_what_the_settings_keep():
    """With the command line's settings, 400 MB freed stay resident until trim_heap."""
    out = _python(
        "import json, os; from graphdetect._memory import keep_freed_memory, trim_heap; "
        "keep_freed_memory(); import numpy as np\n"
        "page = os.sysconf('SC_PAGE_SIZE')\n"
        "def rss(): return int(open('/proc/self/statm').read().split()[1]) * page >> 20\n"
        "before = rss(); a = np.ones(50_000_000); held = rss(); del a; freed = rss()\n"
        "trim_heap(); print(json.dumps([before, held, freed, rss()]))")
    before, held, freed, trimmed = out
    assert held - before > 350
    assert freed - before > 350          # kept for the next array
    assert trimmed - before < 50

