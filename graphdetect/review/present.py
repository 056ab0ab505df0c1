"""What a viewer may see of a case: real ids, or blind case-local serials (双盲会审).

In blind review every entity id and name on the page and in the JSON is replaced by a
serial number local to the case (患者1, 医生1, 机构1 …) and claim ids by 结算1, 结算2 ….
Nodes reached by expanding the network get opaque tokens, never ids.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import networkx as nx

from ..explain import explain
from ..graph import node_key
from .roles import BLIND_LABELS

__all__ = ["Presenter"]


class Presenter:
    """Turns a case (and anything hanging off it) into what ``blind`` viewers may see.

    Parameters
    ----------
    case : dict
        A case of the run.
    blind : bool
        Replace ids and names by case-local serials.
    names : callable
        ``names(kind, id) -> str | None`` gives an entity's name, to hide it too.
    secret : bytes
        Key for the opaque tokens of expanded nodes.

    Examples
    --------
    >>> case = {"case_id": "S-1", "pattern": "split_stay", "claim_ids": ["C1", "C2"],
    ...         "members": [{"kind": "patient", "id": "P9", "role": "patient"},
    ...                     {"kind": "institution", "id": "H1", "role": "host"}],
    ...         "metrics": {"stays": 2, "min_gap_days": 1, "total_amount": 9000.0},
    ...         "details": {"patient": "P9", "institution": "H1", "first_discharge":
    ...                     "2024-01-10", "readmitted": "2024-01-11", "first_gap_days": 1,
    ...                     "diagnosis": "I63.9"}}
    >>> Presenter(case, blind=True).case()["explanation_en"][:42]
    'Patient 患者1 was discharged from 机构1 on 202'
    """

    def __init__(self, case: dict, *, blind: bool, names=None, secret: bytes = b""):
        self.blind = blind
        self.secret = secret
        self.raw = case
        self.alias: dict[tuple[str, str], str] = {}
        counters: dict[str, int] = {}
        for m in case["members"]:
            key = (m["kind"], m["id"])
            if key not in self.alias:
                counters[m["kind"]] = counters.get(m["kind"], 0) + 1
                self.alias[key] = f"{BLIND_LABELS.get(m['kind'], m['kind'])}{counters[m['kind']]}"
        self.claim_alias = {c: f"结算{i + 1}" for i, c in enumerate(case["claim_ids"])}
        self._words: list[tuple[str, str]] = []
        if blind:
            for (kind, id), alias in self.alias.items():
                self._words.append((id, alias))
                name = names(kind, id) if names else None
                if name:
                    self._words.append((name, alias))
            self._words.sort(key=lambda w: -len(w[0]))
        self._pattern = re.compile("|".join(re.escape(w) for w, _ in self._words)) \
            if self._words else None
        self._replace = dict(self._words)

    # -- ids ---------------------------------------------------------------------------
    def token(self, kind: str, id: str) -> str:
        """An opaque, stable stand-in for an entity outside the case (blind expansions)."""
        mac = hmac.new(self.secret, f"{self.raw['case_id']}|{kind}|{id}".encode(),
                       hashlib.sha256).hexdigest()[:10]
        return f"{BLIND_LABELS.get(kind, kind)}·{mac}"

    def entity(self, kind: str, id: str) -> str:
        if not self.blind:
            return id
        return self.alias.get((kind, id)) or self.token(kind, id)

    def key(self, kind: str, id: str) -> str:
        return node_key(kind, self.entity(kind, id))

    def claim(self, claim_id: str) -> str:
        return self.claim_alias.get(claim_id, "结算?") if self.blind else claim_id

    def text(self, s: str) -> str:
        if not self.blind or not self._pattern or not s:
            return s
        out = self._pattern.sub(lambda m: self._replace[m.group(0)], s)
        # "name（id）" became "机构1（机构1）": say it once
        return re.sub(r"(\S+?)(?:（\1）| \(\1\))", r"\1", out)

    # -- whole objects -------------------------------------------------------------------
    def case(self) -> dict:
        c = dict(self.raw)
        c["members"] = [{**m, "id": self.entity(m["kind"], m["id"])} for m in c["members"]]
        c["claim_ids"] = [self.claim(x) for x in c["claim_ids"]]
        c["explanation"] = self.explanation("zh")
        c["explanation_en"] = self.explanation("en")
        if self.blind:
            c.pop("details", None)  # raw facts name entities by id; the words above are blind
        return c

    def explanation(self, lang: str) -> str:
        """The case's explanation as this viewer may read it: rendered with blind serials,
        never edited after the fact (old runs without ``details`` fall back to masking)."""
        stored = self.raw.get("explanation" if lang == "zh" else "explanation_en", "") or ""
        if not self.blind:
            return stored
        if "details" not in self.raw:
            return self.text(stored)
        return explain(self.raw, lang, self.entity)

    def claims(self, rows: list[dict]) -> list[dict]:
        if not self.blind:
            return rows
        out = []
        for r in rows:
            r = dict(r)
            r["claim_id"] = self.claim(r["claim_id"])
            for kind in ("patient", "institution", "doctor", "terminal", "operator", "card"):
                col = f"{kind}_id"
                if r.get(col):
                    r[col] = self.entity(kind, r[col])
            out.append(r)
        return out

    def elements(self, G: nx.Graph) -> dict:
        """Cytoscape elements of a display graph, ids replaced as the viewer requires."""
        nodes, keymap = [], {}
        for key, d in sorted(G.nodes(data=True)):
            shown = self.key(d["kind"], d["id"])
            keymap[key] = shown
            nodes.append({"data": {"id": shown, "kind": d["kind"], "label": shown.split(":", 1)[1],
                                   "role": d.get("role", "linked"), "claims": d.get("claims", 0),
                                   "hidden": d.get("hidden", 0)}})
        edges = [{"data": {"id": f"{keymap[a]}|{keymap[b]}", "source": keymap[a],
                           "target": keymap[b], "weight": d.get("weight", 1)}}
                 for a, b, d in sorted(G.edges(data=True))]
        return {"nodes": nodes, "edges": edges, "hidden": G.graph.get("hidden", 0)}
