from __future__ import annotations

import numpy as np
import pytest
from conftest import good_row, write_csv

from graphdetect import ParameterError, read_folder
from graphdetect.graph import KINDS, ClaimsGraph


@pytest.fixture
def graph(folder) -> ClaimsGraph:
    rows = [good_row(i, start_time=f"2024-03-{1 + i % 5:02d} {8 + i % 9:02d}:00:00",
                     card_id=f"K{i % 7}", terminal_id=f"T{i % 2}") for i in range(1, 61)]
    rows += [good_row(100 + i, patient_id=f"Q{i}", institution_id="HUB", doctor_id="DHUB")
             for i in range(80)]
    write_csv(folder / "claims.csv", rows)
    return ClaimsGraph.from_data(read_folder(folder))


def test_dense_ids_and_membership(graph):
    n = len(graph)
    for kind in KINDS:
        codes = graph.codes(kind)
        assert codes.shape == (n,)
        assert codes.max() < graph.n(kind)
        m = graph.members(kind)
        assert m.shape == (graph.n(kind), n)
        assert m.nnz == int((codes >= 0).sum())
    assert graph.members("patient").nnz == n
    assert list(graph.index("patient")) == sorted(graph.index("patient"))


def test_seconds_and_days_without_a_copy_of_the_times(graph):
    """The reader holds start_time in seconds: graph.seconds is that column seen as
    integers, read-only, and the days follow from it."""
    start = graph.claims["start_time"].to_numpy()
    assert np.shares_memory(graph.seconds, start)
    assert not graph.seconds.flags.writeable
    assert (graph.seconds == start.astype(np.int64)).all()
    assert (graph.day == start.astype("datetime64[D]").astype(np.int64)).all()


@pytest.mark.parametrize("rows, cols", [("patient", "doctor"), ("patient", "institution"),
                                        ("card", "terminal")])
def test_incidence_counts_claims(graph, rows, cols):
    m = graph.incidence(rows, cols)
    assert m.shape == (graph.n(rows), graph.n(cols))
    both = (graph.codes(rows) >= 0) & (graph.codes(cols) >= 0)
    assert m.sum() == both.sum()


def test_bucket_incidence_is_per_entity_day(graph):
    m, pairs = graph.bucket_incidence("patient", "institution")
    assert m.shape == (graph.n("patient"), len(pairs))
    assert m.sum() == len(graph)
    keys = {(int(a), int(b)) for a, b in pairs}
    assert len(keys) == len(pairs)
    expect = {(int(i), int(d)) for i, d in zip(graph.codes("institution"), graph.day, strict=True)}
    assert keys == expect


def test_claims_of_and_sessions(graph):
    rows = graph.claims_of("patient", "Q3")
    assert graph.claims["claim_id"].iloc[rows].tolist() == ["C103"]
    with pytest.raises(KeyError):
        graph.claims_of("patient", "nobody")
    s = graph.sessions(by="terminal", gap_seconds=3600)
    assert (s >= 0).all()
    same_terminal_day = graph.claims.groupby([graph.codes("terminal"), graph.day]).ngroups
    assert len(np.unique(s)) >= same_terminal_day


def test_ego_network_caps_hubs_and_reports_hidden(graph):
    G = graph.ego_network("institution", "HUB", max_neighbors=10)
    assert G.number_of_nodes() == 11
    # 80 patients, the hub doctor and one terminal
    assert G.nodes["institution:HUB"]["hidden"] == 82 - 10
    assert G.graph["hidden"] == 72
    assert all(d["weight"] >= 1 for _, _, d in G.edges(data=True))
    G2 = graph.ego_network("patient", "Q3", radius=2, max_neighbors=5)
    assert "institution:HUB" in G2 and G2.graph["hidden"] > 0
    with pytest.raises(ParameterError, match="'max_neighbors' parameter of ego_network"):
        graph.ego_network("patient", "Q3", max_neighbors=0)
    with pytest.raises(ParameterError, match="'kind' parameter"):
        graph.n("ward")


def test_rows_of_looks_among_named_rows_only_when_ids_are_unique(graph):
    """A reader's claim ids are unique: the rows of ids the graph has named are found
    among those rows; any other id makes it look among all claims. Claims made by hand
    may repeat an id: every row holding it is found."""
    import pandas as pd

    everything = graph.claim_id_array.to_pylist()
    named = graph.claim_ids(np.array([4, 1]))
    assert graph.rows_of(named).tolist() == [1, 4]
    assert graph.rows_of(named + named[:1]).tolist() == [1, 4]   # repeats in ids
    other = everything[7]                                          # never named
    assert graph.rows_of([*named, other, "no such claim"]).tolist() == [1, 4, 7]
    assert graph.rows_of([]).tolist() == []
    twice = pd.DataFrame({"claim_id": ["C1", "C2", "C1"], "patient_id": "P1",
                          "institution_id": "H1", "visit_type": "outpatient",
                          "start_time": pd.to_datetime(["2024-01-01"] * 3),
                          "total_amount": 1.0})
    by_hand = ClaimsGraph(twice)
    assert by_hand.claim_ids(np.array([0])) == ["C1"]
    assert by_hand.rows_of(["C1"]).tolist() == [0, 2]


@pytest.mark.parametrize("seed", range(6))
def test_side_table_rows_match_pandas(seed):
    """A side table's first row per id and each wanted id's position among them, from
    one Arrow hash: as pandas' ``duplicated`` and ``get_indexer`` give them, with repeated
    ids, ids the table lacks, and empty sides."""
    import pandas as pd

    from graphdetect.detectors._arrays import _first_rows

    rng = np.random.default_rng(seed)
    pool = [f"P{k}" for k in range(rng.integers(1, 60))]
    ids = pd.Index(rng.choice(pool, rng.integers(0, 80)).tolist(), dtype="str")
    wanted = pd.Index(rng.choice(pool + ["X1", "X2"], rng.integers(0, 50)).tolist(),
                      dtype="str")
    first, at = _first_rows(ids, wanted)
    mine = ~ids.duplicated()
    assert first.tolist() == np.flatnonzero(mine).tolist()
    assert at.tolist() == ids[mine].get_indexer(wanted).tolist()
