"""Run folders as the review UI sees them: cases, their claims and networks, entities.

A run's claims graph is built on first use from the data folder the run was made from;
:class:`RunViews` keeps one :class:`RunView` per run and the graphs of the few runs used
last, so that serving twelve monthly runs does not hold twelve graphs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from functools import cached_property
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import RunError
from ..graph import KINDS, ClaimsGraph
from ..io import read_folder
from ..regions import region_names
from ..run import load_summary, read_cases, time_zone_of
from .present import Redactor

__all__ = ["RunView", "RunViews", "CLAIM_COLUMNS", "NAMED"]

#: The kinds the side tables name.
NAMED = ("institution", "doctor")

CLAIM_COLUMNS = ["claim_id", "patient_id", "institution_id", "doctor_id", "visit_type",
                 "start_time", "end_time", "total_amount", "fund_amount", "diagnosis_code",
                 "terminal_id", "operator_id", "card_id"]


class RunView:
    """Read-only access to one run folder and the claims behind it."""

    def __init__(self, run: str | Path, *, data: str | Path | None = None,
                 summary: dict | None = None, cases: list[dict] | None = None):
        self.path = Path(run)
        self.summary = summary if summary is not None else load_summary(self.path)
        self.run_id = self.summary.get("run_id", self.path.name)
        self.cases = cases if cases is not None else read_cases(self.path)
        self.by_id = {c["case_id"]: c for c in self.cases}
        self.data_folder = Path(data or self.summary.get("data_folder", ""))
        self._lock = threading.Lock()
        self.entity_cases: dict[tuple[str, str], list[str]] = defaultdict(list)
        for c in self.cases:
            for m in c["members"]:
                self.entity_cases[(m["kind"], m["id"])].append(c["case_id"])

    def case(self, case_id: str) -> dict | None:
        return self.by_id.get(case_id)

    @staticmethod
    def host(case: dict) -> str | None:
        """The case's main institution (its host), if it names one."""
        for m in case["members"]:
            if m["kind"] == "institution":
                return m["id"]
        return None

    # -- the claims behind the run -------------------------------------------------------
    @property
    def graph(self) -> ClaimsGraph:
        with self._lock:
            return self._graph

    @property
    def has_graph(self) -> bool:
        """Whether the claims graph is built (and held in memory)."""
        return "_graph" in self.__dict__

    def drop_graph(self) -> None:
        """Let the claims graph and what is derived from it go; the next use rebuilds it.

        Without the lock, so as not to wait for a graph being built: a request that
        holds the graph keeps it until it ends.
        """
        for name in ("_graph", "_row_of", "redactor", "_names", "_regions"):
            self.__dict__.pop(name, None)

    @cached_property
    def _graph(self) -> ClaimsGraph:
        if not self.data_folder.is_dir():
            raise RunError(f"{self.path}: its data folder {self.data_folder} is not there")
        window = self.summary.get("window") or {}  # the claims the run read, no others
        data = read_folder(self.data_folder, since=window.get("since"), until=window.get("until"),
                           time_zone=time_zone_of(self.summary))
        self.__dict__["_regions"] = region_names(data.regions)
        return ClaimsGraph.from_data(data)

    @property
    def regions(self) -> dict[str, str]:
        """Region codes with their names, from the data folder's ``regions`` table."""
        _ = self.graph  # read with the claims
        return self.__dict__.get("_regions", {})

    @cached_property
    def _row_of(self) -> pd.Index:
        return pd.Index(self.graph.claims["claim_id"].astype(str))

    @cached_property
    def redactor(self) -> Redactor:
        """Every id and every institution and doctor name of the run (the claims and the
        side tables), for blind viewers' free text."""
        g = self.graph
        tables = [t for t in (g.patients, g.institutions, g.doctors) if t is not None]
        ids = [g.index(kind) for kind in KINDS] + [self._row_of]
        ids += [pd.Index(t.index.astype(str)) for t in tables]
        names = {str(n) for t in (g.institutions, g.doctors) if t is not None and "name" in t
                 for n in t["name"].dropna()}
        return Redactor(ids, names)

    @cached_property
    def _names(self) -> dict[tuple[str, str], str]:
        """Every named institution and doctor of the side tables, by ``(kind, id)``."""
        g, out = self.graph, {}
        for kind in NAMED:
            names = g.attribute(kind, "name")
            if names is not None:
                out.update(((kind, str(i)), str(n)) for i, n in zip(g.index(kind), names,
                                                                     strict=True) if n)
        return out

    def name(self, kind: str, id: str) -> str | None:
        """An institution's or doctor's name from the side tables, None when not given."""
        return self._names.get((kind, id))

    def matches(self, case: dict, query: str) -> bool:
        """Whether ``query`` names the case: its id, or a member's id (whole, any case) or
        name (any part of it, any case)."""
        q = query.casefold()
        if q == case["case_id"].casefold():
            return True
        for m in case["members"]:
            name = self.name(m["kind"], m["id"])
            if q == m["id"].casefold() or (name and q in name.casefold()):
                return True
        return False

    def period(self, case: dict) -> dict[str, str | None]:
        """The first and last day of the case's evidence claims (ISO dates)."""
        days = self.graph.day[self.rows(case["claim_ids"])]
        if not len(days):
            return {"first": None, "last": None}
        first, last = (np.datetime64(int(d), "D") for d in (days.min(), days.max()))
        return {"first": str(first), "last": str(last)}

    def rows(self, claim_ids: list[str]) -> np.ndarray:
        pos = self._row_of.get_indexer(claim_ids)
        return pos[pos >= 0]

    def claims(self, claim_ids: list[str]) -> pd.DataFrame:
        """The claims with these ids, all contract columns, in time order."""
        frame = self.graph.claims.iloc[self.rows(claim_ids)]
        cols = [c for c in CLAIM_COLUMNS if c in frame]
        return frame[cols].sort_values(["start_time", "claim_id"], kind="stable")

    def network(self, case: dict) -> nx.Graph:
        """The case's network: its members and the entities its evidence claims link.

        Edges are weighted by the number of evidence claims that link the two ends.
        """
        roles = {(m["kind"], m["id"]): m["role"] for m in case["members"]}
        return self.graph.subgraph(self.rows(case["claim_ids"]), roles=roles)

    def expand(self, kind: str, id: str, *, max_neighbors: int = 50) -> nx.Graph:
        """An entity and its neighbours in the whole claims graph, hub-capped."""
        return self.graph.ego_network(kind, id, radius=1, max_neighbors=max_neighbors)

    def entity(self, kind: str, id: str) -> dict | None:
        """What the claims say about one entity, and the cases that name it."""
        g = self.graph
        try:
            rows = g.claims_of(kind, id)
        except KeyError:
            return None
        claims = g.claims.iloc[rows]
        by_type = claims["visit_type"].astype(str).value_counts().sort_index()
        out = {"kind": kind, "id": id, "name": self.name(kind, id),
            "label": g.label(kind, id) if kind in NAMED else id, "claims": int(len(rows)),
            "total_amount": round(float(g.amount[rows].sum()), 2),
            "first": str(claims["start_time"].min()) if len(rows) else None,
            "last": str(claims["start_time"].max()) if len(rows) else None,
            "by_visit_type": {k: int(v) for k, v in by_type.items()},
            "cases": list(self.entity_cases.get((kind, id), []))}
        if kind in ("patient", "institution"):
            codes = g.attribute(kind, "region_code")
            code = codes[g.code_of(kind, id)] if codes is not None else None
            out["region_code"] = code
            out["region"] = self.regions.get(str(code)) if code else None
        for other in ("institution", "doctor", "patient"):
            if other != kind:
                top = claims[f"{other}_id"].astype(str).value_counts().head(5)
                out[f"top_{other}s"] = [{"id": i, "name": self.name(other, i),
                                         "claims": int(n)} for i, n in top.items() if i != "nan"]
        return out


class RunViews:
    """One :class:`RunView` per run of ``runs``, made on first use and kept; at most
    ``graphs`` claims graphs stay in memory: the newest run's, where the work is, and
    those of the ``graphs - 1`` other runs used last.

    Parameters
    ----------
    runs : graphdetect.runs.Runs
        The runs served.
    graphs : int
        How many runs' claims graphs to keep (each may take gigabytes); a run used
        after its graph was let go builds it again. Graphs are let go when a view is
        asked for, so one built for a request lives at least until the next.

    Notes
    -----
    Keeping the newest run's graph whatever else is used means that users looking back
    at older months never make the many working on the newest wait for a rebuild.
    """

    def __init__(self, runs, *, graphs: int = 2):
        if not isinstance(graphs, int) or graphs < 1:
            raise ValueError(f"The 'graphs' parameter of RunViews must be an int >= 1; "
                             f"got {graphs!r}.")
        self.runs = runs
        self.graphs = graphs
        self._views: dict[str, RunView] = {}
        self._used: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_id: str) -> RunView:
        """The view of one run, marked as used last (``RunError`` for a run not served)."""
        run = self.runs.get(run_id)
        with self._lock:
            v = self._views.get(run_id)
            if v is None:
                v = self._views[run_id] = RunView(run.folder, summary=run.summary,
                                                  cases=run.cases)
            self._used[run_id] = None
            self._used.move_to_end(run_id)
            newest = self.runs.newest.run_id
            others = [r for r in self._used if r != newest]
            keep = self.graphs - (newest in self._used)
            idle = [self._views[r] for r in (others[:-keep] if keep else others)]
        for other in idle:
            if other.has_graph:
                other.drop_graph()
        return v

    def holding(self) -> list[str]:
        """The runs whose claims graphs are in memory now (oldest used first)."""
        with self._lock:
            return [r for r in self._used if self._views[r].has_graph]
