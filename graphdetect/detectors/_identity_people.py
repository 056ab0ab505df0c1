"""The people side of shared_identity: phones, addresses, villages and ages as codes per
patient, and the share of a place's claims that come from the members' villages; the
claims of a place on some days."""

from __future__ import annotations

import numpy as np

from ._arrays import attribute_codes, claim_counts, unique_counts
from ._features import birth_years
from ._stays import id_array


class Places:
    """The claims of each institution by day: how many on given days (all places at once)
    and which (one place at a time). A place's claims are sorted by day when it is first
    asked for, so that a group costs its own places' claims, never a sort of all claims."""

    def __init__(self, graph):
        self.graph = graph
        self.first = int(graph.day.min()) if len(graph) else 0
        self.span = int(graph.day.max()) - self.first + 1 if len(graph) else 1
        self._count = None
        self._dense = False
        self._by_day: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def count(self, inst: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Claims at each (institution, day offset from the first day) asked for."""
        if self._count is None:
            h = self.graph.codes("institution")
            cells = self.graph.n("institution") * self.span
            # 32 bits where the keys fit: half the memory to write and read
            wide = np.int32 if cells < 2**31 else np.int64
            key = h.astype(wide)
            key *= wide(self.span)
            key += self.graph.day - self.first
            if (h < 0).any():
                key = key[h >= 0]
            # a count per (institution, day) where that table is no bigger than the claims
            # (so for a city's hospitals); else the keys, sorted
            self._dense = cells <= 4 * len(key)
            self._count = np.bincount(key, minlength=cells) if self._dense else np.sort(key)
        want = inst.astype(np.int64) * self.span + day
        if self._dense:
            return np.where(inst >= 0, self._count[want.clip(0)], 0)
        want = want.astype(self._count.dtype)   # as the sorted keys (the wanted ones fit)
        return np.searchsorted(self._count, want, "right") - \
            np.searchsorted(self._count, want, "left")

    def rows(self, inst: int, days: np.ndarray | None = None) -> np.ndarray:
        """Rows of the claims at an institution (on some days), by day."""
        if inst not in self._by_day:
            m = self.graph.members("institution")
            rows = m.indices[m.indptr[inst]:m.indptr[inst + 1]]
            day = self.graph.day[rows]
            order = np.argsort(day, kind="stable")
            self._by_day[inst] = rows[order], day[order]
        rows, day = self._by_day[inst]
        if days is None:
            return rows
        lo, hi = np.searchsorted(day, days, "left"), np.searchsorted(day, days, "right")
        return rows[np.repeat(lo - np.cumsum(hi - lo) + (hi - lo), hi - lo)
                    + np.arange(int((hi - lo).sum()))]


def distinct(codes: np.ndarray | None, members: np.ndarray) -> int | None:
    if codes is None:
        return None
    known = codes[members]
    return len(np.unique(known[known >= 0])) or None


class People:
    """Per patient of the graph, as integer codes: phone, address, village; birth year.
    And claims per (village, institution), for the neighbours' share at a place."""

    def __init__(self, graph):
        self.graph = graph
        self.codes = {c: attribute_codes(graph, "patient", c)
                      for c in ("phone_hash", "address_hash", "region_code")}
        by_date, by_year = birth_years(graph)
        self.born = by_date if by_date is not None and np.isfinite(by_date).any() else by_year
        self.places = Places(graph)
        self._villages_at: dict[int, np.ndarray] = {}
        self._village_claims = None
        self._first_year = 1970 + float(graph.day.min()) / 365.2425 if len(graph) else 1970.0

    def share(self, members: np.ndarray, rows: np.ndarray, hosts: np.ndarray) -> float | None:
        """Share of the claims of the members' fellow villagers (not members) at the hosts."""
        code = self.codes["region_code"]
        if code is None:
            return None
        g = self.graph
        if self._village_claims is None:
            # Claims per village: each patient's claim count, added up by village (whole
            # numbers, exact as floats), not a village looked up per claim.
            known = code >= 0
            self._village_claims = np.bincount(
                code[known], weights=claim_counts(g, "patient")[known],
                minlength=int(code.max()) + 1).astype(np.int64)
        villages = np.unique(code[members])
        villages = villages[villages >= 0]
        if not len(villages):
            return None
        own = code[g.codes("patient")[rows]] >= 0
        inst = g.codes("institution")[rows]
        total = self._village_claims[villages].sum() - own.sum()
        there = sum(float(self._at(int(h), villages)) for h in hosts) \
            - (own & np.isin(inst, hosts)).sum()
        return float(there / total) if total > 0 else None

    def _at(self, host: int, villages: np.ndarray) -> int:
        """Claims at a host by patients of some villages (sorted codes). Each host's
        villages per claim are gathered once, from its own claims only."""
        if host not in self._villages_at:
            rows = self.places.rows(host)
            v = self.codes["region_code"][self.graph.codes("patient")[rows]]
            self._villages_at[host] = np.sort(v[v >= 0])
        v = self._villages_at[host]
        return int((np.searchsorted(v, villages, "right")
                    - np.searchsorted(v, villages, "left")).sum())

    def elderly(self, members: np.ndarray) -> float | None:
        """Share of the members (of known age) aged 65 or more when the data begins."""
        if self.born is None:
            return None
        born = self.born[members]
        born = born[np.isfinite(born)]
        return float(np.mean(self._first_year - born >= 65)) if len(born) else None


def billers(graph, kind: str, rows: np.ndarray) -> list[str]:
    """The doctors (or operators) behind at least 15% of the rows, at most 3."""
    codes = graph.codes(kind)[rows]
    code, n = unique_counts(codes[codes >= 0])
    # commonest first, ties by code (as :func:`commonest`); only these few ids looked up
    top = np.lexsort((code, -n))[:3]
    ids = id_array(graph, kind)
    return sorted(str(ids[code[i]]) for i in top if n[i] >= 0.15 * len(rows))
