"""What a viewer may see of a case: real ids, or blind case-local serials (双盲会审).

In blind review every entity id and name on the page and in the JSON is replaced by a
serial number local to the case (患者1, 医生1, 机构1 …) and claim ids by 结算1, 结算2 ….
Entities outside the case show as ``医生·3fa2b1``; in the network their ids are
per-session tokens (:mod:`.tokens`), never ids. Free text (notes, old explanations)
is masked too: the case's own ids and names become its serials, and any other id or
name of the run becomes :data:`MARKER` (:class:`Redactor`). Masking is linear in the
length of the text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import networkx as nx
import pandas as pd

from ..cells import shorten
from ..explain import explain
from ..graph import node_key
from .roles import BLIND_LABELS
from .tokens import NodeTokens

__all__ = ["Presenter", "Redactor", "Lexicon", "MARKER"]

#: What a blind viewer reads in place of an id or name from outside the case.
MARKER = "〔已隐去〕"
#: Free text is read as maximal runs of these characters, each looked up as an id.
_TOKEN = re.compile(r"[0-9A-Za-z_.\-]+")
_TOKEN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-")
_SEPARATED = re.compile(r"([._\-])")
#: A run like ``P001.`` or ``H1-P001`` is also looked up piece by piece, this many at most.
_PIECES = 8
#: Names shorter than this are too common to hide; longer ones are not names.
_NAME_LENGTHS = (2, 100)


class Lexicon:
    """A set of words found in text by length-bucketed lookup, leftmost-longest first.

    >>> list(Lexicon(["康宁医院", "李敏"]).find("李敏在康宁医院接诊"))
    [(0, 2), (3, 7)]
    """

    def __init__(self, words: Iterable[str]):
        lo, hi = _NAME_LENGTHS
        self._words: dict[int, set[str]] = defaultdict(set)
        lengths: dict[str, set[int]] = defaultdict(set)
        for w in words:
            if lo <= len(w) <= hi:
                self._words[len(w)].add(w)
                lengths[w[0]].add(len(w))
        self._lengths = {c: sorted(ls, reverse=True) for c, ls in lengths.items()}
        self._starts = re.compile("[" + "".join(map(re.escape, sorted(lengths))) + "]") \
            if lengths else None

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """Spans of the words in ``text``, left to right, never overlapping."""
        i = 0
        while self._starts is not None and (m := self._starts.search(text, i)):
            j = m.start()
            i = j + 1
            for n in self._lengths[text[j]]:
                if text[j:j + n] in self._words[n]:
                    yield j, j + n
                    i = j + n
                    break


class Redactor:
    """Everything of a run a blind viewer may not read in free text: every entity and
    claim id, every institution and doctor name (built once per run).

    Parameters
    ----------
    ids : iterable of pandas.Index
        The ids of each kind, and the claim ids.
    names : iterable of str
        Institution and doctor names.
    """

    def __init__(self, ids: Iterable[pd.Index], names: Iterable[str]):
        self._ids = [idx if pd.api.types.is_string_dtype(idx.dtype) else idx.astype(str)
                     for idx in ids]
        self.names = Lexicon(names)

    def is_id(self, word: str) -> bool:
        return any(word in idx for idx in self._ids)


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
    tokens : NodeTokens, optional
        This viewer's and case's node tokens, for network nodes outside the case.
    redactor : Redactor, optional
        The run's ids and names, to hide in free text.

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
    >>> Presenter(case, blind=True).text("P9 (P9) 在H1住院, 结算单C2; 另见P7.")
    '患者1 在机构1住院, 结算单结算2; 另见P7.'
    """

    def __init__(self, case: dict, *, blind: bool, names: Callable | None = None,
                 tokens: NodeTokens | None = None, redactor: Redactor | None = None):
        self.blind = blind
        self.raw = case
        self.tokens = tokens
        self.redactor = redactor
        self.alias: dict[tuple[str, str], str] = {}
        counters: dict[str, int] = {}
        for m in case["members"]:
            key = (m["kind"], m["id"])
            if key not in self.alias:
                counters[m["kind"]] = counters.get(m["kind"], 0) + 1
                self.alias[key] = f"{BLIND_LABELS.get(m['kind'], m['kind'])}{counters[m['kind']]}"
        self.unalias = {(kind, a): id for (kind, id), a in self.alias.items()}
        self.claim_alias = {c: f"结算{i + 1}" for i, c in enumerate(case["claim_ids"])}
        self._names = names
        self._sealed: dict[tuple[str, str], str] = {}
        self._outside: dict[tuple[str, str], str] = {}
        self._words: tuple[dict[str, str], dict[str, str], Lexicon, Lexicon] | None = None

    # -- ids ---------------------------------------------------------------------------
    def _token(self, kind: str, id: str) -> str:
        key = (kind, id)
        if key not in self._sealed:
            if self.tokens is not None:
                self._sealed[key] = self.tokens.seal(node_key(kind, id))
            else:  # no session (a doctest, a script): serials in order of appearance
                self._sealed[key] = str(len(self._sealed) + 1)
        return self._sealed[key]

    def entity(self, kind: str, id: str) -> str:
        """An entity as the viewer sees it: its id, its serial, or ``医生·3fa2b1``."""
        if not self.blind:
            return id
        return self.alias.get((kind, id)) or \
            f"{BLIND_LABELS.get(kind, kind)}·{self._token(kind, id)[:6]}"

    def key(self, kind: str, id: str) -> str:
        """A network node's id as the viewer sees it (a token outside the case)."""
        if not self.blind:
            return node_key(kind, id)
        return node_key(kind, self.alias.get((kind, id)) or self._token(kind, id))

    def resolve(self, kind: str, shown: str) -> str | None:
        """The real id behind what :meth:`key` showed (after ``kind:``), or None: a blind
        viewer may name a serial of this case or a token of this session and case only."""
        if not self.blind:
            return shown
        if (kind, shown) in self.unalias:
            return self.unalias[(kind, shown)]
        node = self.tokens.open(shown) if self.tokens is not None else None
        real_kind, _, id = (node or "").partition(":")
        return id if node and real_kind == kind else None

    def claim(self, claim_id: str) -> str:
        return self.claim_alias.get(claim_id, "结算?") if self.blind else claim_id

    # -- free text -----------------------------------------------------------------------
    def _local(self) -> tuple[dict[str, str], dict[str, str], Lexicon, Lexicon]:
        """The case's own words, each with its serial: ids read as tokens (and their
        lexicon, for ids glued to other text), and other words (names, ids of other
        characters) with theirs."""
        if self._words is None:
            ids: dict[str, str] = {}
            words: dict[str, str] = {}
            for (kind, id), alias in self.alias.items():
                (ids if _TOKEN.fullmatch(id) else words).setdefault(id, alias)
                name = self._names(kind, id) if self._names else None
                if name:
                    words.setdefault(str(name), alias)
            for c, alias in self.claim_alias.items():
                (ids if _TOKEN.fullmatch(c) else words).setdefault(c, alias)
            self._words = ids, words, Lexicon(words), Lexicon(ids)
        return self._words

    def text(self, s: str) -> str:
        """Free text as the viewer may read it: the case's ids and names as its serials,
        other ids and names of the run as :data:`MARKER`, ``机构1（机构1）`` said once."""
        if not self.blind or not s:
            return s
        ids, words, lexicon, glued = self._local()
        used: set[str] = set()
        parts = [(s, False)]  # (text, already replaced)
        if self.redactor is not None:
            parts = _replace(parts, self.redactor.names, lambda w: words.get(w, MARKER), used)
        parts = _replace(parts, lexicon, words.__getitem__, used)

        def lookup(word: str) -> str | None:
            if word in ids:
                return ids[word]
            if self.redactor is not None and self.redactor.is_id(word):
                return MARKER
            return None

        def inside(word: str) -> str:  # no id itself: the case's ids glued in it still go
            return "".join(t for t, _ in _replace([(word, False)], glued, ids.__getitem__, used))

        out = "".join(piece if done else
                      _TOKEN.sub(lambda m: _hide(m.group(0), lookup, inside, used), piece)
                      for piece, done in parts)
        for r in used:
            out = out.replace(f"{r}（{r}）", r).replace(f"{r} ({r})", r)
        return out

    def note(self, s: str, limit: int) -> str:
        """A note for display: cut to ``limit`` characters with ``…`` (old databases hold
        longer ones; the database keeps the whole note), then :meth:`text`."""
        if s and len(s) > limit:
            cut = limit - 1
            if self.blind:  # do not show the head of an id the cut went through
                floor = max(0, cut - 64)
                while cut > floor and s[cut - 1] in _TOKEN_CHARS and s[cut] in _TOKEN_CHARS:
                    cut -= 1
            s = s[:cut] + "…"
        return self.text(s)

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
        """Cytoscape elements of a display graph, ids replaced as the viewer requires;
        a viewer who is not blind also gets institutions' and doctors' names (``name``)."""
        nodes, keymap = [], {}
        for key, d in sorted(G.nodes(data=True)):
            shown = self.key(d["kind"], d["id"])
            keymap[key] = shown
            data = {"id": shown, "kind": d["kind"], "label": self.entity(d["kind"], d["id"]),
                    "role": d.get("role", "linked"), "claims": d.get("claims", 0),
                    "hidden": d.get("hidden", 0)}
            name = None if self.blind or self._names is None else self._names(d["kind"], d["id"])
            if name:
                data["name"] = shorten(name, 80)
            nodes.append({"data": data})
        edges = [{"data": {"id": f"{keymap[a]}|{keymap[b]}", "source": keymap[a],
                           "target": keymap[b], "weight": d.get("weight", 1)}}
                 for a, b, d in sorted(G.edges(data=True))]
        return {"nodes": nodes, "edges": edges, "hidden": G.graph.get("hidden", 0)}


def _replace(parts: list[tuple[str, bool]], lexicon: Lexicon, replace: Callable[[str], str],
             used: set[str]) -> list[tuple[str, bool]]:
    """Split the parts not yet replaced around the lexicon's words, replaced (and noted
    in ``used``)."""
    out = []
    for text, done in parts:
        if done:
            out.append((text, done))
            continue
        i = 0
        for a, b in lexicon.find(text):
            if a > i:
                out.append((text[i:a], False))
            out.append((replace(text[a:b]), True))
            used.add(out[-1][0])
            i = b
        if i < len(text):
            out.append((text[i:], False))
    return out


def _hide(run: str, lookup: Callable[[str], str | None], inside: Callable[[str], str],
          used: set[str]) -> str:
    """A run of id characters with every id in it replaced: the whole run, else the
    longest ids among its pieces (``P001.`` → ``患者1.``, ``H1-P001`` → two ids), else
    what ``inside`` finds in a piece."""
    hit = lookup(run)
    if hit is not None:
        used.add(hit)
        return hit
    pieces = _SEPARATED.split(run)  # words at even places, separators at odd ones
    out, i = [], 0
    while i < len(pieces):
        j, hit = i, None
        if i % 2 == 0 and pieces[i] and len(pieces) > 1:
            for j in range(min(len(pieces) - 1, i + 2 * _PIECES - 2), i - 1, -2):
                if (hit := lookup("".join(pieces[i:j + 1]))) is not None:
                    break
        if hit is None:
            out.append(inside(pieces[i]) if i % 2 == 0 else pieces[i])
            i += 1
        else:
            used.add(hit)
            out.append(hit)
            i = j + 1
    return "".join(out)
