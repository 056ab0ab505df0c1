"""The lockstep groups on Spark (issue 14): places dealt into buckets, each bucket through
the embedded step, give the embedded engine's groups whatever the number of buckets, and
the same bytes out — on a generated city, on dates without times of day, and without the
card, terminal and operator columns; and a Spark run asks Spark, not the embedded
engine, for the lockstep groups and the ring's components and communities.

Shares test_spark's local[2] session and its parity check; like it, skips without PySpark
or Java on a bare machine and fails when CI=true.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spark_support import MASTER, need_spark
from test_spark import both

from graphdetect.detectors._lockstep import find_groups
from graphdetect.engines import open_engine
from graphdetect.engines.embedded import EmbeddedEngine
from graphdetect.engines.spark import lockstep
from graphdetect.graph import ClaimsGraph
from graphdetect.run import detect_folder

need_spark()

#: The lockstep parameters the step is compared under: the defaults, and looser and
#: stricter ones.
PARAMS = [{"density": 2.0, "min_run_cards": 8, "min_runs": 3, "min_overlap": 0.4,
           "min_cards": 8},
          {"density": 1.5, "min_run_cards": 5, "min_runs": 2, "min_overlap": 0.3,
           "min_cards": 5},
          {"density": 3.0, "min_run_cards": 10, "min_runs": 4, "min_overlap": 0.6,
           "min_cards": 10}]


def same_groups(data: Path, buckets=(1, 3, 8)) -> list:
    """Per :data:`PARAMS`, the groups on Spark are the embedded step's on the same graph
    (the one the Spark read stage's tables make): for each number of ``buckets`` under
    the first parameters, for the last number under the others. Returns the embedded
    groups."""
    out = []
    with open_engine("spark", master=MASTER) as on_spark:
        claims_data, _ = on_spark.read(data)
        graph = ClaimsGraph.from_data(claims_data)
        for k, params in enumerate(PARAMS):
            want = find_groups(graph, **params)
            for n in buckets if k == 0 else buckets[-1:]:
                got = lockstep.lockstep_groups(on_spark.claims, graph, buckets=n, **params)
                assert [(g.place, g.timed, g.density, g.kinds) for g in got] == \
                    [(g.place, g.timed, g.density, g.kinds) for g in want], (params, n)
                for a, b in zip(got, want, strict=True):
                    assert a.rows.dtype == b.rows.dtype
                    np.testing.assert_array_equal(a.rows, b.rows)
            out.append(want)
    return out


def test_groups_are_the_same_on_spark_whatever_the_buckets(spark, csv_dir):
    found = same_groups(csv_dir)
    assert len(found[0]) >= 3 and all(g.timed for g in found[0])   # the planted groups
    assert len(found[1]) > len(found[0]) > len(found[2])


def test_dates_without_times_give_the_same_groups_on_spark(spark, dates_only):
    found = same_groups(dates_only, buckets=(1, 5))
    assert found[0] and not any(g.timed for g in found[0])


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    """A generated city without card, terminal and operator columns: cards are their
    holders, and the only streams are the places', their doctors' and diagnoses'. Its stays in bed
    at a month's end are settled there and resumed (the parts of one stay)."""
    from graphdetect.synth import generate

    out = tmp_path_factory.mktemp("bare")
    generate(out, patients=3000, seed=5, days=150, fmt="parquet",
             plant={"pharmacy_daytime": 1, "phantom_billing": 1, "bussed_elderly": 1},
             omit_columns=("card_id", "terminal_id", "operator_id"), settle="month")
    return out


def test_city_without_card_terminal_or_operator_is_the_same_on_spark(spark, bare, tmp_path):
    found = same_groups(bare, buckets=(7,))
    assert found[0] and {k for g in found[0] for k in g.kinds} <= {"institution", "doctor",
                                                                    "diagnosis"}
    embedded_run, _ = both(bare, tmp_path, spark)
    assert embedded_run["patterns"].get("card_pooling")


def test_a_spark_run_asks_spark_for_lockstep_groups_and_communities(spark, csv_dir, tmp_path,
                                                                     monkeypatch):
    def no(*args, **kwargs):
        raise AssertionError("an embedded engine's step ran on a Spark run")

    monkeypatch.setattr(EmbeddedEngine, "lockstep_groups", staticmethod(no))
    monkeypatch.setattr(EmbeddedEngine, "communities", staticmethod(no))
    monkeypatch.setattr(EmbeddedEngine, "components", staticmethod(no))
    summary = detect_folder(csv_dir, tmp_path / "run", engine="spark", master=MASTER)
    assert summary["patterns"]["card_pooling"] and summary["patterns"]["collusion_ring"]
    assert spark.sparkContext._jsc.sc().getPersistentRDDs().size() == 0


def test_buckets_grow_with_the_claims(spark):
    cores = spark.sparkContext.defaultParallelism
    assert lockstep.bucket_count(spark, 1000) == 2 * cores
    assert lockstep.bucket_count(spark, 50 * lockstep.BUCKET_CLAIMS + 1) == 51


def test_a_city_with_dates_at_some_places_gives_the_same_groups_on_spark(spark, tmp_path):
    """Pharmacies and clinics with dates only, hospitals with times: each place is read
    its own way, in whichever bucket it falls."""
    from graphdetect.synth import generate
    from graphdetect.synth.habits import dates_at_small_places

    generate(tmp_path / "whole", patients=3000, seed=6, days=150,
             plant={"pharmacy_daytime": 1, "phantom_billing": 1, "bussed_elderly": 1})
    dates_at_small_places(tmp_path / "whole", tmp_path / "mixed")
    found = same_groups(tmp_path / "mixed", buckets=(4,))
    assert {g.timed for g in found[0]} == {True, False}
