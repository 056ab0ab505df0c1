"""A case's history across runs and the hash chain of those runs, in an evidence package.

``history.json`` holds the case key and one row per run holding it, oldest first (run id,
case id, score, members, claims, amount, lineage state, delta, merged from, split from).
``chain.json`` holds the runs the case came from, oldest first: each run's id, the
SHA-256 of its ``cases.jsonl`` as it is at export, and the ``previous_run`` link
(``run_id``, ``cases_sha256``) that run recorded when it was made. The chain holds when
each run's recorded link names the next-older run and that run's hash; ``verify`` checks
it inside the package and, given the run folders, against their ``cases.jsonl`` now.

The earlier runs are found through ``runs`` (run folders or folders of them) when given,
else at the folders the runs' ``previous_run`` recorded, as far as they exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunError
from ..run import load_summary
from ..runs import Runs
from ._common import ExportError

__all__ = ["HISTORY", "CHAIN", "CaseHistory", "case_history", "chain_problems", "run_problems",
           "as_runs"]

HISTORY = "history.json"
CHAIN = "chain.json"


@dataclass
class CaseHistory:
    """What a package records of the runs a case came from.

    Attributes
    ----------
    case_key : str
        The case's key (``docs/contract.md``, "Monthly runs").
    rows : list of dict
        One row per run holding the key, oldest first (:meth:`Runs.history`).
    chain : list of dict
        The runs from the oldest row's run to the exported run, oldest first:
        ``run_id``, ``cases_sha256``, ``previous_run`` (``run_id``, ``cases_sha256``; null).
    complete : bool
        False when the case continues a run that could not be found.
    """

    case_key: str
    rows: list[dict]
    chain: list[dict]
    complete: bool

    def files(self) -> dict[str, bytes]:
        """``history.json`` and ``chain.json`` as bytes (the same history, the same bytes)."""
        history = {"case_key": self.case_key, "runs": self.rows}
        chain = {"case_key": self.case_key, "complete": self.complete, "runs": self.chain}
        return {HISTORY: _json(history), CHAIN: _json(chain)}


def as_runs(runs: Runs | Iterable[str | Path] | None) -> Runs | None:
    """``runs`` as a :class:`Runs` (run folders and folders of them), or None."""
    if runs is None or isinstance(runs, Runs):
        return runs
    try:
        return Runs(runs)
    except RunError as exc:
        raise ExportError(str(exc)) from None


def case_history(run: Path, case_key: str, summary: dict,
                 runs: Runs | Iterable[str | Path] | None = None) -> CaseHistory:
    """The history and hash chain of the case ``case_key`` of the run folder ``run``
    (whose ``summary.json`` is ``summary``).

    Raises
    ------
    ExportError
        When a run of the chain was changed after the run that continues it was made
        (its ``cases.jsonl`` no longer has the hash that run recorded).
    """
    folders = _chain_folders(Path(run), summary, as_runs(runs))
    try:
        linked = Runs(folders)
    except RunError as exc:
        raise ExportError(str(exc)) from None
    by_folder = {r.folder: r for r in linked}
    order = [by_folder[f.resolve()] for f in reversed(folders)]  # oldest first
    at = {r.run_id: i for i, r in enumerate(order)}
    rows = sorted(linked.history(case_key), key=lambda row: at[row["run_id"]])
    first = next(i for i, r in enumerate(order) if r.run_id == rows[0]["run_id"])
    chain = [{"run_id": r.run_id, "cases_sha256": r.cases_sha256,
              "previous_run": _link(r.previous)} for r in order[first:]]
    broken = chain_problems(chain)
    if broken:
        raise ExportError(f"the runs of case {case_key} no longer form a hash chain: "
                          f"{broken[0]}")
    complete = not order[first].case(case_key)["lineage"]["previous"]
    return CaseHistory(case_key, rows, chain, complete)


def chain_problems(chain: list[dict]) -> list[str]:
    """Where a chain (oldest first) does not hold: a run's recorded link must name the
    next-older run and its ``cases_sha256``.

    >>> a = {"run_id": "run-a", "cases_sha256": "11", "previous_run": None}
    >>> b = {"run_id": "run-b", "cases_sha256": "22",
    ...      "previous_run": {"run_id": "run-a", "cases_sha256": "11"}}
    >>> chain_problems([a, b])
    []
    >>> chain_problems([dict(a, cases_sha256="99"), b])[0][:60]
    'run-b recorded cases.jsonl of run-a with SHA-256 11, the cha'
    """
    out = []
    for older, newer in zip(chain, chain[1:], strict=False):
        link = newer.get("previous_run") or {}
        if link.get("run_id") != older.get("run_id"):
            out.append(f"{newer.get('run_id')} continues {link.get('run_id')}, "
                       f"not {older.get('run_id')}")
        elif link.get("cases_sha256") != older.get("cases_sha256"):
            out.append(f"{newer.get('run_id')} recorded cases.jsonl of {older.get('run_id')} "
                       f"with SHA-256 {link.get('cases_sha256')}, the chain holds "
                       f"{older.get('cases_sha256')}")
    return out


def run_problems(chain: list[dict], runs: Runs) -> tuple[list[tuple[str, str]], list[str]]:
    """Check each run of a chain against the run folders ``runs``.

    Returns ``(problems, not_checked)``: ``(run id, why)`` for each run whose
    ``cases.jsonl`` has another SHA-256 now, and the run ids not found among ``runs``.
    """
    problems, missing = [], []
    for entry in chain:
        rid = str(entry.get("run_id"))
        try:
            found = runs.get(rid)
            now = found.cases_sha256
        except RunError:
            missing.append(rid)
            continue
        if now != entry.get("cases_sha256"):
            problems.append((rid, f"cases.jsonl in {found.folder} has SHA-256 {now}; the "
                             f"package recorded {entry.get('cases_sha256')}"))
    return problems, missing


def _chain_folders(run: Path, summary: dict, pool: Runs | None) -> list[Path]:
    """The run folder and those of the runs it continues, newest first, as far as found."""
    folders, seen = [run], {summary.get("run_id")}
    link = summary.get("previous_run")
    while link and link.get("run_id") not in seen:
        folder = _find(link, pool)
        if folder is None:
            break
        seen.add(link["run_id"])
        folders.append(folder)
        link = load_summary(folder).get("previous_run")
    return folders


def _find(link: dict, pool: Runs | None) -> Path | None:
    """The folder of the run a ``previous_run`` link names: among ``pool``, else where
    the link says (when the run there has that id)."""
    if pool is not None:
        try:
            return pool.get(link["run_id"]).folder
        except RunError:
            pass
    folder = Path(str(link.get("folder") or ""))
    if link.get("folder") and (folder / "summary.json").is_file():
        try:
            if load_summary(folder).get("run_id") == link["run_id"]:
                return folder
        except (RunError, ValueError):
            return None
    return None


def _link(previous: dict | None) -> dict | None:
    if not previous:
        return None
    return {"run_id": previous.get("run_id"), "cases_sha256": previous.get("cases_sha256")}


def _json(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")
