"""card_pooling and outpatient_gathering on generated cities, swept over the parameters the
generator draws (``graphdetect.synth.generate(plant=..., fix=...)``), scored by the real
``detect_folder`` + ``evaluate``: every planted group of the variant must be found.

Small cities (3,000-5,000 people, half a year) keep a case to a few seconds; the
20,000-person city without terminal and operator columns is marked slow.
"""

from __future__ import annotations

import tempfile

import pytest

from graphdetect.evaluate import evaluate
from graphdetect.run import detect_folder


def scored(tmp_path, variant, fix=None, *, patients=4000, seed=0, groups=2, days=180,
           omit=()):
    """Generate a city with ``groups`` planted groups of ``variant``, detect, evaluate."""
    from graphdetect.synth import generate

    data, run = tmp_path / "data", tmp_path / "run"
    generate(data, patients=patients, seed=seed, days=days, fmt="parquet",
             plant={variant: groups}, fix={f"{variant}.{k}": v for k, v in (fix or {}).items()},
             omit_columns=omit)
    detect_folder(data, run)
    return evaluate(data, run)


def assert_all_found(result, variant):
    v = result["variants"][variant]
    assert v["truth"] >= 1
    assert v["found"] == v["truth"], v
    assert v["precision"] == 1.0, v


@pytest.mark.parametrize("gap", [2, 6, 12, 18, 25, 30])
def test_pharmacy_daytime_over_swipe_spacing(tmp_path, gap):
    result = scored(tmp_path, "pharmacy_daytime", {"gap_minutes": gap}, seed=gap)
    assert_all_found(result, "pharmacy_daytime")


@pytest.mark.parametrize("terminals", [2, 3])
@pytest.mark.parametrize("operators", [2, 4])
def test_pharmacy_daytime_over_terminals_and_operators(tmp_path, terminals, operators):
    result = scored(tmp_path, "pharmacy_daytime",
                    {"terminals": terminals, "operators": operators}, seed=10 + terminals)
    assert_all_found(result, "pharmacy_daytime")


@pytest.mark.parametrize("terminals", [1, 2, 3])
@pytest.mark.parametrize("operators", [1, 3])
def test_phantom_billing_over_terminals_and_operators(tmp_path, terminals, operators):
    result = scored(tmp_path, "phantom_billing", {"terminals": terminals, "operators": operators},
                    seed=20 + terminals + operators, patients=3000)
    assert_all_found(result, "phantom_billing")


@pytest.mark.parametrize("gap", [1, 5, 10])
def test_phantom_billing_over_swipe_spacing(tmp_path, gap):
    result = scored(tmp_path, "phantom_billing", {"gap_minutes": gap}, seed=30 + gap,
                    patients=3000)
    assert_all_found(result, "phantom_billing")


@pytest.mark.parametrize("interval", [7, 14, 21])
@pytest.mark.parametrize("people", [12, 30])
def test_bussed_elderly_over_interval_and_size(tmp_path, interval, people):
    result = scored(tmp_path, "bussed_elderly", {"interval_days": interval, "people": people},
                    seed=40 + interval + people, days=240)
    assert_all_found(result, "bussed_elderly")
    assert result["variants"]["bussed_elderly"]["pattern"] == "outpatient_gathering"


@pytest.mark.parametrize("run_size", [10, 25, 40])
def test_pharmacy_after_hours_over_run_size(tmp_path, run_size):
    result = scored(tmp_path, "pharmacy_after_hours", {"run_size": run_size, "holders": 30},
                    seed=50 + run_size)
    assert_all_found(result, "pharmacy_after_hours")


@pytest.mark.parametrize("core_share", [0.0, 0.4, 0.9])
@pytest.mark.parametrize("holders", [30, 60])
def test_pharmacy_after_hours_holds_its_cards_swiped_once(tmp_path, core_share, holders):
    """Small night runs drawn from many held cards, in even rotation or a few of them
    swiped often: nights sharing one or two cards are linked by the shut place, and the
    cards swiped once are the runs' too (found means half the holders in the case). A
    year, so that the runs (at most one night in ten) leave the pharmacy's night hours
    shut."""
    result = scored(tmp_path, "pharmacy_after_hours",
                    {"run_size": 10, "holders": holders, "core_share": core_share},
                    seed=60 + holders + int(10 * core_share), days=365)
    assert_all_found(result, "pharmacy_after_hours")
    assert result["variants"]["pharmacy_after_hours"]["coverage"] >= 0.9


@pytest.mark.slow
def test_pooling_recall_holds_without_terminal_and_operator_columns(tmp_path):
    """A 20,000-person year with every variant, without terminal_id and operator_id."""
    from graphdetect.synth import generate

    data, run = tmp_path / "data", tmp_path / "run"
    generate(data, patients=20000, seed=1, fmt="parquet",
             omit_columns=("terminal_id", "operator_id"))
    detect_folder(data, run)
    result = evaluate(data, run)
    pooling = result["patterns"]["card_pooling"]
    assert pooling["recall"] >= 0.9, pooling
    for variant in ("pharmacy_daytime", "phantom_billing"):
        assert_all_found(result, variant)
    assert result["lookalikes"]["flagged"] == 0, result["lookalikes"]


@pytest.mark.parametrize("parts", [2, 5])
def test_groups_are_local_to_their_place(parts):
    """The Spark engine deals the places into buckets and finds each bucket's groups on
    its own claims (engines/spark/lockstep.py): that is the same as finding them on all
    the claims only because every group lies at one place. Claims split by place into
    ``parts`` graphs give the whole graph's groups. A third of the places export dates
    only: whether a place is read by time of day is its own claims' to say."""
    import numpy as np

    from graphdetect import read_folder
    from graphdetect.detectors._lockstep import find_groups
    from graphdetect.graph import ClaimsGraph
    from graphdetect.synth import generate

    params = {"density": 2.0, "min_run_cards": 8, "min_runs": 3, "min_overlap": 0.4,
              "min_cards": 8}
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, patients=3000, seed=parts, days=150, fmt="parquet",
                 plant={"pharmacy_daytime": 1, "phantom_billing": 1, "bussed_elderly": 1,
                        "pharmacy_after_hours": 1})
        claims = read_folder(tmp).claims
    dated = claims["institution_id"].cat.codes % 3 == parts % 3
    claims["start_time"] = claims["start_time"].where(~dated, claims["start_time"].dt.floor("D"))
    claims.loc[dated, "has_time"] = False
    whole = ClaimsGraph(claims)
    want = find_groups(whole, **params)
    assert len(want) >= 4
    assert {g.timed for g in want} == {True, False}
    place = whole.codes("institution")
    got = []
    for part in range(parts):
        rows = np.flatnonzero(place % parts == part)
        graph = ClaimsGraph(claims.iloc[rows].reset_index(drop=True))
        for g in find_groups(graph, **params):
            g.place = whole.code_of("institution", graph.index("institution")[g.place])
            g.rows = rows[g.rows]
            got.append(g)
    got.sort(key=lambda g: (g.place, int(g.rows[0])))
    assert [(g.place, g.rows.tolist(), g.timed, g.density, g.kinds) for g in got] == \
        [(g.place, g.rows.tolist(), g.timed, g.density, g.kinds) for g in want]


def test_a_city_exported_in_utc_finds_what_it_finds_in_local_time(tmp_path):
    """The same city with every time eight hours earlier (an export in UTC): mornings
    then begin the evening before, night runs in the afternoon. A place's days begin
    at its quietest hour, not at midnight, so every variant and look-alike scores as in
    local time."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from graphdetect.synth import generate

    local, utc = tmp_path / "local", tmp_path / "utc"
    generate(local, patients=20000, seed=1, fmt="parquet")
    utc.mkdir()
    for f in local.iterdir():
        if f.name != "claims.parquet":
            (utc / f.name).write_bytes(f.read_bytes())
    claims = pq.read_table(local / "claims.parquet")
    for col in ("start_time", "end_time"):
        c = claims.column(col)
        hours = pa.scalar(8 * 3600, pa.duration("s")).cast(pa.duration(c.type.unit))
        claims = claims.set_column(claims.schema.get_field_index(col), col,
                                   pc.subtract(c, hours))
    pq.write_table(claims, utc / "claims.parquet")
    scores = []
    for data in (local, utc):
        detect_folder(data, data.with_name(data.name + "-run"))
        e = evaluate(data, data.with_name(data.name + "-run"))
        scores.append(({v: (x["found"], x["cases"], x["cases_right"])
                        for v, x in e["variants"].items()}, e["lookalikes"]["flagged"]))
    assert scores[0] == scores[1]
    assert all(found == truth for (found, _, _), truth in zip(
        scores[0][0].values(), (x["truth"] for x in e["variants"].values()), strict=True))
