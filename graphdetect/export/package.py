"""Export one case as an evidence package: a folder and a reproducible .zip of it.

A package holds the referral report (``report.pdf``), the evidence claims with every
column of the source file (``claims.csv``), the members (``members.csv``), the case
network (``network.graphml``, ``network.json``), the figures as PNG, a ``README.txt``,
the case's history across runs (``history.json``) and the hash chain of those runs
(``chain.json``, see ``_history``), the case's integrity-ledger entries (``ledger.csv``,
when exported with the review database; see ``_ledger``), its committees and appeals with
the appeals' attachments (``committees.csv``, ``committee_votes.csv``, ``appeals.csv``,
``appeal_files.csv``, ``appeals/``; likewise, see ``_appeals``), and ``manifest.json``: every
file's SHA-256 and size, who exported it, when, from which run. With a signing key
(``$GRAPHDETECT_SIGNING_KEY``) ``manifest.sig`` holds the hex HMAC-SHA256 of the exact
bytes of ``manifest.json``.

Everything but the manifest (and its signature) is byte-identical when the same user
exports the same case of the same run again with the same review history; the export
time lives only in the manifest. Evidence names real people, so the package is its
owner's alone: files (and zip entries) 0600, folders 0700.
"""

from __future__ import annotations

import getpass
import json
import tempfile
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..cells import csv_bytes, shorten
from ..explain import explain
from ..ledger.book import Ledger
from ..lineage import with_keys
from ..review.roles import can_export, may_export
from ..review.store import ROLES, ReviewStore
from ..run import load_summary, read_cases
from ..runs import Runs
from ._appeals import Procedure, appeal_part, read_procedure
from ._common import (
    FORMAT,
    MANIFEST,
    SIGNATURE,
    ExportError,
    key_id,
    safe_name,
    sha256_bytes,
    signing_key,
)
from ._evidence import load_evidence
from ._files import write_package, zip_path
from ._fonts import font_path
from ._history import CaseHistory, case_history
from ._ledger import review_parts
from ._network import case_network, to_json, write_graphml
from ._readme import README
from ._tables import (
    DAY_COLUMNS,
    MEMBER_COLUMNS,
    Masker,
    claim_frame,
    days_table,
    members_table,
    name_of,
    occasions_table,
)

__all__ = ["export_case", "export_refusal", "package_name", "zip_path"]

_LOCK = threading.Lock()
#: Longest name or id the report's explanation shows (the data files keep them whole).
NAME_LIMIT = 60


def package_name(run_id: str, case_id: str) -> str:
    """The package's folder name: safe on any file system whatever the ids hold.

    >>> package_name("run-277ef379eb95", "R-0001")
    'R-0001_run-277ef379eb95'
    """
    return f"{safe_name(case_id)}_{safe_name(run_id, limit=40)}"


def export_case(run: str | Path, case_id: str, out: str | Path, *,
                db: str | Path | ReviewStore | None = None, user: str | None = None,
                role: str | None = None, data: str | Path | None = None,
                key: str | bytes | None = None, ip: str = "", mask_ids: bool = False,
                runs: Runs | Iterable[str | Path] | None = None) -> Path:
    """Write the evidence package of one case; return the package folder.

    The folder is ``OUT/<case>_<run>/`` and its zip ``OUT/<case>_<run>.zip`` (an earlier
    package of the same case there is replaced).

    Parameters
    ----------
    run : str or Path
        The run folder (``graphdetect detect DATA --out RUN``).
    case_id : str
        A case id of that run, e.g. ``"R-0001"``.
    out : str or Path
        Folder to write the package folder and zip into (created 0700 if missing).
    db : str, Path or ReviewStore, optional
        The review database. With it, ``user`` must be one of its users; their role
        governs permission (``can_export(role, status)``) and the export, or its refusal,
        is written to its audit log. Without it, the case counts as not reviewed.
    user : str, optional
        The exporting user; without ``db`` it defaults to the operating-system user.
    role : str, optional
        Without ``db``: the role to export as (default ``investigator``). With ``db`` it
        must agree with the user's role there.
    data : str or Path, optional
        Where the run's data folder lies now, if it moved.
    key : str or bytes, optional
        Signing key; default ``$GRAPHDETECT_SIGNING_KEY``; none means no signature.
    ip : str
        Client address for the audit log (the web UI passes it).
    mask_ids : bool
        Mask patient and card ids in every file (``manifest.json`` says
        ``"masked_ids": true``), for a reader who must not see patient identities.
    runs : Runs or list of str or Path, optional
        Run folders and/or folders of them where the earlier runs of the case lie
        (``history.json``, ``chain.json``); without it, or for a run not among them, the
        ``previous_run`` folders the runs recorded are followed as far as they exist.

    Raises
    ------
    ExportError
        Unknown case or user, export not allowed (reviewers never export: blind review
        happens on screen, a package carries real identities for referral), input data
        changed since the run, an earlier run of the case changed after the run that
        continues it was made, a report that cannot be laid out.

    Examples
    --------
    >>> import tempfile
    >>> from graphdetect.run import detect_folder
    >>> tmp = tempfile.mkdtemp()
    >>> _ = detect_folder("datasets/sample", f"{tmp}/run")
    >>> folder = export_case(f"{tmp}/run", "S-0001", f"{tmp}/exports")
    >>> sorted(p.name for p in folder.iterdir())[:3]
    ['README.txt', 'amounts.png', 'amounts_by_day.csv']
    """
    run = Path(run)
    summary = load_summary(run)
    run_id = str(summary.get("run_id", ""))
    case = find_case(run, case_id)
    case_key = with_keys([case], run_id)[0]["case_key"]
    store, user, role = _identity(db, user, role)
    status = store.state(case_key)["status"] if store else None
    refusal = export_refusal(user, role, case_id, status, reviewed=store is not None)
    if refusal:
        if store is not None:
            store.audit(user=user, role=role, action="export_denied", target=case_id,
                        detail=json.dumps({"run_id": run_id, "case_key": case_key,
                                           "status": status}, ensure_ascii=False), ip=ip)
        raise ExportError(refusal)
    font_path()
    ev = load_evidence(summary, case["claim_ids"], data=data)
    history = case_history(run, case_key, summary, runs)
    with _LOCK:  # matplotlib's and reportlab's settings are process-wide
        files = build_files(case, summary, ev, user=user, role=role, status=status,
                            notes=store.history(case_key) if store else [],
                            created=_run_time(run), mask_ids=mask_ids, history=history,
                            ledger=Ledger(store).entries(case_key=case_key) if store else None,
                            procedure=read_procedure(store, case_key) if store else None)
    key = signing_key(key)
    manifest = _manifest(files, summary, case, case_key=case_key, user=user, role=role,
                         status=status, masked=bool(mask_ids), key=key)
    folder = write_package(Path(out), package_name(run_id, case_id), files, manifest, key)
    if store is not None:
        manifest = (folder / MANIFEST).read_bytes()
        store.audit(user=user, role=role, action="export", target=case_id, ip=ip,
                    detail=json.dumps({"run_id": run_id, "case_key": case_key,
                                       "package": str(folder.resolve()),
                                       "zip": str(zip_path(folder).resolve()),
                                       "manifest_sha256": sha256_bytes(manifest),
                                       "masked_ids": bool(mask_ids)}, ensure_ascii=False))
    return folder


def export_refusal(user: str, role: str, case_id: str, status: str | None, *,
                   reviewed: bool = True) -> str | None:
    """Why ``user`` may not export the case, or None when they may.

    Without a review database (``reviewed=False``) only the role counts.

    >>> export_refusal("li", "investigator", "R-0001", "confirmed") is None
    True
    >>> export_refusal("wang", "reviewer", "R-0001", "confirmed")[:45]
    'wang (reviewer) may not export case R-0001: r'
    """
    if not may_export(role):
        return (f"{user} ({role}) may not export case {case_id}: reviewers review blind, "
                "on screen; an evidence package carries the real identities a referral "
                "needs, so only investigators and admins export")
    if reviewed and not can_export(role, status):
        return (f"{user} ({role}) may not export case {case_id}: it is {status}; "
                f"a {role} exports only confirmed or referred cases")
    return None


def find_case(run: Path, case_id: str) -> dict:
    """The case with this id in the run's ``cases.jsonl``; ``ExportError`` if none."""
    for case in read_cases(run):
        if str(case["case_id"]) == str(case_id):
            return case
    raise ExportError(f"no case {case_id!r} in run {run}")


def _identity(db, user: str | None, role: str | None) -> tuple[ReviewStore | None, str, str]:
    if role is not None and role not in ROLES:
        raise ExportError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if db is None:
        if not user:
            try:
                user = getpass.getuser()
            except (OSError, KeyError):
                user = "unknown"
        return None, user, role or "investigator"
    if isinstance(db, ReviewStore):
        store = db
    else:
        if not Path(db).is_file():
            raise ExportError(f"{db}: no review database there")
        store = ReviewStore(db)
    if not user:
        raise ExportError("a review database needs --user NAME: the exporting user must be "
                          "one of its users")
    record = store.user(user)
    if record is None:
        raise ExportError(f"{user!r} is not a user of the review database {store.path}")
    if not record["enabled"]:
        raise ExportError(f"{user} is disabled in the review database {store.path}")
    if role is not None and role != record["role"]:
        raise ExportError(f"{user} has the role {record['role']} in the review database, "
                          f"not {role}")
    return store, record["name"], record["role"]


def _run_time(run: Path) -> datetime:
    """When the run was written (summary.json's time): the PDF's fixed date."""
    return datetime.fromtimestamp(int((run / "summary.json").stat().st_mtime), UTC)


def build_files(case: dict, summary: dict, ev, *, user: str, role: str, status: str | None,
                notes: list[dict], created: datetime, mask_ids: bool = False,
                history: CaseHistory | None = None,
                ledger: list[dict] | None = None,
                procedure: Procedure | None = None) -> dict[str, bytes]:
    """Every file of the package but the manifest, as name -> bytes (``ledger``: the
    case's ledger entries, ``procedure``: its committees and appeals, each None without
    the review database; see ``_ledger`` and ``_appeals``)."""
    from ._timelines import timeline_figures
    from .figures import amounts_figure, network_figure
    from .pdf import ReportData, write_report

    df = claim_frame(ev.claims)
    member_ids = [m["id"] for m in case["members"] if m["kind"] in ("patient", "card")]
    masker = Masker(mask_ids, [*df["patient_id"], *df["card_id"].dropna(), *member_ids])
    shown = dict(case, explanation=_explanation(case, ev, masker, "zh"),
                 explanation_en=_explanation(case, ev, masker, "en"),
                 run_id=summary.get("run_id", ""))
    members = members_table(case, df, ev, masker)
    days = days_table(df)
    occasions = occasions_table(days, (case.get("details") or {}).get("occasions") or [])
    G = case_network(shown, df, ev, masker)
    parts = [*review_parts(ledger, masker), appeal_part(procedure, masker)]
    files: dict[str, bytes] = {"claims.csv": _claims_csv(ev, masker),
                               "members.csv": _csv(MEMBER_COLUMNS, members),
                               "amounts_by_day.csv": _csv(DAY_COLUMNS, days),
                               "network.json": to_json(G).encode("utf-8"),
                               **(history.files() if history else {}),
                               **{n: b for part in parts for n, b in part.files.items()}}
    names = {h: name_of(ev, "institution", h) for h in df["institution_id"].dropna().unique()}
    with tempfile.TemporaryDirectory(prefix="graphdetect-export-") as tmp:
        t = Path(tmp)
        write_graphml(G, t / "network.graphml")
        net, hidden = network_figure(G, t / "network.png",
                                     case_id=str(case["case_id"]))
        figures = {"network": net, "network_hidden": hidden,
                   "timeline": timeline_figures(df, t, masker=masker,
                                                case_id=str(case["case_id"]), names=names,
                                                pattern=case["pattern"],
                                                details=case.get("details")),
                   "amounts": amounts_figure(days, t / "amounts.png",
                                             case_id=str(case["case_id"]))}
        for p in sorted(t.iterdir()):
            files[p.name] = p.read_bytes()
        files["README.txt"] = README.encode("utf-8")
        attachments = [(n, sha256_bytes(b), len(b)) for n, b in sorted(files.items())]
        shown_df = df.assign(patient_id=[masker.id("patient", x) for x in df["patient_id"]],
                             card_id=[masker.id("card", x) for x in df["card_id"]])
        report = ReportData(
            case=shown, summary=summary, user=user, role=role, status=status,
            members=members, days=days, occasions=occasions,
            claims=shown_df, figures=figures,
            notes=[dict(n, reason=masker.text(n.get("reason") or ""),
                        body=masker.text(n.get("body") or "")) for n in notes],
            attachments=attachments, masked=masker.active, names=names, created=created,
            history=history, parts=parts)
        files["report.pdf"] = write_report(report, t / "report.pdf").read_bytes()
    return files


def _explanation(case: dict, ev, masker: Masker, lang: str) -> str:
    """The case's explanation rendered for the report: names from the side tables, each
    name and id cut for display (``NAME_LIMIT``), ids masked when the package masks them
    (old runs without details: the masked text)."""
    if "details" not in case:
        return masker.text(case.get("explanation" if lang == "zh" else "explanation_en", ""))

    def name(kind: str, ident: str) -> str:
        shown = shorten(masker.id(kind, ident), NAME_LIMIT)
        called = shorten(name_of(ev, kind, ident), NAME_LIMIT)
        if not called:
            return shown
        return f"{called}（{shown}）" if lang == "zh" else f"{called} ({shown})"

    return explain(case, lang, name)


def _csv(columns, rows: list[dict]) -> bytes:
    return csv_bytes(columns, ([r.get(c, "") for c in columns] for r in rows))


def _claims_csv(ev, masker: Masker) -> bytes:
    """The source file's rows of the evidence claims: every column, as written (but for
    the cell policy of :mod:`graphdetect.cells`)."""
    hide = {i: kind for kind in ("patient", "card") for i in ev.columns.get(f"{kind}_id", [])}
    rows = ([masker.id(hide[i], v.strip()) if i in hide and v.strip() else v
             for i, v in enumerate(row)] for row in ev.rows)
    return csv_bytes(ev.header, rows)


def _manifest(files: dict[str, bytes], summary: dict, case: dict, *, case_key: str,
              user: str, role: str, status: str | None, masked: bool,
              key: bytes | None) -> dict:
    return {
        "format": FORMAT,
        "run_id": summary.get("run_id", ""),
        "case_id": case["case_id"],
        "case_key": case_key,
        "pattern": case.get("pattern", ""),
        "exported_by": {"user": user, "role": role},
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "review_status": status,
        "masked_ids": masked,
        "graphdetect_version": __version__,
        "run_graphdetect_version": summary.get("graphdetect_version", ""),
        "source": {n: {"table": i.get("table"), "sha256": i.get("sha256")}
                   for n, i in sorted((summary.get("inputs") or {}).items())},
        "files": [{"path": n, "sha256": sha256_bytes(b), "size": len(b)}
                  for n, b in sorted(files.items())],
        "signature": ({"algorithm": "HMAC-SHA256", "file": SIGNATURE, "key_id": key_id(key),
                       "over": f"the bytes of {MANIFEST}"} if key else None),
    }
