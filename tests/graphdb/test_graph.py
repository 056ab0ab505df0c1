"""Load, push, rule queries and neighbourhoods against a real Bolt server (fixtures in
conftest.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations

import pytest

from graphdetect.detectors import REGISTRY
from graphdetect.errors import ParameterError
from graphdetect.neo4j import (
    Neighbourhood,
    co_admissions,
    concurrent_stays,
    run_cases,
    split_stays,
)


# -- load ------------------------------------------------------------------------------
def _ids(*series) -> int:
    return len(set().union(*(set(s.dropna().astype(str)) for s in series)))


def test_load_counts_match_the_data(loaded, data):
    c, report = data.claims, loaded["first"]
    assert report["rows"] == {"read": data.rows_read, "accepted": data.rows_read - 2,
                              "rejected": 2}
    assert report["rejected_by_reason"] == data.reject_counts()
    assert report["loaded"]["claims"] == len(c) and report["batches"] >= 4
    assert report["graph"]["by_label"] == {
        "Patient": _ids(c["patient_id"], data.patients["patient_id"]),
        "Doctor": _ids(c["doctor_id"], data.doctors["doctor_id"]),
        "Institution": _ids(c["institution_id"], data.institutions["institution_id"],
                            data.doctors["institution_id"]),
        "Card": _ids(c["card_id"]), "Terminal": _ids(c["terminal_id"]),
        "Operator": _ids(c["operator_id"]), "Claim": len(c), "Case": 0,
    }
    n = len(c)
    assert report["graph"]["by_type"] == {
        "MADE": n, "AT": n, "WITH_CARD": n, "BY": int(c["doctor_id"].notna().sum()),
        "ON": int(c["terminal_id"].notna().sum()), "RUN_BY": int(c["operator_id"].notna().sum()),
        "WORKS_AT": int(data.doctors["institution_id"].notna().sum()),
        "IN_CASE": 0, "EVIDENCE": 0,
    }
    assert report["graph"]["nodes"] == sum(report["graph"]["by_label"].values())


def test_load_twice_gives_the_same_graph(loaded):
    assert loaded["second"]["graph"] == loaded["first"]["graph"]
    assert loaded["after_second_push"] == loaded["after_push"]
    assert loaded["pushed_again"]["members"] == loaded["pushed"]["members"]


def test_push_writes_the_cases_of_cases_jsonl(loaded, conn, run):
    want = [json.loads(line) for line in (run / "cases.jsonl").read_text().splitlines()]
    run_id = json.loads((run / "summary.json").read_text())["run_id"]
    assert len(want) >= 4 and loaded["pushed"]["cases"] == len(want)
    got = {c["case_id"]: c for c in run_cases(conn, run_id)}
    assert sorted(got) == sorted(c["case_id"] for c in want)
    for case in want:
        mine = got[case["case_id"]]
        assert (mine["pattern"], mine["score"], mine["rules"], mine["explanation"]) == \
            (case["pattern"], case["score"], case["rules"], case["explanation"])
        assert mine["claim_ids"] == sorted(case["claim_ids"])
        assert [(m["kind"], m["id"], m["role"]) for m in mine["members"]] == \
            sorted({(m["kind"], m["id"], m["role"]) for m in case["members"]})
    links = sum(len({(m["kind"], m["id"], m["role"]) for m in c["members"]}) for c in want)
    evidence = sum(len(set(c["claim_ids"])) for c in want)
    counts = loaded["after_push"]
    assert counts["by_label"]["Case"] == len(want)
    assert counts["by_type"]["IN_CASE"] == links == loaded["pushed"]["members"]["linked"]
    assert counts["by_type"]["EVIDENCE"] == evidence == loaded["pushed"]["evidence"]["linked"]


# -- rule queries ----------------------------------------------------------------------
@pytest.mark.parametrize("params", [{}, {"min_overlap_days": 3}])
def test_concurrent_stay_query_matches_the_detector(conn, graph, sample_graph, params):
    mine = {frozenset(g["claim_ids"]) for g in concurrent_stays(conn, **params)}
    python = {frozenset(f.claim_ids) for f in REGISTRY["concurrent_stay"].func(graph, **params)}
    whole = {frozenset(f.claim_ids)
             for f in REGISTRY["concurrent_stay"].func(sample_graph, **params)}
    assert mine == python == whole
    assert params or len(mine) >= 3


@pytest.mark.parametrize("params", [{}, {"max_gap_days": 6, "diagnosis_prefix": 3},
                                    {"max_gap_days": 0}])
def test_split_stay_query_matches_the_detector(conn, graph, sample_graph, params):
    mine = {tuple(g["stays"]) for g in split_stays(conn, **params)}
    python = {tuple(f.claim_ids) for f in REGISTRY["split_stay"].func(graph, **params)}
    whole = {tuple(f.claim_ids) for f in REGISTRY["split_stay"].func(sample_graph, **params)}
    assert mine == python == whole
    assert params or len(mine) >= 3


@pytest.mark.parametrize("drop, same", [(("diagnosis_code",), "doctor"),
                                        (("diagnosis_code", "doctor_id"), "nothing")])
def test_split_stay_query_without_diagnoses_matches_the_detector(conn, data, drop, same):
    """On data without diagnosis codes (and doctor ids) the detector matches stays on the
    doctor (on nothing but the gap); the query does with ``same``, which it picks by
    itself from what the database's claims carry (here they carry diagnoses)."""
    from graphdetect.graph import ClaimsGraph

    without = ClaimsGraph(data.claims.drop(columns=list(drop)))
    python = {tuple(f.claim_ids) for f in REGISTRY["split_stay"].func(without)}
    mine = {tuple(g["stays"]) for g in split_stays(conn, same=same)}
    assert mine == python and len(mine) >= 3
    assert {tuple(g["stays"]) for g in split_stays(conn)} == {
        tuple(f.claim_ids) for f in REGISTRY["split_stay"].func(ClaimsGraph.from_data(data))}
    with pytest.raises(ParameterError, match="'same' parameter of split_stays"):
        split_stays(conn, same="ward")


def test_co_admission_query_counts_shared_admission_days(conn, data):
    ip = data.claims[data.claims["visit_type"] == "inpatient"]
    days = defaultdict(set)
    for (h, day), group in ip.groupby(["institution_id", ip["start_time"].dt.date],
                                      observed=True):
        people = sorted(set(group["patient_id"].astype(str)))
        if 2 <= len(people) <= 30:
            for a, b in combinations(people, 2):
                days[(a, b, str(h))].add(day.isoformat())
    want = {k: sorted(v) for k, v in days.items() if len(v) >= 2}
    rows = co_admissions(conn, min_occasions=2, limit=100_000)
    assert want and {(r["patient_a"], r["patient_b"], r["institution"]): r["days"]
                     for r in rows} == want
    assert [r["occasions"] for r in rows] == sorted((len(v) for v in want.values()),
                                                    reverse=True)


def test_rule_parameters_are_checked(conn):
    with pytest.raises(ParameterError, match="'min_overlap_days' parameter of concurrent"):
        concurrent_stays(conn, min_overlap_days=0)
    with pytest.raises(ParameterError, match="max_gap_days"):
        split_stays(conn, max_gap_days=-1)


# -- neighbourhoods --------------------------------------------------------------------
def _entities(graph) -> list[tuple[str, str]]:
    c = graph.claims
    stay = c[c["visit_type"] == "inpatient"].iloc[0]
    return [("patient", str(stay["patient_id"])), ("institution", str(stay["institution_id"])),
            ("doctor", str(stay["doctor_id"])), ("card", str(stay["card_id"])),
            ("terminal", str(stay["terminal_id"])), ("operator", str(stay["operator_id"]))]


def _shape(G):
    return (list(G.nodes(data=True)), G.graph,
            {frozenset((a, b)): w for a, b, w in G.edges(data="weight")})


@pytest.mark.parametrize("radius,cap", [(1, 1_000_000), (1, 4), (2, 3)])
def test_ego_network_has_the_shape_of_claims_graph(conn, graph, radius, cap):
    hood = Neighbourhood(conn)
    for kind, id_ in _entities(graph):
        mine = hood.ego_network(kind, id_, radius=radius, max_neighbors=cap)
        assert _shape(mine) == _shape(graph.ego_network(kind, id_, radius=radius,
                                                        max_neighbors=cap)), (kind, id_)
    assert not hood.cards_are_patients


def test_ego_network_errors_and_claims_page(conn, graph):
    hood = Neighbourhood(conn)
    with pytest.raises(KeyError, match="unknown patient 'nobody'"):
        hood.ego_network("patient", "nobody")
    with pytest.raises(ParameterError, match="'kind' parameter"):
        hood.ego_network("village", "V1")
    with pytest.raises(ParameterError, match="max_neighbors"):
        hood.ego_network("patient", "x", max_neighbors=0)
    kind, id_ = _entities(graph)[0]
    rows = graph.claims.iloc[graph.claims_of(kind, id_)]
    page = hood.claims(kind, id_, skip=1, limit=2)
    assert page["total"] == len(rows)
    expected = rows.sort_values(["start_time", "claim_id"])["claim_id"].astype(str).tolist()
    assert [c["claim_id"] for c in page["claims"]] == expected[1:3]
    assert page["claims"][0]["patient_id"] == id_


def test_shared_neighbourhood_from_the_environment(env, loaded, graph):
    hood = Neighbourhood.from_env()
    try:
        assert Neighbourhood.from_env() is hood
        kind, id_ = _entities(graph)[1]
        G = hood.ego_network(kind, id_, max_neighbors=10)
        assert _shape(G) == _shape(graph.ego_network(kind, id_, max_neighbors=10))
    finally:
        hood.close()


def test_split_stay_query_compares_icd10_categories_and_other_codes_whole(conn):
    """As the detector does: a readmission coded J18.900, then J18.000x001 (the insurance
    edition's extension code), is a split at the default prefix and not at 0; one coded
    1234567, then 1239999 (a local numbering), is none. The stays are made inside a
    transaction that is rolled back, so the database is left as it was."""
    from graphdetect.neo4j._cypher import cypher_text

    stays = [["ZP1", "ZA", "J18.900", "2024-01-01", "2024-01-05"],
             ["ZP1", "ZB", "J18.000x001", "2024-01-06", "2024-01-09"],
             ["ZP2", "ZC", "1234567", "2024-02-01", "2024-02-05"],
             ["ZP2", "ZD", "1239999", "2024-02-06", "2024-02-09"]]
    with conn.driver.session(database=conn.config.database) as session:
        tx = session.begin_transaction()
        try:
            tx.run("MERGE (h:Institution {id: 'ZH'}) WITH h UNWIND $rows AS r "
                   "MERGE (p:Patient {id: r[0]}) "
                   "CREATE (p)-[:MADE]->(c:Claim {id: r[1], visit_type: 'inpatient', "
                   "diagnosis_code: r[2], start_day: date(r[3]), end_day: date(r[4])})"
                   "-[:AT]->(h)", rows=stays)
            got = {prefix: [(r["a"], r["b"]) for r in tx.run(
                cypher_text("rule_split_stay"), max_gap_days=2, diagnosis_prefix=prefix,
                same="diagnosis") if r["institution"] == "ZH"] for prefix in (3, 0)}
        finally:
            tx.rollback()
    assert got == {3: [("ZA", "ZB")], 0: []}
