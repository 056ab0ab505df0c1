"""The people side of shared_identity: phones, addresses, villages and ages as codes per
patient, and the share of a place's claims that come from the members' villages."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._arrays import attribute_codes, commonest
from ._features import birth_years


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
        self._matrix = None
        self._village_claims = None
        self._first_year = 1970 + float(graph.day.min()) / 365.2425 if len(graph) else 1970.0

    def share(self, members: np.ndarray, rows: np.ndarray, hosts: np.ndarray) -> float | None:
        """Share of the claims of the members' fellow villagers (not members) at the hosts."""
        code = self.codes["region_code"]
        if code is None:
            return None
        g = self.graph
        if self._matrix is None:
            per_claim = code[g.codes("patient")]
            keep = per_claim >= 0
            # institution x village claim counts: a host's row lists its villages
            self._matrix = sp.csr_matrix(
                (np.ones(int(keep.sum())), (g.codes("institution")[keep], per_claim[keep])),
                shape=(g.n("institution"), int(code.max()) + 1))
            self._matrix.sum_duplicates()
            self._village_claims = np.bincount(per_claim[keep], minlength=int(code.max()) + 1)
        villages = np.unique(code[members])
        villages = villages[villages >= 0]
        if not len(villages):
            return None
        own = code[g.codes("patient")[rows]] >= 0
        inst = g.codes("institution")[rows]
        total = self._village_claims[villages].sum() - own.sum()
        m = self._matrix
        there = sum(float(m.data[m.indptr[h]:m.indptr[h + 1]][np.isin(
            m.indices[m.indptr[h]:m.indptr[h + 1]], villages)].sum()) for h in hosts) \
            - (own & np.isin(inst, hosts)).sum()
        return float(there / total) if total > 0 else None

    def elderly(self, members: np.ndarray) -> float | None:
        """Share of the members (of known age) aged 65 or more when the data begins."""
        if self.born is None:
            return None
        born = self.born[members]
        born = born[np.isfinite(born)]
        return float(np.mean(self._first_year - born >= 65)) if len(born) else None


def billers(graph, kind: str, rows: np.ndarray) -> list[str]:
    """The doctors (or operators) behind at least 15% of the rows, at most 3."""
    top = commonest(graph, kind, graph.codes(kind)[rows])[:3]
    return sorted(i for i, n in top if n >= 0.15 * len(rows))
