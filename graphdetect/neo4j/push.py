"""Write a run's cases back to Neo4j: ``graphdetect neo4j push RUN``.

Each case of ``cases.jsonl`` becomes a ``(:Case)`` node keyed by ``run_id/case_id``;
the entities it names get ``(entity)-[:IN_CASE {role}]->(:Case)`` and its evidence
claims ``(:Case)-[:EVIDENCE]->(:Claim)``. Pushing the same run again changes nothing.
Entities and claims are linked only when they are in the graph (load the data first);
the report counts the ones that were not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .._progress import progress_bar
from ..errors import RunError
from ..run import load_summary
from ..run import read_cases as read_run_cases
from .connection import Connection, GraphServerError, LoadInterrupted
from .load import _check_batch_size

__all__ = ["push_run", "read_cases", "run_cases"]


def read_cases(run: str | Path) -> tuple[str, list[dict]]:
    """A run folder's ``run_id`` and its cases (``cases.jsonl``), best first.

    Raises
    ------
    RunError
        When the folder is not a run, has no run_id or a line of cases.jsonl is not JSON.
    """
    summary = load_summary(run)
    run_id = summary.get("run_id")
    if not run_id:
        raise RunError(f"{run}: summary.json has no run_id; run 'graphdetect detect' again")
    return run_id, read_run_cases(run)


def push_run(conn: Connection, run: str | Path, *, batch_size: int = 1000,
             progress: bool = False) -> dict:
    """Write the cases of a run folder to the connected database.

    Parameters
    ----------
    conn : Connection
        An open connection (:func:`graphdetect.neo4j.connect`).
    run : str or Path
        A run folder written by ``graphdetect detect``.
    batch_size : int, default 1,000
        Cases per transaction; member and evidence links go ten times as many at once.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    dict
        ``run_id``, ``cases``, ``members`` and ``evidence`` (each ``{"given", "linked"}``:
        links in cases.jsonl and links made, the difference being entities or claims
        not in the graph), ``batches`` and ``seconds``.

    Raises
    ------
    RunError
        When ``run`` is not a run folder.
    LoadInterrupted
        When Ctrl-C or a server error stops the push part way.
    """
    _check_batch_size(batch_size, "push_run")
    run_id, cases = read_cases(run)
    case_rows, members, evidence = _rows(run_id, cases)
    link_batch = 10 * batch_size
    work = ([("push_cases", "cases", case_rows[i:i + batch_size])
             for i in range(0, len(case_rows), batch_size)]
            + [("push_members", "members", members[i:i + link_batch])
               for i in range(0, len(members), link_batch)]
            + [("push_evidence", "links", evidence[i:i + link_batch])
               for i in range(0, len(evidence), link_batch)])
    conn.write_all("schema")
    t0 = time.perf_counter()
    linked = {"push_members": 0, "push_evidence": 0}
    written = 0
    try:
        with progress_bar(progress, total=len(work), desc="push", unit="batches") as bar:
            for statement, param, rows in work:
                result = conn.write(statement, **{param: rows})
                if statement in linked:
                    linked[statement] += result[0]["linked"] if result else 0
                written += 1
                bar.update()
    except KeyboardInterrupt:
        raise LoadInterrupted(conn.config.safe_uri, "push", written, len(work),
                              "stopped by Ctrl-C", keyboard=True) from None
    except GraphServerError as exc:
        raise LoadInterrupted(conn.config.safe_uri, "push", written, len(work),
                              exc.problem) from exc
    return {
        "run_id": run_id,
        "cases": len(cases),
        "members": {"given": len(members), "linked": linked["push_members"]},
        "evidence": {"given": len(evidence), "linked": linked["push_evidence"]},
        "batches": written,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _rows(run_id: str, cases: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    case_rows, members, evidence = [], [], []
    for case in cases:
        key = f"{run_id}/{case['case_id']}"
        case_rows.append({
            "key": key, "case_id": case["case_id"], "run_id": run_id,
            "pattern": case.get("pattern"), "score": case.get("score"),
            "rules": list(case.get("rules") or []), "explanation": case.get("explanation"),
            "explanation_en": case.get("explanation_en"), "detector": case.get("detector"),
            "metrics": json.dumps(case.get("metrics") or {}, ensure_ascii=False,
                                  sort_keys=True),
            "claims": len(case["claim_ids"]), "members": len(case["members"]),
        })
        seen = set()
        for m in case["members"]:
            link = (m["kind"], str(m["id"]), m.get("role") or "member")
            if link not in seen:
                seen.add(link)
                members.append({"case_key": key, "kind": link[0], "id": link[1],
                                "role": link[2]})
        evidence.extend({"case_key": key, "claim_id": str(c)}
                        for c in dict.fromkeys(case["claim_ids"]))
    return case_rows, members, evidence


def run_cases(conn: Connection, run_id: str) -> list[dict]:
    """The cases of a run as the database holds them (``cypher/run_cases.cypher``).

    Each case: case_id, pattern, score, rules, explanation, members (sorted list of
    ``{kind, id, role}``) and claim_ids (sorted).
    """
    out = []
    for row in conn.read("run_cases", run_id=run_id):
        row["members"] = sorted((dict(m) for m in row["members"]),
                                key=lambda m: (m["kind"], m["id"], m["role"]))
        row["claim_ids"] = sorted(row["claim_ids"])
        out.append(row)
    return out
