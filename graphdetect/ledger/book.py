"""The ledger itself: an append-only table of points in the review database.

An entry gives points to one entity (institution, pharmacy or doctor) for one year, for
one confirmed case, at one rule and severity, with who decided, when, and why. Nothing is
ever changed or deleted (triggers refuse it, as for notes and the audit log): a revocation
is another entry with the negative points, naming the entry it revokes and the reason.

Points come only from a confirmed case (never from detection alone): the bureau's
decision in the review workflow is what :meth:`Ledger.record_confirmation` checks.
"""

from __future__ import annotations

import calendar
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..errors import LedgerError
from ..io import DEFAULT_TIME_ZONE
from ..review.accounts import now
from ..review.committee import Committees, committee_confirmed
from ..review.store import ReviewStore, visible
from ..roles import CONTEXT_ROLES
from ..statuses import status_word
from .rules import Rules

__all__ = ["Ledger", "LedgerError", "SCORED_STATUSES", "COLUMNS", "revoke_in", "open_entry_ids"]

#: A case scores only when its current status is one of these (a referral follows a
#: confirmation, so a referred case is a confirmed one).
SCORED_STATUSES = ("confirmed", "referred")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL, year INTEGER NOT NULL, "
    "points INTEGER NOT NULL, case_key TEXT NOT NULL, run_id TEXT NOT NULL, "
    "case_id TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, "
    "decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, recorded_by TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, reason TEXT NOT NULL, "
    "revokes INTEGER UNIQUE REFERENCES ledger (id))",
    "CREATE INDEX IF NOT EXISTS ledger_year ON ledger (year, entity_kind, entity_id)",
    "CREATE INDEX IF NOT EXISTS ledger_case ON ledger (case_key)",
    "CREATE INDEX IF NOT EXISTS ledger_entity ON ledger (entity_id)",
    "CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
)

#: The columns of ``ledger show --csv``, in order.
COLUMNS = ("year", "entity_kind", "entity_id", "points", "entries", "tier", "sanction_zh",
           "sanction_en", "since", "until")


class Ledger:
    """The ledger in the review database ``store`` (its table made on first use).

    Years and sanction dates are the bureau's, in ``time_zone``: a case confirmed at
    2025-12-31T20:00Z scores in 2026 in Shanghai.

    Examples
    --------
    >>> import tempfile, os
    >>> from graphdetect.ledger.rules import load_rules
    >>> store = ReviewStore(os.path.join(tempfile.mkdtemp(), "review.sqlite"))
    >>> store.add_user("li", "investigator", "a long passphrase")
    >>> case = {"case_id": "K-0001", "case_key": "277ef379-K-0001", "pattern": "card_pooling",
    ...         "rules": ["聚敛盗刷"], "metrics": {"total_amount": 9000.0},
    ...         "members": [{"kind": "institution", "id": "H1", "role": "host"},
    ...                     {"kind": "doctor", "id": "D1", "role": "doctor"}]}
    >>> for status, why in (("in_review", ""), ("confirmed", "刷卡记录与住院记录冲突")):
    ...     _ = store.decide(case["case_key"], run_id="run-277ef379eb95", case_id="K-0001",
    ...                      user="li", status=status, reason=why)
    >>> ledger = Ledger(store)
    >>> rows = ledger.record_confirmation(case, run_id="run-277ef379eb95", severity="serious",
    ...                                   user="li", rules=load_rules())
    >>> [(r["entity_kind"], r["entity_id"], r["points"]) for r in rows]
    [('institution', 'H1', 6), ('doctor', 'D1', 4)]
    """

    def __init__(self, store: ReviewStore, time_zone: str = DEFAULT_TIME_ZONE):
        self.store, self.time_zone = store, time_zone
        Committees(store)  # its tables, which a confirmation may have to consult
        store.ensure("ledger", _SCHEMA)

    # -- writing -----------------------------------------------------------------------
    def record_confirmation(self, case: dict, *, run_id: str, severity: str, user: str,
                            rules: Rules, reason: str = "",
                            pharmacies: frozenset[str] | set[str] = frozenset(),
                            role: str | None = "cli") -> list[dict]:
        """Give the points of a confirmed ``case`` to each institution and doctor it names
        as a party (a kind the table gives 0 points gets no entry; an entity named as
        context, :data:`graphdetect.roles.CONTEXT_ROLES`, none).

        An institution whose id is in ``pharmacies`` scores as a pharmacy. The year is the
        year of the confirming decision; who decided and when come from it, and ``reason``
        defaults to its reason. Entries and their audit row are one transaction.

        Raises
        ------
        LedgerError
            When the case is not confirmed (or referred) in the review database, it
            already has points in the ledger that were not revoked, or it names no entity
            the table gives points to.
        RulesError
            When the table has no such severity, or no entry for the case.
        """
        plan = _plan(case, severity, rules, pharmacies)
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the status read is the one the entries rest on
            try:
                status = self.store.state(case["case_key"])["status"]
                if status not in SCORED_STATUSES:
                    raise LedgerError("ledger.not_confirmed", case_id=case["case_id"],
                                      status=lambda lang: status if lang == "en"
                                      else status_word(status, lang))
                confirm = next(n for n in reversed(self.store.history(case["case_key"]))
                               if n["status_to"] == "confirmed"
                               and n["status_from"] != "confirmed")
                ids = _write(db, case, confirm, plan, run_id=run_id, severity=severity,
                             user=user, reason=reason, role=role, time_zone=self.time_zone)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return [self.entry(i) for i in ids]

    def scorer(self, case: dict, *, run_id: str, severity: str, user: str, rules: Rules,
               pharmacies: frozenset[str] | set[str] = frozenset(),
               role: str | None = None) -> Callable[[sqlite3.Connection, dict], None]:
        """The ``on_confirm`` of :meth:`ReviewStore.decide` that scores ``case`` as
        :meth:`record_confirmation` does, in the decision's own transaction: the decision
        and its points are stored together, or neither (the setting of a bureau whose
        confirmation scores at once).

        Raises
        ------
        RulesError, LedgerError
            At once, before any decision, when the table cannot score the case.
        """
        plan = _plan(case, severity, rules, pharmacies)

        def score(db: sqlite3.Connection, note: dict) -> None:
            _write(db, case, note, plan, run_id=run_id, severity=severity, user=user,
                   reason="", role=role, time_zone=self.time_zone)
        return score

    def revoke(self, entry_id: int, *, user: str, reason: str,
               role: str | None = "cli") -> dict:
        """Revoke entry ``entry_id``: a new entry with its negative points and ``reason``.

        Raises
        ------
        LedgerError
            When there is no such entry, it is itself a revocation, it was revoked
            already, or no reason is given.
        """
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = revoke_in(db, entry_id, user=user, reason=reason, role=role)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.entry(new)

    # -- reading -----------------------------------------------------------------------
    def entry(self, entry_id: int) -> dict:
        with self.store.connect() as db:
            return dict(db.execute("SELECT * FROM ledger WHERE id = ?", (entry_id,)).fetchone())

    def entries(self, *, year: int | None = None, case_key: str | None = None,
                entity_id: str | None = None) -> list[dict]:
        """Entries, oldest first, of one year, one case and/or one entity (any kind) if
        asked."""
        where, args = [], []
        for column, value in (("year", year), ("case_key", case_key), ("entity_id", entity_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.store.connect() as db:
            return [dict(r) for r in db.execute(f"SELECT * FROM ledger{clause} ORDER BY id",
                                                args)]

    def standing(self, year: int, rules: Rules, kind: str | None = None) -> list[dict]:
        """Per entity with entries in ``year``: its points net of revocations, how many
        entries, its tier and the sanction due (:data:`COLUMNS`), most points first.

        ``since`` is the bureau's day the entity's points last rose into that tier (when
        the entry that took it there was recorded: the sanction is due from then), and
        ``until`` that day plus the tier's ``months`` where the table gives them (a
        suspension's end); both empty in the lowest tier.
        """
        # per entity: points, entries, and when the points last rose into each tier
        totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, {}])
        for e in self.entries(year=year):  # in the order recorded
            if kind is None or e["entity_kind"] == kind:
                t = totals[e["entity_kind"], e["entity_id"]]
                tiers = e["entity_kind"] in rules.tiers
                before = rules.tier(e["entity_kind"], t[0])["n"] if tiers else 0
                t[0] += e["points"]
                t[1] += e["revokes"] is None
                after = rules.tier(e["entity_kind"], t[0])["n"] if tiers else 0
                for n in range(before + 1, after + 1):
                    t[2][n] = e["recorded_at"]
        out = []
        for (k, eid), (points, n, rose) in totals.items():
            tier = rules.tier(k, points) if k in rules.tiers else {"n": "", "zh": "", "en": ""}
            since = until = ""
            if tier["n"] and tier["n"] in rose:
                day = local_date(rose[tier["n"]], self.time_zone)
                since = day.isoformat()
                if tier.get("months"):
                    until = add_months(day, tier["months"]).isoformat()
            out.append({"year": year, "entity_kind": k, "entity_id": eid, "points": points,
                        "entries": n, "tier": tier["n"], "sanction_zh": tier["zh"],
                        "sanction_en": tier["en"], "since": since, "until": until})
        return sorted(out, key=lambda r: (-r["points"], r["entity_kind"], r["entity_id"]))


def local_date(iso: str, time_zone: str = DEFAULT_TIME_ZONE) -> date:
    """The bureau's day of an ISO instant.

    >>> local_date("2025-12-31T20:00:00+00:00").isoformat()
    '2026-01-01'
    """
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(time_zone)).date()


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, on the last day of a shorter month.

    >>> add_months(date(2026, 1, 31), 1).isoformat(), add_months(date(2026, 11, 15), 3).isoformat()
    ('2026-02-28', '2027-02-15')
    """
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _plan(case: dict, severity: str, rules: Rules, pharmacies) -> tuple[dict, dict, list, bool]:
    """The points per kind of ``case`` at ``severity``, the entry that gave them, the
    (kind, id) of each entity that scores (refused when none does), and whether the
    bureau's rules want a committee's confirmation first."""
    points, source = rules.points(case, severity)
    # the parties only: an entity named as context (CONTEXT_ROLES) is not scored
    parties = [m for m in case["members"] if m.get("role") not in CONTEXT_ROLES]
    kinds = ("pharmacy" if m["kind"] == "institution" and m["id"] in pharmacies
             else m["kind"] for m in parties)
    targets = list(dict.fromkeys(
        (k, m["id"]) for k, m in zip(kinds, parties, strict=True)
        if k in rules.kinds and points[k] > 0))
    if not targets:
        raise LedgerError("ledger.no_targets", case_id=case["case_id"],
                          kinds=", ".join(rules.kinds))
    return points, source, targets, rules.procedure["committee_required"]


def _write(db: sqlite3.Connection, case: dict, confirm: dict, plan: tuple, *, run_id: str,
           severity: str, user: str, reason: str, role: str | None,
           time_zone: str) -> list[int]:
    """Insert a confirmed case's entries and their audit row (inside the caller's
    transaction), in the bureau's year (``time_zone``) of the confirming note
    ``confirm``; their ids."""
    key, case_id = case["case_key"], case["case_id"]
    points, source, targets, needs_committee = plan
    if needs_committee and not committee_confirmed(db, key):
        raise LedgerError("ledger.needs_committee", case_id=case_id)
    if open_entry_ids(db, key):
        raise LedgerError("ledger.already", case_id=case_id)
    at, year = now(), local_date(confirm["created_at"], time_zone).year
    reason = visible(reason) or confirm["reason"]
    ids = [db.execute(
        "INSERT INTO ledger (entity_kind, entity_id, year, points, case_key, run_id, case_id, "
        "rule, severity, decided_by, decided_at, recorded_by, recorded_at, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, eid, year, points[kind], key, run_id, case_id, source[kind], severity,
         confirm["author"], confirm["created_at"], user, at, reason)).lastrowid
        for kind, eid in targets]
    ReviewStore._audit(
        db, at=at, user=user, role=role, action="ledger recorded", target=case_id, ip="",
        detail=f"key={key}; run={run_id}; year={year}; severity={severity}; "
               + "; ".join(f"{k} {e} +{points[k]} ({source[k]})" for k, e in targets)
               + f"; entries={','.join(map(str, ids))}")
    return ids


def revoke_in(db: sqlite3.Connection, entry_id: int, *, user: str, reason: str,
              role: str | None, ip: str = "") -> int:
    """:meth:`Ledger.revoke` inside the caller's transaction (an upheld appeal revokes a
    case's entries with its decision); the revocation's id."""
    reason = visible(reason)
    if not reason:
        raise LedgerError("ledger.needs_reason", entry=entry_id)
    at = now()
    row = db.execute("SELECT * FROM ledger WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise LedgerError("ledger.no_entry", entry=entry_id)
    if row["revokes"] is not None:
        raise LedgerError("ledger.is_revocation", entry=entry_id)
    if db.execute("SELECT 1 FROM ledger WHERE revokes = ?", (entry_id,)).fetchone():
        raise LedgerError("ledger.revoked_already", entry=entry_id)
    new = db.execute(
        "INSERT INTO ledger (entity_kind, entity_id, year, points, case_key, "
        "run_id, case_id, rule, severity, decided_by, decided_at, recorded_by, "
        "recorded_at, reason, revokes) "
        "SELECT entity_kind, entity_id, year, -points, case_key, run_id, case_id, "
        "rule, severity, decided_by, decided_at, ?, ?, ?, id FROM ledger "
        "WHERE id = ?", (user, at, reason, entry_id)).lastrowid
    ReviewStore._audit(
        db, at=at, user=user, role=role, action="ledger revoked",
        target=row["case_id"], ip=ip,
        detail=f"entry={entry_id}; revocation={new}; {row['entity_kind']} "
               f"{row['entity_id']} -{row['points']}; year={row['year']}; "
               f"key={row['case_key']}; reason={reason}")
    return new


def open_entry_ids(db: sqlite3.Connection, case_key: str) -> list[int]:
    """The ids of a case's entries that were not revoked."""
    return [r[0] for r in db.execute(
        "SELECT e.id FROM ledger e WHERE e.case_key = ? AND e.revokes IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM ledger r WHERE r.revokes = e.id) ORDER BY e.id", (case_key,))]
