"""The files of a run folder: written into a temporary sibling and renamed into place,
as strict JSON (no NaN, no infinity) and CSV; read back with checks.

A run folder holds :data:`RUN_FILES` (``docs/contract.md``, "Outputs").
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .cells import write_csv
from .errors import RunError
from .io import DEFAULT_TIME_ZONE

__all__ = ["RUN_FILES", "check_target", "atomic_folder", "strict_json", "write_json",
           "write_cases", "write_entity_scores", "read_cases", "load_summary", "time_zone_of"]

RUN_FILES = ("cases.jsonl", "entity_scores.csv", "summary.json", "rejects.csv")


def check_target(out: Path) -> None:
    """Refuse to write a run over a path that is a file, or a folder holding other things
    than an earlier run."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "summary.json").exists())):
        raise RunError("run.not_target", path=str(out))


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """A temporary sibling of ``out`` to write in, renamed into place when the block ends
    without an error (an earlier run there replaced whole), removed when it fails."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def strict_json(obj, path: Path, **kwargs) -> str:
    """``json.dumps`` that refuses NaN and infinity (which are not JSON) with a
    :class:`RunError` naming the file: a number that is not finite is a bug, and a run
    writes nothing rather than a file a strict reader cannot read."""
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, **kwargs)
    except ValueError as exc:
        raise RunError(f"{path.name}: a number is not finite ({exc}); nothing was written. "
                       "This is a bug in graphdetect: please report it") from None


def write_json(path: Path, obj) -> None:
    path.write_text(strict_json(obj, path, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_cases(path: Path, cases: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for case in cases:
            f.write(strict_json(case, path, separators=(", ", ": ")) + "\n")


def write_entity_scores(path: Path, rows) -> None:
    write_csv(path, ["kind", "id", "score", "patterns", "rank", "reasons"], rows)


_CASE_KEYS = frozenset({"case_id", "pattern", "members", "claim_ids"})


def read_cases(run: str | Path) -> list[dict]:
    """A run folder's cases (``cases.jsonl``), best first.

    Raises
    ------
    RunError
        When the folder has no cases.jsonl or a line of it is not a case.
    """
    path = Path(run) / "cases.jsonl"
    if not path.is_file():
        raise RunError("run.no_cases", path=str(run))
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except ValueError as exc:
                raise RunError(f"{path}: line {n} is not JSON ({exc})") from None
            if not isinstance(case, dict) or not _CASE_KEYS <= case.keys():
                raise RunError(f"{path}: line {n} is not a case (it needs "
                               f"{', '.join(sorted(_CASE_KEYS))})")
            cases.append(case)
    return cases


def load_summary(run: str | Path) -> dict:
    """Read a run folder's summary.json; ``RunError`` when it is not a run folder."""
    p = Path(run) / "summary.json"
    if not p.is_file():
        raise RunError("run.no_summary", path=str(run))
    return json.loads(p.read_text(encoding="utf-8"))


def time_zone_of(summary: dict) -> str:
    """The time zone a run read its data in: its summary's ``time_zone``, else the
    default (a run made in the default zone, or before runs recorded it)."""
    return summary.get("time_zone") or DEFAULT_TIME_ZONE
