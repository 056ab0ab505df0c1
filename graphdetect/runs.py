"""A collection of run folders: their order, a case key's history, the hash chain.

Runs link to the run they continue through ``summary.json``'s ``previous_run``
(``docs/contract.md``, "Monthly runs"). Cases are read only when asked for, once per run.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from .errors import RunError
from .lineage import total_amount, with_keys
from .run import load_summary

__all__ = ["Run", "Runs", "newest_run"]


class Run:
    """One run folder: its summary now, its cases (with keys) when first asked for.

    Parameters
    ----------
    folder : str or Path
        A run folder (it holds ``summary.json``).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.summary: dict = load_summary(self.folder)
        self.run_id: str = self.summary.get("run_id") or self.folder.name
        self._cases: list[dict] | None = None
        self._sha256: str | None = None
        self._by_key: dict[str, dict] | None = None

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r}, run_id={self.run_id!r})"

    @property
    def previous(self) -> dict | None:
        """``summary.json``'s ``previous_run`` (``run_id``, ``folder``, ``cases_sha256``)."""
        return self.summary.get("previous_run")

    @property
    def last_day(self) -> str:
        """The last claim day the run saw (ISO date; "" when unknown)."""
        return (self.summary.get("claims") or {}).get("last_day") or ""

    @property
    def cases(self) -> list[dict]:
        """The run's cases, best first, each with ``case_key`` and ``lineage``."""
        if self._cases is None:
            self._read()
        return self._cases

    @property
    def cases_sha256(self) -> str:
        """SHA-256 of the bytes of ``cases.jsonl`` (hex)."""
        if self._sha256 is None:
            self._read()
        return self._sha256

    def case(self, case_key: str) -> dict | None:
        """The run's case holding ``case_key``, or ``None``."""
        if self._by_key is None:
            self._by_key = {c["case_key"]: c for c in self.cases}
        return self._by_key.get(case_key)

    def _read(self) -> None:
        path = self.folder / "cases.jsonl"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RunError(f"{self.folder}: cannot read cases.jsonl ({exc.strerror})") from None
        cases = []
        for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    cases.append(json.loads(line))
                except ValueError as exc:
                    raise RunError(f"{path}: line {n} is not JSON ({exc})") from None
        self._sha256 = hashlib.sha256(data).hexdigest()
        self._cases = with_keys(cases, self.run_id)


class Runs:
    """Run folders, oldest to newest.

    Parameters
    ----------
    paths : iterable of str or Path
        Run folders and/or folders of run folders (their direct subfolders holding a
        ``summary.json``). A folder named twice is taken once.

    Notes
    -----
    A run comes after the run its ``previous_run`` names, when that one is here; runs
    the chain does not order are ordered by the last claim day they saw, then by the
    modification time of their ``summary.json``, then by folder path.
    """

    def __init__(self, paths: Iterable[str | Path]):
        folders: dict[Path, None] = {}
        for p in paths:
            for f in _run_folders(Path(p)):
                folders.setdefault(f.resolve(), None)
        self.runs: list[Run] = _ordered([Run(f) for f in folders])

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    @property
    def newest(self) -> Run:
        """The last run in order."""
        if not self.runs:
            raise RunError("no run folders")
        return self.runs[-1]

    def get(self, run_id: str) -> Run:
        """The run with this id (the newest folder of it, if it is here twice)."""
        for run in reversed(self.runs):
            if run.run_id == run_id:
                return run
        raise RunError(f"no run {run_id} among {len(self.runs)} run folders")

    def cases(self, run_id: str) -> list[dict]:
        """The cases of the run with this id, each with ``case_key`` and ``lineage``."""
        return self.get(run_id).cases

    def history(self, case_key: str) -> list[dict]:
        """One row per run that holds ``case_key``, oldest first.

        Rows hold ``run_id``, ``case_id``, ``score``, ``members`` and ``claims`` (counts),
        ``total_amount`` and the case's lineage there: ``state``, ``delta``,
        ``merged_from``, ``split_from``.
        """
        rows = []
        for run in self.runs:
            case = run.case(case_key)
            if case is None:
                continue
            lin = case["lineage"]
            rows.append({"run_id": run.run_id, "case_id": case["case_id"],
                         "score": case.get("score"), "members": len(case["members"]),
                         "claims": len(case["claim_ids"]), "total_amount": total_amount(case),
                         "state": lin["state"], "delta": lin["delta"],
                         "merged_from": lin["merged_from"], "split_from": lin["split_from"]})
        return rows

    def verify_chain(self) -> list[str]:
        """Problems with the hash chain, one line each; empty when every link holds.

        A link holds when the SHA-256 a run recorded for its previous run's
        ``cases.jsonl`` is that of the file here. A previous run whose folder is not
        among these runs is reported as not here (its link cannot be checked).
        """
        by_id: dict[str, list[Run]] = defaultdict(list)
        for run in self.runs:
            by_id[run.run_id].append(run)
        problems = []
        for run in self.runs:
            prev = run.previous
            if not prev:
                continue
            here = by_id.get(prev.get("run_id"), [])
            if not here:
                problems.append(f"{run.folder} ({run.run_id}): its previous run "
                                f"{prev.get('run_id')} ({prev.get('folder')}) is not here, "
                                "so that link is not checked")
            elif not any(r.cases_sha256 == prev.get("cases_sha256") for r in here):
                for r in here:
                    problems.append(
                        f"{r.folder} ({r.run_id}): broken link: its cases.jsonl has SHA-256 "
                        f"{r.cases_sha256}, but {run.folder} ({run.run_id}) recorded "
                        f"{prev.get('cases_sha256')}; it was changed after that run")
        return problems


def newest_run(path: str | Path, *, exclude: str | Path | None = None) -> Run:
    """The run at ``path`` (a run folder), or the newest run in a folder of run folders.

    ``exclude`` (the run folder about to be written) is never taken.
    """
    path = Path(path)
    skip = Path(exclude).resolve() if exclude is not None else None
    if path.resolve() == skip:
        raise RunError("run.previous_is_out", path=str(path))
    runs = [r for r in Runs([path]) if r.folder.resolve() != skip]
    if not runs:
        raise RunError("run.no_runs_here", path=str(path))
    return runs[-1]


def _run_folders(path: Path) -> list[Path]:
    if (path / "summary.json").is_file():
        return [path]
    if not path.is_dir():
        raise RunError("run.not_runs", path=str(path))
    return sorted(p for p in path.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "summary.json").is_file())


def _ordered(runs: list[Run]) -> list[Run]:
    """Chain order first (a run after the run it continues), then day, mtime and path."""
    def rank(i: int) -> tuple:
        r = runs[i]
        return (r.last_day, (r.folder / "summary.json").stat().st_mtime_ns, str(r.folder), i)

    ids: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(runs):
        ids[r.run_id].append(i)
    after: dict[int, list[int]] = defaultdict(list)
    waiting = [0] * len(runs)
    for i, r in enumerate(runs):
        for j in ids.get((r.previous or {}).get("run_id"), ()):
            if j != i:
                after[j].append(i)
                waiting[i] += 1
    ready = [rank(i) for i in range(len(runs)) if not waiting[i]]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)[-1]
        order.append(runs[i])
        for k in after[i]:
            waiting[k] -= 1
            if not waiting[k]:
                heapq.heappush(ready, rank(k))
    done = {id(r) for r in order}
    order += sorted((r for r in runs if id(r) not in done), key=lambda r: rank(runs.index(r)))
    return order
