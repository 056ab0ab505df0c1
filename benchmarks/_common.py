"""Shared helpers of the benchmark scripts: data location, fresh-process measurement."""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path("/tmp/graphdetect-bench")


def data_dir(patients: int, fmt: str, seed: int = 1) -> Path:
    return ROOT / f"p{patients}-s{seed}-{fmt}"


def ensure_data(patients: int, fmt: str, seed: int = 1) -> Path:
    """Generate the benchmark data once; later runs reuse it while the generator's
    version is the one that made it."""
    from graphdetect.synth.generator import VERSION, generate

    out = data_dir(patients, fmt, seed)
    truth = out / "truth.json"
    if not truth.exists() or _version(truth) != VERSION:
        print(f"generating {out} ...", file=sys.stderr)
        generate(out, patients=patients, seed=seed, fmt=fmt)
    return out


def _version(truth: Path) -> int | None:
    """The generator version a truth.json names: its keys are sorted, so "version" is the
    last one, read from the file's end (a million people's truth is not parsed for it)."""
    with open(truth, "rb") as f:
        f.seek(max(0, truth.stat().st_size - 4096))
        found = re.search(rb'"version":\s*(\d+)', f.read())
    return int(found.group(1)) if found else None


def data_arguments(doc: str, patients: int) -> argparse.Namespace:
    """The arguments every data benchmark takes: how many people, which format, which seed."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--patients", type=int, default=patients)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


def measure(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; return its printed JSON plus wall time and peak RSS.

    ``code`` must print one JSON object on its last line.
    """
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(proc.stderr)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out.update(wall_s=round(wall, 2), peak_rss_gb=round(usage.ru_maxrss / 1024**2, 2))
    return out


def report(title: str, figures: dict, budgets: dict) -> None:
    print(title)
    for k, v in figures.items():
        limit = budgets.get(k)
        verdict = "" if limit is None else ("  ok" if v <= limit else f"  OVER budget {limit}")
        print(f"  {k:<24} {v}{verdict}")


_PAGE = os.sysconf("SC_PAGE_SIZE")


def process_tree(root: int) -> list[tuple[int, str]]:
    """``root`` and its descendants, each with its command line (from /proc)."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out.append((pid, cmd))
        todo += kids.get(pid, [])
    return out


def rss(pid: int) -> int:
    """A process's resident set now, in bytes (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError):
        return 0
