"""Times of day read place by place: a city whose pharmacies and clinics export dates
while its hospitals keep times, and dates written as datetimes at midnight.

Before, the lockstep engine cut windows by time of day when any claim had one, and left
out every claim without: in a 8,000-person city exported with dates at its pharmacies,
clinics and village clinics, none of the 2 + 2 pharmacy runs and 2 phantom billers was
found. Now each place is read by time of day when half or more of its claims have one,
and by day otherwise.
"""

from __future__ import annotations

import json

import pytest
from generator_support import assert_no_worse, variant_figures

from graphdetect.graph import ClaimsGraph
from graphdetect.run import detect_folder
from graphdetect.synth import generate
from graphdetect.synth.habits import dates_at_small_places, dates_only, midnight_times

PLANT = {"pharmacy_daytime": 2, "pharmacy_after_hours": 1, "phantom_billing": 2,
         "bussed_elderly": 2}


@pytest.mark.parametrize("seed", [3, 4])
def test_places_without_times_are_read_by_day_beside_timed_ones(tmp_path, seed):
    """Every pharmacy and clinic group is found at places that keep dates only, as in the
    city with times everywhere (but a pharmacy's night runs, which a day cannot show), and
    at least as often as with dates everywhere."""
    whole = tmp_path / "whole"
    generate(whole, patients=4000, seed=seed, days=240, plant=PLANT)
    dates_at_small_places(whole, tmp_path / "mixed")
    dates_only(whole, tmp_path / "dates")
    mixed, flagged = variant_figures(tmp_path / "mixed", tmp_path / "mixed-run", PLANT)
    dated, _ = variant_figures(tmp_path / "dates", tmp_path / "dates-run", PLANT)
    timed, _ = variant_figures(whole, tmp_path / "whole-run", PLANT)
    assert flagged == 0
    assert_no_worse(mixed, dated)
    for variant in ("pharmacy_daytime", "phantom_billing", "bussed_elderly"):
        assert mixed[variant] == timed[variant], (variant, mixed, timed)
    assert sum(found for _, found, _, _ in mixed.values()) >= 6


def test_times_at_midnight_are_dates(tmp_path):
    """``2024-03-02 00:00:00`` everywhere is read as ``2024-03-02``: the same cases and
    scores as the city exported with bare dates, byte for byte but for the run's key
    (made from the input files' hashes) in each case's ``case_key``."""
    whole = tmp_path / "whole"
    generate(whole, patients=2000, seed=5, days=150,
             plant={"pharmacy_daytime": 1, "readmission_same_diagnosis": 2})
    midnight_times(whole, tmp_path / "midnight")
    dates_only(whole, tmp_path / "dates")
    assert "00:00:00" in (tmp_path / "midnight" / "claims.csv").read_text().splitlines()[1]
    for name in ("midnight", "dates"):
        detect_folder(tmp_path / name, tmp_path / f"{name}-run")
    cases = [[json.loads(line) | {"case_key": None} for line in
              (tmp_path / f"{name}-run" / "cases.jsonl").read_text().splitlines()]
             for name in ("midnight", "dates")]
    assert cases[0] == cases[1] and len(cases[0]) >= 3
    assert (tmp_path / "midnight-run" / "entity_scores.csv").read_bytes() == \
        (tmp_path / "dates-run" / "entity_scores.csv").read_bytes()


def test_a_place_is_timed_when_half_its_claims_have_a_time():
    import pandas as pd

    from graphdetect.detectors._lockstep_hours import timed_claims, timed_places

    # A: 2 of 4 timed; B: 1 of 3; C: inpatient stays with times do not count
    rows = [("A", "2024-01-01 09:00", "outpatient"), ("A", "2024-01-02 10:00", "outpatient"),
            ("A", "2024-01-03", "outpatient"), ("A", "2024-01-04", "pharmacy"),
            ("B", "2024-01-01 09:00", "outpatient"), ("B", "2024-01-02", "outpatient"),
            ("B", "2024-01-03", "outpatient"),
            ("C", "2024-01-01 09:00", "inpatient"), ("C", "2024-01-02", "outpatient")]
    claims = pd.DataFrame(rows, columns=["institution_id", "start_time", "visit_type"])
    claims["start_time"] = pd.to_datetime(claims["start_time"], format="mixed")
    claims = claims.assign(claim_id=[f"c{k}" for k in range(len(rows))], patient_id="P",
                           total_amount=1.0)
    graph = ClaimsGraph(claims)
    assert dict(zip(graph.index("institution"), timed_places(graph).tolist(), strict=True)) \
        == {"A": True, "B": False, "C": False}
    # B's one timed claim is read by its day; C's timed stay is no lockstep claim
    assert timed_claims(graph).tolist() == [True, True, False, False,
                                            False, False, False, False, False]
