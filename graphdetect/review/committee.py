"""Committee review (认定会审, 双盲会审): blind votes, a quorum, the outcome and agreement.

An admin sends a case in review (or an appeal, :mod:`graphdetect.ledger.appeals`) to a
committee of reviewers: named, or drawn at random with recusal (:mod:`.draw`). Reviewers
see every case blind (case-local serial numbers for every name and id), and no member
sees another's vote, nor its reason, until the committee closes: when every member has
voted, or when an admin closes it with the absent members' votes missing.

The outcome is the majority of the votes cast, if at least ``quorum`` were cast
(``no_quorum`` otherwise; ``tied`` on a tie), and the agreement is the share of the votes
cast that agree with the majority. A case committee's outcome is written on the case as
a note by ``committee #N`` (confirming or dismissing it while it is in review); an appeal
committee's decides the appeal. Committees, votes and outcomes are append-only.
"""

from __future__ import annotations

import json
import sqlite3

from ..errors import ProcedureError
from .accounts import now
from .draw import Draws, institutions_of
from .store import ReviewStore, visible

__all__ = ["Committees", "CHOICES", "committee_confirmed", "outcome_of"]

#: The two votes of each kind of committee: the first is the one that confirms.
CHOICES = {"case": ("confirm", "dismiss"), "appeal": ("uphold", "reject")}

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS committees (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "subject TEXT NOT NULL CHECK (subject IN ('case', 'appeal')), appeal_id INTEGER, "
    "case_key TEXT NOT NULL, run_id TEXT NOT NULL, case_id TEXT NOT NULL, "
    "members TEXT NOT NULL, quorum INTEGER NOT NULL, draw_id INTEGER, "
    "opened_by TEXT NOT NULL, opened_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS committee_votes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "committee_id INTEGER NOT NULL REFERENCES committees (id), member TEXT NOT NULL, "
    "vote TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL, "
    "UNIQUE (committee_id, member))",
    "CREATE TABLE IF NOT EXISTS committee_outcomes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "committee_id INTEGER NOT NULL UNIQUE REFERENCES committees (id), outcome TEXT NOT NULL, "
    "votes_for INTEGER NOT NULL, votes_against INTEGER NOT NULL, agreement REAL NOT NULL, "
    "closed_by TEXT NOT NULL, closed_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS committees_case ON committees (case_key)",
    *(f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
      f"BEGIN SELECT RAISE(ABORT, '{t} are append-only'); END"
      for t in ("committees", "committee_votes", "committee_outcomes")
      for op in ("UPDATE", "DELETE")),
)


def outcome_of(subject: str, votes: list[str], quorum: int) -> tuple[str, float]:
    """The outcome of ``votes`` cast and the agreement (share of them with the majority).

    >>> outcome_of("case", ["confirm", "confirm", "dismiss"], 2)
    ('confirm', 0.6667)
    >>> outcome_of("case", ["confirm"], 2), outcome_of("appeal", ["uphold", "reject"], 2)
    (('no_quorum', 1.0), ('tied', 0.5))
    """
    yes, no = CHOICES[subject]
    n_yes, n_no = votes.count(yes), votes.count(no)
    agreement = round(max(n_yes, n_no) / len(votes), 4) if votes else 0.0
    if len(votes) < quorum:
        return "no_quorum", agreement
    return (yes if n_yes > n_no else no if n_no > n_yes else "tied"), agreement


def committee_confirmed(db: sqlite3.Connection, case_key: str) -> bool:
    """Whether the case's latest closed case committee confirmed it."""
    row = db.execute("SELECT o.outcome FROM committees c JOIN committee_outcomes o "
                     "ON o.committee_id = c.id WHERE c.case_key = ? AND c.subject = 'case' "
                     "ORDER BY o.id DESC LIMIT 1", (case_key,)).fetchone()
    return row is not None and row[0] == "confirm"


class Committees:
    """The committees of the review database ``store``."""

    def __init__(self, store: ReviewStore):
        self.store = store
        self.draws = Draws(store)
        store.ensure("committees", _SCHEMA)

    # -- opening -----------------------------------------------------------------------
    def open(self, case: dict, *, case_key: str, run_id: str, by: str,
             members: list[str] | None = None, size: int = 3, quorum: int | None = None,
             appeal_id: int | None = None, seed: str | None = None,
             role: str | None = None, ip: str = "") -> dict:
        """Send ``case`` (or its appeal ``appeal_id``) to a committee of ``members``, or of
        ``size`` reviewers drawn at random with recusal; ``quorum`` votes (default: a
        majority of the members) make the outcome valid. Audited.

        Raises
        ------
        ProcedureError
            When a case is not in review (an appeal: already decided), the subject has an
            open committee, a member is not an enabled reviewer or is tied to an
            institution of the case, or the quorum is out of range.
        """
        subject = "case" if appeal_id is None else "appeal"
        if subject == "case":
            status = self.store.state(case_key)["status"]
            if status != "in_review":
                raise ProcedureError("procedure.not_in_review", case_id=case["case_id"],
                                     status=status)
        else:
            from ..ledger.appeals import Appeals
            if Appeals(self.store).get(appeal_id)["outcome"] is not None:
                raise ProcedureError("procedure.appeal_decided", appeal=appeal_id)
        open_ = self._open_for(case_key, appeal_id)
        if open_ is not None:
            raise ProcedureError("procedure.open_already", committee=open_,
                                 subject=case["case_id"] if appeal_id is None
                                 else f"appeal #{appeal_id}")
        draw = None
        if members is None:
            draw = self.draws.draw(case, case_key=case_key, run_id=run_id, purpose="committee",
                                   k=size, by=by, seed=seed, role=role, ip=ip)
            members = draw["picked"]
        members = self._check_members(case, members)
        quorum = len(members) // 2 + 1 if quorum is None else quorum
        if not 1 <= quorum <= len(members):
            raise ProcedureError("procedure.quorum", size=len(members), quorum=quorum)
        at = now()
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = db.execute(
                    "INSERT INTO committees (subject, appeal_id, case_key, run_id, case_id, "
                    "members, quorum, draw_id, opened_by, opened_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (subject, appeal_id, case_key, run_id, case["case_id"], json.dumps(members),
                     quorum, draw and draw["id"], by, at)).lastrowid
                ReviewStore._audit(db, at=at, user=by, role=role, action="committee opened",
                                   target=case["case_id"], ip=ip,
                                   detail=f"committee={new}; subject={subject}"
                                          f"{f' #{appeal_id}' if appeal_id else ''}; "
                                          f"members={','.join(members)}; quorum={quorum}; "
                                          f"draw={draw['id'] if draw else ''}; key={case_key}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.get(new)

    def _check_members(self, case: dict, members: list[str]) -> list[str]:
        bad = [m for m in members if (u := self.store.user(m)) is None or not u["enabled"]
               or u["role"] != "reviewer"]
        if bad or not members or len(set(members)) != len(members):
            raise ProcedureError("procedure.members", size=len(members),
                                 names=", ".join(bad) or ", ".join(members))
        places = set(institutions_of(case))
        for m in members:
            tied = sorted(places & set(self.draws.affiliations(m)))
            if tied:
                raise ProcedureError("procedure.member_tied", name=m, institution=tied[0])
        return list(members)

    def _open_for(self, case_key: str, appeal_id: int | None) -> int | None:
        with self.store.connect() as db:
            row = db.execute(
                "SELECT c.id FROM committees c LEFT JOIN committee_outcomes o "
                "ON o.committee_id = c.id WHERE c.case_key = ? AND c.appeal_id IS ? "
                "AND o.id IS NULL", (case_key, appeal_id)).fetchone()
        return row[0] if row else None

    # -- voting and closing ------------------------------------------------------------
    def vote(self, committee_id: int, *, member: str, vote: str, reason: str,
             role: str | None = None, ip: str = "") -> dict:
        """Record ``member``'s vote with its reason; the last member's vote closes the
        committee. Audited without the vote itself (the log is no back door to blindness:
        the vote is in the audit row of the closing, with the others'). The committee."""
        reason = visible(reason)
        c = self._get_open(committee_id)
        if member not in c["members"]:
            raise ProcedureError("procedure.not_member", committee=committee_id, name=member)
        if vote not in CHOICES[c["subject"]]:
            raise ProcedureError("procedure.bad_vote", vote=vote,
                                 choices=", ".join(CHOICES[c["subject"]]))
        if not reason:
            raise ProcedureError("procedure.needs_reason")
        at = now()
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM committee_votes WHERE committee_id = ? AND "
                              "member = ?", (committee_id, member)).fetchone():
                    raise ProcedureError("procedure.voted_already", committee=committee_id,
                                         name=member)
                db.execute("INSERT INTO committee_votes (committee_id, member, vote, reason, at) "
                           "VALUES (?, ?, ?, ?, ?)", (committee_id, member, vote, reason, at))
                ReviewStore._audit(db, at=at, user=member, role=role, action="committee vote",
                                   target=c["case_id"], ip=ip, detail=f"committee={committee_id}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        c = self.get(committee_id)
        if len(c["votes"]) == len(c["members"]):
            return self.close(committee_id, by=member, role=role, ip=ip, last_vote=True)
        return c

    def close(self, committee_id: int, *, by: str, role: str | None = None, ip: str = "",
              last_vote: bool = False) -> dict:
        """Close the committee (an admin, with members' votes missing; or the last vote),
        record the outcome and agreement, and apply it: a case committee's as a note on the
        case by ``committee #N``, which confirms or dismisses a case still in review; an
        appeal committee's decides the appeal. Audited with every vote."""
        c = self._get_open(committee_id)
        votes = [v["vote"] for v in c["votes"]]
        outcome, agreement = outcome_of(c["subject"], votes, c["quorum"])
        yes, no = CHOICES[c["subject"]]
        at = now()
        summary = (f"committee #{committee_id}: {votes.count(yes)} {yes}, {votes.count(no)} "
                   f"{no} of {len(c['members'])} members (quorum {c['quorum']}); outcome "
                   f"{outcome}; agreement {agreement:.0%}")

        def record(db: sqlite3.Connection, _note: dict | None = None) -> None:
            db.execute("INSERT INTO committee_outcomes (committee_id, outcome, votes_for, "
                       "votes_against, agreement, closed_by, closed_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (committee_id, outcome, votes.count(yes), votes.count(no), agreement,
                        by, at))
            ReviewStore._audit(db, at=at, user=by, role=role, action="committee closed",
                               target=c["case_id"], ip=ip, detail=summary + "; votes=" + "; ".join(
                                   f"{v['member']}={v['vote']}" for v in c["votes"]))

        if c["subject"] == "case":
            status = self.store.state(c["case_key"])["status"]
            to = {"confirm": "confirmed", "dismiss": "dismissed"}.get(outcome)
            self.store.decide(c["case_key"], run_id=c["run_id"], case_id=c["case_id"],
                              user=f"committee #{committee_id}",
                              status=to if status == "in_review" else None,
                              reason=summary if to else "", body="" if to else summary,
                              on_note=record)
        elif outcome in CHOICES["appeal"]:
            from ..ledger.appeals import Appeals
            Appeals(self.store).decide(c["appeal_id"], outcome="upheld" if outcome == yes
                                       else "rejected", reason=summary,
                                       by=f"committee #{committee_id}", role=role, ip=ip,
                                       committee_id=committee_id, also=record)
        else:  # a lapsed appeal committee: the appeal stays open for another
            self.store.decide(c["case_key"], run_id=c["run_id"], case_id=c["case_id"],
                              user=f"committee #{committee_id}", body=summary, on_note=record)
        return self.get(committee_id)

    # -- reading -----------------------------------------------------------------------
    def _get_open(self, committee_id: int) -> dict:
        c = self.get(committee_id)
        if c is None:
            raise ProcedureError("procedure.no_committee", committee=committee_id)
        if c["outcome"] is not None:
            raise ProcedureError("procedure.closed", committee=committee_id)
        return c

    def get(self, committee_id: int) -> dict | None:
        """A committee with its members, votes (every one: see :meth:`shown`) and outcome
        (None while open)."""
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM committees WHERE id = ?", (committee_id,)).fetchone()
            if row is None:
                return None
            votes = [dict(v) for v in db.execute(
                "SELECT member, vote, reason, at FROM committee_votes WHERE committee_id = ? "
                "ORDER BY id", (committee_id,))]
            out = db.execute("SELECT * FROM committee_outcomes WHERE committee_id = ?",
                             (committee_id,)).fetchone()
        c = dict(row)
        c["members"] = json.loads(c["members"])
        c["votes"] = votes
        c["outcome"] = dict(out) if out else None
        return c

    def of_case(self, case_key: str) -> list[dict]:
        """Every committee of a case (and of its appeals), oldest first."""
        with self.store.connect() as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM committees WHERE case_key = ? ORDER BY id", (case_key,))]
        return [self.get(i) for i in ids]

    def awaiting(self, member: str) -> list[dict]:
        """The open committees that wait for ``member``'s vote."""
        with self.store.connect() as db:
            ids = [r[0] for r in db.execute(
                "SELECT c.id FROM committees c LEFT JOIN committee_outcomes o "
                "ON o.committee_id = c.id WHERE o.id IS NULL ORDER BY c.id")]
        return [c for c in map(self.get, ids)
                if member in c["members"] and all(v["member"] != member for v in c["votes"])]

    @staticmethod
    def shown(c: dict, viewer: str) -> dict:
        """What ``viewer`` may see of committee ``c``: while it is open, who has voted
        and the viewer's own vote, never another's vote or reason; once it is closed,
        every vote."""
        if c["outcome"] is not None:
            return {**c, "voted": [v["member"] for v in c["votes"]]}
        own = [v for v in c["votes"] if v["member"] == viewer]
        return {**c, "votes": own, "voted": [v["member"] for v in c["votes"]]}
