"""Random assignment with recusal (双随机 + 回避): affiliations, and draws that replay.

Users declare the institutions they are tied to (a former employer, a relative's
workplace). A draw picks investigators for a case (or reviewers for its committee) at
random among the enabled users of the role, never one tied to any institution the case
names. Every draw is stored, with its seed, its candidates and who was excluded and why,
in the ``draws`` table and in the audit log; :func:`replay` recomputes its picks from
either, so that anyone can check that a draw was not chosen by hand.

The pick is ``random.Random(f"{seed}:{case_key}").sample(sorted(candidates), k)``:
seeded by text (Python hashes a text seed with SHA-512, the same on every platform and
version since 3.2), so one batch seed gives each case a draw of its own that replays
alone.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3

from ..errors import ProcedureError
from .accounts import now
from .store import ReviewStore, visible

__all__ = ["Draws", "replay", "pick", "institutions_of"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS affiliations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "user TEXT NOT NULL, institution_id TEXT NOT NULL, relation TEXT NOT NULL, "
    "action TEXT NOT NULL CHECK (action IN ('declare', 'withdraw')), at TEXT NOT NULL, "
    "by TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS draws (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, "
    "by TEXT NOT NULL, purpose TEXT NOT NULL, case_key TEXT NOT NULL, run_id TEXT NOT NULL, "
    "case_id TEXT NOT NULL, seed TEXT NOT NULL, k INTEGER NOT NULL, candidates TEXT NOT NULL, "
    "excluded TEXT NOT NULL, picked TEXT NOT NULL)",
    *(f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
      f"BEGIN SELECT RAISE(ABORT, '{t} are append-only'); END"
      for t in ("affiliations", "draws") for op in ("UPDATE", "DELETE")),
)

#: What a draw is for, and the role it draws from.
PURPOSES = {"assign": "investigator", "committee": "reviewer"}


def institutions_of(case: dict) -> list[str]:
    """The institutions a case names (any role), in order: whoever is tied to one of them
    is recused."""
    return list(dict.fromkeys(m["id"] for m in case["members"] if m["kind"] == "institution"))


def pick(seed: str, case_key: str, candidates: list[str], k: int) -> list[str]:
    """The ``k`` users a draw with ``seed`` picks for ``case_key`` among ``candidates``.

    >>> pick("7f3a", "277ef379-K-0001", ["wang", "li", "zhao", "chen"], 2)
    ['chen', 'zhao']
    >>> pick("7f3a", "277ef379-K-0001", ["chen", "zhao", "li", "wang"], 2)  # order-free
    ['chen', 'zhao']
    """
    return random.Random(f"{seed}:{case_key}").sample(sorted(candidates), k)


def replay(draw: dict | str) -> list[str]:
    """The picks of a stored draw, recomputed: a ``draws`` row, or the ``detail`` of its
    audit row (JSON). Equal to the stored ``picked`` unless the draw was tampered with."""
    d = json.loads(draw) if isinstance(draw, str) else draw
    candidates = d["candidates"]
    if isinstance(candidates, str):
        candidates = json.loads(candidates)
    return pick(d["seed"], d["case_key"], candidates, int(d["k"]))


class Draws:
    """Affiliations and random draws in the review database ``store``."""

    def __init__(self, store: ReviewStore):
        self.store = store
        store.ensure("draws", _SCHEMA)

    # -- affiliations ------------------------------------------------------------------
    def declare(self, user: str, institution_id: str, relation: str, *, by: str,
                role: str | None = None, ip: str = "") -> None:
        """Record that ``user`` is tied to ``institution_id`` (``relation`` says how:
        former employer, a relative works there …). Audited."""
        institution_id, relation = visible(institution_id), visible(relation)
        if not institution_id or not relation:
            raise ProcedureError("procedure.affiliation_fields")
        if self.store.user(user) is None:
            raise ProcedureError("procedure.no_user", name=user)
        self._affiliate(user, institution_id, relation, "declare", by, role, ip)

    def withdraw(self, user: str, institution_id: str, *, by: str, reason: str,
                 role: str | None = None, ip: str = "") -> None:
        """End a declared tie (the declaration stays on record). Audited."""
        reason = visible(reason)
        if not reason:
            raise ProcedureError("procedure.needs_reason")
        if institution_id not in self.affiliations(user):
            raise ProcedureError("procedure.not_affiliated", name=user, institution=institution_id)
        self._affiliate(user, institution_id, reason, "withdraw", by, role, ip)

    def _affiliate(self, user, institution_id, relation, action, by, role, ip) -> None:
        at = now()
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT INTO affiliations (user, institution_id, relation, action, "
                           "at, by) VALUES (?, ?, ?, ?, ?, ?)",
                           (user, institution_id, relation, action, at, by))
                ReviewStore._audit(db, at=at, user=by, role=role, action=f"affiliation {action}",
                                   target=user, ip=ip,
                                   detail=f"institution={institution_id}; {relation}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def affiliations(self, user: str | None = None) -> dict:
        """Current ties: ``{institution_id: relation}`` of ``user``, or of every user
        ``{user: {institution_id: relation}}``."""
        out: dict[str, dict[str, str]] = {}
        with self.store.connect() as db:
            for r in db.execute("SELECT * FROM affiliations ORDER BY id"):
                ties = out.setdefault(r["user"], {})
                if r["action"] == "declare":
                    ties[r["institution_id"]] = r["relation"]
                else:
                    ties.pop(r["institution_id"], None)
        out = {u: t for u, t in out.items() if t}
        return out.get(user, {}) if user is not None else out

    # -- draws -------------------------------------------------------------------------
    def candidates(self, case: dict, purpose: str) -> tuple[list[str], dict[str, list[str]]]:
        """The enabled users of the purpose's role not tied to the case's institutions,
        and those excluded with the institutions that exclude them."""
        places = set(institutions_of(case))
        ties = self.affiliations()
        eligible, excluded = [], {}
        for u in self.store.users():
            if u["role"] != PURPOSES[purpose] or not u["enabled"]:
                continue
            hit = sorted(places & set(ties.get(u["name"], {})))
            if hit:
                excluded[u["name"]] = hit
            else:
                eligible.append(u["name"])
        return sorted(eligible), excluded

    def draw(self, case: dict, *, case_key: str, run_id: str, purpose: str, k: int, by: str,
             seed: str | None = None, role: str | None = None, ip: str = "",
             db: sqlite3.Connection | None = None) -> dict:
        """Draw ``k`` users for ``case`` (``purpose`` "assign": investigators, "committee":
        reviewers) and store the draw with its audit row; the stored draw.

        Raises
        ------
        ProcedureError
            When fewer than ``k`` users are eligible.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {sorted(PURPOSES)}")
        eligible, excluded = self.candidates(case, purpose)
        if len(eligible) < k:
            raise ProcedureError("procedure.too_few", case_id=case["case_id"], k=k,
                                 n=len(eligible), role=PURPOSES[purpose])
        seed = seed or secrets.token_hex(8)
        row = {"at": now(), "by": by, "purpose": purpose, "case_key": case_key,
               "run_id": run_id, "case_id": case["case_id"], "seed": seed, "k": k,
               "candidates": eligible, "excluded": excluded,
               "picked": pick(seed, case_key, eligible, k)}
        stored = {**row, **{c: json.dumps(row[c], ensure_ascii=False, sort_keys=True)
                            for c in ("candidates", "excluded", "picked")}}
        if db is None:
            with self.store.connect() as own:
                own.execute("BEGIN IMMEDIATE")
                try:
                    row["id"] = self._insert(own, stored, role, ip)
                    own.execute("COMMIT")
                except BaseException:
                    own.execute("ROLLBACK")
                    raise
        else:
            row["id"] = self._insert(db, stored, role, ip)
        return row

    @staticmethod
    def _insert(db: sqlite3.Connection, stored: dict, role, ip) -> int:
        cols = ("at", "by", "purpose", "case_key", "run_id", "case_id", "seed", "k",
                "candidates", "excluded", "picked")
        new = db.execute(f"INSERT INTO draws ({', '.join(cols)}) VALUES "
                         f"({', '.join('?' * len(cols))})", [stored[c] for c in cols]).lastrowid
        detail = json.dumps({"draw": new, **{c: stored[c] for c in ("seed", "case_key", "k")},
                             **{c: json.loads(stored[c])
                                for c in ("candidates", "picked")}},
                            ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        ReviewStore._audit(db, at=stored["at"], user=stored["by"], role=role,
                           action=f"random draw {stored['purpose']}", target=stored["case_id"],
                           ip=ip, detail=detail)
        return new

    def assign_at_random(self, cases: list[tuple[dict, str]], *, run_id: str, by: str,
                         seed: str | None = None, role: str | None = None,
                         ip: str = "") -> list[dict]:
        """Give each ``(case, case_key)`` to one investigator drawn at random, never one
        tied to an institution of the case; one seed for the batch. Each assignment is a
        note on the case naming its draw. The draws, in order.

        Raises
        ------
        ProcedureError
            When a case has no eligible investigator (the cases before it stay assigned).
        """
        seed = seed or secrets.token_hex(8)
        out = []
        for case, key in cases:
            d = self.draw(case, case_key=key, run_id=run_id, purpose="assign", k=1, by=by,
                          seed=seed, role=role, ip=ip)
            self.store.decide(key, run_id=run_id, case_id=case["case_id"], user=by,
                              assignee=d["picked"][0], body=f"random draw #{d['id']}",
                              audit={"role": role, "ip": ip})
            out.append(d)
        return out

    def get(self, draw_id: int) -> dict | None:
        with self.store.connect() as db:
            r = db.execute("SELECT * FROM draws WHERE id = ?", (draw_id,)).fetchone()
        if r is None:
            return None
        d = dict(r)
        for c in ("candidates", "excluded", "picked"):
            d[c] = json.loads(d[c])
        return d

    def of_case(self, case_key: str) -> list[dict]:
        with self.store.connect() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM draws WHERE case_key = ? ORDER BY id",
                                            (case_key,))]
        return [self.get(i) for i in ids]
