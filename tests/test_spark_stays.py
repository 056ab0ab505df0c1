"""The stay detectors' relational steps on Spark (issue 14): the same rows as the embedded
engine's, step by step, and the same bytes out, on generated cities (dates with and
without times of day, with and without side tables) and on stays made by hand.

Shares test_spark's local[2] session and its parity check; like it, skips without PySpark
or Java on a bare machine and fails when CI=true.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import good_row, write_csv
from spark_support import MASTER
from test_spark import both

from graphdetect.engines import embedded, engine_of, open_engine
from graphdetect.engines.embedded import EmbeddedEngine
from graphdetect.graph import ClaimsGraph
from graphdetect.run import detect_folder
from graphdetect.settings import resolve

#: (overlapping_stays, readmissions) parameters the steps are compared under; the last
#: two are split_stay's on data without diagnosis codes (and without doctor ids).
STEPS = [({"min_overlap_days": 1}, {"max_gap_days": 2, "diagnosis_prefix": 0}),
         ({"min_overlap_days": 3}, {"max_gap_days": 0, "diagnosis_prefix": 3}),
         ({"min_overlap_days": 0}, {"max_gap_days": 7, "diagnosis_prefix": 1}),
         ({"min_overlap_days": 1}, {"max_gap_days": 2, "diagnosis_prefix": 0, "same": "doctor"}),
         ({"min_overlap_days": 1}, {"max_gap_days": 2, "diagnosis_prefix": 0,
                                    "same": "nothing"})]



def steps_on_both(data: Path) -> list[tuple]:
    """Per :data:`STEPS`, each step's rows on Spark and on the embedded engine, of the
    same graph (the one the Spark read stage's tables make)."""
    out = []
    with open_engine("spark", master=MASTER) as on_spark:
        claims_data, _ = on_spark.read(data)
        graph = ClaimsGraph.from_data(claims_data)
        for overlap, readmit in STEPS:
            out.append((on_spark.overlapping_stays(graph, **overlap),
                        embedded.overlapping_stays(graph, **overlap)))
            out.append((on_spark.readmissions(graph, **readmit),
                        embedded.readmissions(graph, **readmit)))
    return out


def same_rows(got: list[tuple]) -> None:
    for (a, b), (x, y) in got:
        assert a.dtype == x.dtype == np.int64
        np.testing.assert_array_equal(a, x)
        np.testing.assert_array_equal(b, y)


def test_steps_give_the_same_rows_on_a_generated_city(spark, csv_dir):
    got = steps_on_both(csv_dir)
    same_rows(got)
    overlapping, readmitted = got[0][1], got[1][1]
    assert len(overlapping[0]) >= 2 and len(readmitted[0]) >= 2  # the planted stays
    assert (overlapping[0] < overlapping[1]).all()


def test_generated_city_with_other_stay_settings_is_the_same_on_spark(spark, csv_dir,
                                                                      tmp_path):
    settings = resolve(overrides=["concurrent_stay.min_overlap_days=3",
                                  "split_stay.max_gap_days=5", "split_stay.diagnosis_prefix=3"])
    embedded_run, _ = both(csv_dir, tmp_path, spark, settings=settings)
    assert embedded_run["patterns"]["concurrent_stay"] and embedded_run["patterns"]["split_stay"]


def test_dates_without_times_or_side_tables_are_the_same_on_spark(spark, dates_only,
                                                                  tmp_path):
    same_rows(steps_on_both(dates_only))
    embedded_run, _ = both(dates_only, tmp_path, spark)
    assert embedded_run["claims"]["with_time_of_day"] == 0
    assert embedded_run["patterns"]["concurrent_stay"] and embedded_run["patterns"]["split_stay"]


def stay(i: int, patient: str, place: str, start: str, end: str, dx: str = "I63",
         doctor: str | None = None) -> dict:
    return good_row(i, patient_id=patient, institution_id=place, visit_type="inpatient",
                    start_time=start, end_time=end, diagnosis_code=dx, total_amount="3000",
                    doctor_id=doctor or f"D{i % 4}")


@pytest.fixture
def by_hand(folder) -> Path:
    """Stays whose pairs are known: rows 0-1 and 1-2 overlap at two places (by 5 and 2
    days), 0-2 is a same-day readmission for a diagnosis alike in its first 3 characters,
    4-5 a readmission after 3 days, 5-6 after none but without a diagnosis (by the same
    doctor; 0-2's doctors differ); 7-8 only touch; row 3 is an outpatient visit during
    the stays."""
    write_csv(folder / "claims.csv", [
        stay(1, "P1", "H1", "2024-01-01", "2024-01-10 11:00:00"),
        stay(2, "P1", "H2", "2024-01-05 08:00:00", "2024-01-12"),
        stay(3, "P1", "H1", "2024-01-10 15:30:00", "2024-01-14", dx="I63.1"),
        good_row(4, patient_id="P1", institution_id="H3", start_time="2024-01-07 10:00:00"),
        stay(5, "P2", "H1", "2024-02-01", "2024-02-05", dx="J18"),
        stay(6, "P2", "H1", "2024-02-08", "2024-02-10", dx="J18"),
        stay(7, "P2", "H1", "2024-02-10", "2024-02-12", dx="", doctor="D2"),
        stay(8, "P3", "H1", "2024-03-01", "2024-03-03"),
        stay(9, "P3", "H2", "2024-03-03", "2024-03-06")])
    return folder


def test_steps_give_the_known_rows_on_stays_made_by_hand(spark, by_hand):
    got = steps_on_both(by_hand)
    same_rows(got)
    pairs = {name: [list(zip(*map(np.ndarray.tolist, on_spark), strict=True))
                    for on_spark, _ in got[k::2]] for k, name in enumerate(("lap", "readmit"))}
    assert pairs["lap"] == [[(0, 1), (1, 2)], [(0, 1)], [(0, 1), (1, 2), (7, 8)],
                            [(0, 1), (1, 2)], [(0, 1), (1, 2)]]
    assert pairs["readmit"] == [[], [(0, 2)], [(0, 2), (4, 5)], [(5, 6)], [(0, 2), (5, 6)]]


def test_stays_made_by_hand_are_the_same_on_spark(spark, by_hand, tmp_path):
    embedded_run, _ = both(by_hand, tmp_path, spark, settings=resolve(
        overrides=["split_stay.diagnosis_prefix=3"]))
    assert embedded_run["patterns"] == {"concurrent_stay": 1, "split_stay": 1}


@pytest.mark.parametrize("drop, splits", [(("diagnosis_code",), 1),
                                          (("diagnosis_code", "doctor_id"), 2)])
def test_stays_without_diagnosis_codes_are_the_same_on_spark(spark, by_hand, tmp_path, drop,
                                                            splits):
    """Exported without diagnosis codes, split_stay matches on the doctor (one split),
    and without doctor ids too, on the gap alone (two): the same bytes on both engines."""
    import pandas as pd

    claims = pd.read_csv(by_hand / "claims.csv", dtype=str, keep_default_na=False)
    claims.drop(columns=list(drop)).to_csv(by_hand / "claims.csv", index=False)
    embedded_run, _ = both(by_hand, tmp_path, spark)
    assert embedded_run["patterns"]["split_stay"] == splits


def test_a_spark_run_asks_spark_for_the_steps(spark, by_hand, tmp_path, monkeypatch):
    """The embedded engine's steps are not called on a Spark run; the claims the run kept
    in Spark are let go at its end, and when it fails."""
    def no(*args, **kwargs):
        raise AssertionError("the embedded engine's step ran on a Spark run")

    monkeypatch.setattr(EmbeddedEngine, "overlapping_stays", staticmethod(no))
    monkeypatch.setattr(EmbeddedEngine, "readmissions", staticmethod(no))
    summary = detect_folder(by_hand, tmp_path / "run", engine="spark", master=MASTER)
    assert summary["patterns"]["concurrent_stay"] == 1
    persisted = spark.sparkContext._jsc.sc().getPersistentRDDs()
    assert persisted.size() == 0

    def broken(graph, *args, **kwargs):
        assert engine_of(graph).name == "spark"
        raise RuntimeError("a detector broke")

    monkeypatch.setattr("graphdetect.run._detect", broken)
    with pytest.raises(RuntimeError, match="a detector broke"):
        detect_folder(by_hand, tmp_path / "failed", engine="spark", master=MASTER)
    assert spark.sparkContext._jsc.sc().getPersistentRDDs().size() == 0
    assert not (tmp_path / "failed").exists()


def test_a_graph_outside_a_run_gets_the_embedded_engine(by_hand):
    from graphdetect import read_folder

    assert engine_of(ClaimsGraph.from_data(read_folder(by_hand))).name == "embedded"


def test_icd10_categories_and_other_codes_on_spark(spark, folder):
    """A readmission coded J18.900, then J18.000x001, is one illness on both engines at
    the default prefix (and none on whole codes); one coded 1234567, then 1239999 (a
    local numbering, compared whole), is none."""
    write_csv(folder / "claims.csv", [
        stay(1, "P1", "H1", "2024-01-01", "2024-01-05", dx="J18.900"),
        stay(2, "P1", "H1", "2024-01-06", "2024-01-09", dx="J18.000x001"),
        stay(3, "P2", "H1", "2024-02-01", "2024-02-05", dx="1234567"),
        stay(4, "P2", "H1", "2024-02-06", "2024-02-09", dx="1239999")])
    with open_engine("spark", master=MASTER) as on_spark:
        claims_data, _ = on_spark.read(folder)
        graph = ClaimsGraph.from_data(claims_data)
        for prefix, want in ((3, [(0, 1)]), (0, [])):
            got = on_spark.readmissions(graph, max_gap_days=2, diagnosis_prefix=prefix)
            mine = embedded.readmissions(graph, max_gap_days=2, diagnosis_prefix=prefix)
            same_rows([(got, mine)])
            assert list(zip(*map(np.ndarray.tolist, got), strict=True)) == want
