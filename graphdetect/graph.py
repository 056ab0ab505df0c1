"""ClaimsGraph: the claims as sparse incidence matrices over dense entity ids.

Every entity kind (patient, doctor, institution, card, terminal, operator) is mapped to
dense integers 0..n-1 (its categorical codes, in sorted id order). Matrices are built on
first use and cached; networkx graphs are made only for display (:meth:`ego_network`).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from .errors import ParameterError

if TYPE_CHECKING:       # networkx is imported where a display graph is made, not at start
    import networkx as nx

__all__ = ["ClaimsGraph", "KINDS", "node_key"]

KINDS = ("patient", "doctor", "institution", "card", "terminal", "operator")
VISITS = ("outpatient", "inpatient", "pharmacy")
OUTPATIENT, INPATIENT, PHARMACY = 0, 1, 2
_COLUMN = {k: f"{k}_id" for k in KINDS}
#: Which kinds a claim links, for display graphs.
EDGE_KINDS = (("patient", "institution"), ("patient", "doctor"), ("doctor", "institution"),
              ("patient", "card"), ("card", "terminal"), ("terminal", "institution"),
              ("operator", "terminal"))


def _neighbour_kinds(edges) -> dict[str, tuple[str, ...]]:
    return {k: tuple(sorted({b if a == k else a for a, b in edges if k in (a, b)}))
            for k in KINDS}


def node_key(kind: str, id: str) -> str:
    """The display graph's node key: ``"kind:id"``.

    >>> node_key("patient", "P001")
    'patient:P001'
    """
    return f"{kind}:{id}"


class ClaimsGraph:
    """The claims of one data folder as a patient–doctor–institution graph.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims as :func:`graphdetect.read_folder` returns them (categorical id columns).
    patients, institutions, doctors : pandas.DataFrame, optional
        The optional tables, indexed by their id column.
    unique_ids : bool, default False
        Whether the claim ids are known to be unique (a reader's claims are:
        :meth:`from_data` says so), which lets :meth:`rows_of` look up a run's evidence
        among the rows already named rather than among all claims.

    Examples
    --------
    >>> import pandas as pd
    >>> claims = pd.DataFrame({
    ...     "claim_id": ["C1", "C2", "C3"],
    ...     "patient_id": pd.Categorical(["P1", "P2", "P1"]),
    ...     "institution_id": pd.Categorical(["H1", "H1", "H2"]),
    ...     "start_time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-03"]),
    ...     "visit_type": "outpatient", "total_amount": [10.0, 20.0, 30.0],
    ... })
    >>> g = ClaimsGraph(claims)
    >>> g.n("patient"), g.n("institution")
    (2, 2)
    >>> g.incidence("patient", "institution").toarray()
    array([[1, 1],
           [1, 0]], dtype=int32)
    >>> sorted(g.ego_network("patient", "P1").nodes)
    ['institution:H1', 'institution:H2', 'patient:P1']
    """

    def __init__(self, claims: pd.DataFrame, *, patients: pd.DataFrame | None = None,
                 institutions: pd.DataFrame | None = None,
                 doctors: pd.DataFrame | None = None, unique_ids: bool = False):
        self.claims = claims = _complete(claims)
        # which rows' claim ids have been handed out (:meth:`claim_ids`), where claim ids
        # are known to be unique: :meth:`rows_of` looks among those first
        self._named = np.zeros(len(claims), bool) if unique_ids else None
        self.patients = patients
        self.institutions = institutions
        self.doctors = doctors
        self._codes: dict[str, np.ndarray] = {}
        self._index: dict[str, pd.Index] = {}
        for kind in KINDS:
            col = claims.get(_COLUMN[kind])
            if col is None:
                col = claims["patient_id"] if kind == "card" else None
            if col is None:
                self._index[kind] = pd.Index([], dtype=str)
                self._codes[kind] = np.full(len(claims), -1, dtype=np.int32)
                continue
            cat = col.astype("category") if not isinstance(col.dtype, pd.CategoricalDtype) \
                else col
            self._index[kind] = pd.Index(cat.cat.categories)
            self._codes[kind] = cat.cat.codes.to_numpy().astype(np.int32, copy=False)
        #: True when every card id is its holder's patient id (or no card column):
        #: display graphs then hang terminals on patients and draw no card nodes.
        self.cards_are_patients = bool(
            self._index["card"].equals(self._index["patient"])
            and np.array_equal(self._codes["card"], self._codes["patient"]))
        edges = EDGE_KINDS
        if self.cards_are_patients:
            edges = tuple((a.replace("card", "patient"), b.replace("card", "patient"))
                          for a, b in EDGE_KINDS if (a, b) != ("patient", "card"))
        self._edges = edges
        self._neighbours = _neighbour_kinds(edges)
        self._members: dict[str, sp.csr_matrix] = {}
        self._attributes: dict[tuple[str, str], np.ndarray | None] = {}
        self._incidence: dict[tuple[str, str], sp.csr_matrix] = {}

    @classmethod
    def from_data(cls, data) -> ClaimsGraph:
        """Build from a :class:`graphdetect.io.ClaimsData` (whose claim ids are unique: the
        readers reject a repeated one)."""
        def indexed(frame, key):
            return None if frame is None else frame.set_index(key, drop=False)
        return cls(data.claims, patients=indexed(data.patients, "patient_id"),
                   institutions=indexed(data.institutions, "institution_id"),
                   doctors=indexed(data.doctors, "doctor_id"), unique_ids=True)

    # -- ids ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.claims)

    def n(self, kind: str) -> int:
        """Number of distinct entities of a kind."""
        return len(self.index(kind))

    def index(self, kind: str) -> pd.Index:
        """The ids of a kind; position = dense integer."""
        if kind not in self._index:
            raise ParameterError("kind", "ClaimsGraph", f"one of {', '.join(KINDS)}", kind)
        return self._index[kind]

    def codes(self, kind: str) -> np.ndarray:
        """Per claim, the dense integer of its entity of ``kind`` (-1 where absent)."""
        self.index(kind)
        return self._codes[kind]

    def code_of(self, kind: str, id: str) -> int:
        """Dense integer of an id; ``KeyError`` when the id is unknown."""
        pos = self.index(kind).get_indexer([id])[0]
        if pos < 0:
            raise KeyError(f"unknown {kind} {id!r}")
        return int(pos)

    @cached_property
    def day(self) -> np.ndarray:
        """Per claim, the day of start_time as days since 1970-01-01 (int32)."""
        return (self.seconds // 86400).astype(np.int32)

    @cached_property
    def visit(self) -> np.ndarray:
        """Per claim, the visit type as int8: 0 outpatient, 1 inpatient, 2 pharmacy."""
        cat = self.claims["visit_type"].cat
        remap = np.array([VISITS.index(str(c)) for c in cat.categories] + [-1], dtype=np.int8)
        return remap[cat.codes.to_numpy()]

    @cached_property
    def amount(self) -> np.ndarray:
        """Per claim, total_amount as float64."""
        return self.claims["total_amount"].to_numpy(dtype=np.float64)

    @cached_property
    def claim_id_array(self) -> pa.Array:
        """The claim ids as text, in row order, as one Arrow array (taking a few rows from
        it costs microseconds, where pandas' take costs most of a millisecond)."""
        ids = pa.array(self.claims["claim_id"].astype(str).array)
        return ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids

    def claim_ids(self, rows: np.ndarray) -> list[str]:
        """The claim ids of some rows, in the rows' order."""
        rows = np.asarray(rows, dtype=np.intp)
        if self._named is not None:
            self._named[rows] = True
        return self.claim_id_array.take(rows).to_pylist()

    def rows_of(self, ids: Collection[str]) -> np.ndarray:
        """The rows whose claim id is one of ``ids``, sorted; unknown ids are left out.

        One Arrow hash of ``ids``, probed by every claim id (about half a second for a run's
        case claims among ten million); or, when claim ids are unique (``unique_ids``) and
        every one of ``ids`` is among those :meth:`claim_ids` handed out (a run's cases'
        are), probed by those alone.

        >>> claims = pd.DataFrame({"claim_id": ["C1", "C2", "C3"], "patient_id": "P1",
        ...     "institution_id": "H1", "start_time": pd.to_datetime(["2024-01-01"] * 3),
        ...     "visit_type": "outpatient", "total_amount": 1.0})
        >>> ClaimsGraph(claims).rows_of({"C3", "C1", "C9"}).tolist()
        [0, 2]
        """
        values = self.claim_id_array
        wanted = pa.array(list(ids), values.type)
        if self._named is not None:
            named = np.flatnonzero(self._named)
            found = pc.is_in(values.take(named), value_set=wanted)
            rows = named[found.fill_null(False).to_numpy(zero_copy_only=False)]
            # unique claim ids: each id found is one row, and no row elsewhere holds it
            if len(rows) == pc.count_distinct(wanted).as_py():
                return rows
        found = pc.is_in(values, value_set=wanted)
        return np.flatnonzero(found.fill_null(False).to_numpy(zero_copy_only=False))

    def ids(self, kind: str, rows: np.ndarray) -> list[str]:
        """The distinct ids of a kind on some rows, sorted; absent ones left out."""
        codes = np.unique(self.codes(kind)[rows])
        return sorted(str(x) for x in self.index(kind)[codes[codes >= 0]])

    def attribute(self, kind: str, column: str) -> np.ndarray | None:
        """A side-table column aligned with ``index(kind)`` (object array, None if unknown).

        Returns None when the side table or the column is missing altogether.
        """
        key = (kind, column)
        if key not in self._attributes:
            table = {"patient": self.patients, "institution": self.institutions,
                     "doctor": self.doctors}.get(kind)
            if table is None or column not in table:
                self._attributes[key] = None
            else:
                col = table[column]
                col = col[~col.index.duplicated()].reindex(self.index(kind))
                values = col.astype(object).to_numpy(copy=True)
                values[pd.isna(values)] = None
                self._attributes[key] = values
        return self._attributes[key]

    def label(self, kind: str, id: str, *, en: bool = False) -> str:
        """An id with its name when a side table gives one: ``某某医院（H001）``."""
        names = self.attribute(kind, "name")
        if names is None:
            return str(id)
        try:
            name = names[self.index(kind).get_loc(id)]
        except KeyError:
            return str(id)
        if not name:
            return str(id)
        return f"{name} ({id})" if en else f"{name}（{id}）"

    @cached_property
    def seconds(self) -> np.ndarray:
        """Per claim, start_time as seconds since 1970-01-01 (int64, read-only): the
        claims' column seen as integers where it is held in seconds, as the reader gives
        it (no copy of ten million timestamps)."""
        t = self.claims["start_time"].to_numpy().astype("datetime64[s]", copy=False)
        t = t.view(np.int64)
        t.flags.writeable = False
        return t

    # -- matrices ----------------------------------------------------------------------
    def members(self, kind: str) -> sp.csr_matrix:
        """Entity × claim membership (CSR, 0/1); row i lists the claims of entity i."""
        if kind not in self._members:
            codes = self.codes(kind)
            rows = np.flatnonzero(codes >= 0)
            m = sp.csr_matrix((np.ones(len(rows), np.int8), (codes[rows], rows)),
                              shape=(self.n(kind), len(self)))
            self._members[kind] = m
        return self._members[kind]

    def claims_of(self, kind: str, id: str) -> np.ndarray:
        """Row positions (into ``claims``) of an entity's claims, in row order."""
        m = self.members(kind)
        i = self.code_of(kind, id)
        return m.indices[m.indptr[i]:m.indptr[i + 1]]

    def incidence(self, rows: str, cols: str) -> sp.csr_matrix:
        """``rows`` × ``cols`` count matrix: entry (i, j) = claims linking entity i and j."""
        key = (rows, cols)
        if key not in self._incidence:
            self._incidence[key] = _count_matrix(self.codes(rows), self.codes(cols),
                                                 (self.n(rows), self.n(cols)))
        return self._incidence[key]

    def bucket_incidence(self, rows: str, by: str, *, mask: np.ndarray | None = None
                         ) -> tuple[sp.csr_matrix, np.ndarray]:
        """``rows`` × (``by``-entity, day) count matrix, e.g. patient × (institution, day).

        Returns the matrix and, per column, the ``(entity code, day)`` pair as an
        ``(m, 2)`` array. ``mask`` keeps only some claims (say, inpatient ones).
        """
        keep = (self.codes(rows) >= 0) & (self.codes(by) >= 0)
        if mask is not None:
            keep &= mask
        day = self.day[keep].astype(np.int64)
        dmin = int(day.min()) if len(day) else 0
        key = self.codes(by)[keep].astype(np.int64) << 20 | (day - dmin)
        uniq, col = np.unique(key, return_inverse=True)
        pairs = np.column_stack([uniq >> 20, (uniq & 0xFFFFF) + dmin])
        m = _count_matrix(self.codes(rows)[keep], col, (self.n(rows), len(uniq)))
        return m, pairs

    def sessions(self, *, by: str = "terminal", gap_seconds: int = 1800,
                 mask: np.ndarray | None = None) -> np.ndarray:
        """Per claim, a session number: claims at one ``by`` entity with gaps ≤ gap_seconds.

        Claims without that entity, or left out by ``mask``, get -1. Sessions are
        numbered in (entity, time) order.
        """
        codes = self.codes(by)
        keep = codes >= 0 if mask is None else (codes >= 0) & mask
        rows = np.flatnonzero(keep)
        out = np.full(len(self), -1, dtype=np.int64)
        if not len(rows):
            return out
        key = codes[rows].astype(np.int64) << 36 | (self.seconds[rows] - self.seconds.min())
        order = rows[np.argsort(key, kind="stable")]
        c, t = codes[order], self.seconds[order]
        new = np.ones(len(order), bool)
        new[1:] = (c[1:] != c[:-1]) | (t[1:] - t[:-1] > gap_seconds)
        out[order] = np.cumsum(new) - 1
        return out

    # -- display graphs (made in graphdetect._display) ----------------------------------
    def ego_network(self, kind: str, id: str, *, radius: int = 1,
                    max_neighbors: int = 50) -> nx.Graph:
        """The entity and its neighbours as a networkx graph, for display.

        At most ``max_neighbors`` neighbours are kept per expanded node (the ones
        sharing most claims); the number left out is the node attribute ``hidden``
        and ``G.graph["hidden"]`` totals it.
        """
        if radius < 0:
            raise ParameterError("radius", "ego_network", "an int >= 0", radius)
        if max_neighbors < 1:
            raise ParameterError("max_neighbors", "ego_network", "an int >= 1", max_neighbors)
        from ._display import ego_network

        return ego_network(self, kind, id, radius, max_neighbors)

    def subgraph(self, rows: np.ndarray, *, roles: dict[tuple[str, str], str] | None = None
                 ) -> nx.Graph:
        """The entities some claims link, as a networkx graph for display.

        Nodes are every entity on the claims at ``rows`` (plus any in ``roles``), with
        ``claims`` = how many of those claims name them; edges join the kinds a claim
        links, weighted by the number of claims that link the two ends.

        >>> import pandas as pd
        >>> claims = pd.DataFrame({"claim_id": ["C1", "C2"], "visit_type": "inpatient",
        ...     "patient_id": pd.Categorical(["P1", "P2"]), "institution_id": "H1",
        ...     "start_time": pd.to_datetime(["2024-01-01"] * 2), "total_amount": 1.0})
        >>> G = ClaimsGraph(claims).subgraph(np.array([0, 1]))
        >>> sorted(G.edges(data="weight"))
        [('patient:P1', 'institution:H1', 1), ('patient:P2', 'institution:H1', 1)]
        """
        from ._display import subgraph

        return subgraph(self, rows, roles or {})

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}s={self.n(k)}" for k in KINDS if self.n(k))
        return f"<ClaimsGraph claims={len(self)} {sizes}>"


def _complete(claims: pd.DataFrame) -> pd.DataFrame:
    """Add the contract's optional columns that a hand-made claims frame may lack."""
    n = len(claims)
    missing = {}
    for name in ("doctor_id", "diagnosis_code", "terminal_id", "operator_id"):
        if name not in claims:
            missing[name] = pd.Categorical([None] * n, categories=pd.Index([], dtype=str))
    if "card_id" not in claims:
        missing["card_id"] = claims["patient_id"]
    if "end_time" not in claims:
        missing["end_time"] = pd.Series(pd.NaT, index=claims.index, dtype="datetime64[s]")
    if "fund_amount" not in claims:
        missing["fund_amount"] = float("nan")
    if "has_time" not in claims:
        t = claims["start_time"]
        missing["has_time"] = (t - t.dt.normalize()).dt.total_seconds().to_numpy() > 0 \
            if n else np.zeros(0, bool)
    if not isinstance(claims["visit_type"].dtype, pd.CategoricalDtype):
        missing["visit_type"] = pd.Categorical(claims["visit_type"], categories=list(VISITS))
    # diagnoses as the reader gives them (a frame of text: a hand-made one, a Spark task's)
    if "diagnosis_code" not in missing and \
            not isinstance(claims["diagnosis_code"].dtype, pd.CategoricalDtype):
        missing["diagnosis_code"] = pd.Categorical(claims["diagnosis_code"])
    return claims.assign(**missing) if missing else claims


def _count_matrix(r: np.ndarray, c: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    keep = (r >= 0) & (c >= 0)
    m = sp.csr_matrix((np.ones(int(keep.sum()), np.int32), (r[keep], c[keep])), shape=shape)
    m.sum_duplicates()
    return m
