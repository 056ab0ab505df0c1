"""Times stamped to the hour: a settlement system that uploads in hourly batches writes
every swipe from 09:00 to 09:59 as ``09:00:00``.

Before, the lockstep engine cut a day's run where two swipes lay more than four times
its median gap apart (and a minute): a run stamped to the hour has a median gap of
nought, so every hour was cut from the next and each piece held too little of the day
to keep. In six 8,000-person cities stamped so, 8 of the 12 daytime pharmacy runs
(a card every 10-40 minutes from morning to evening) were missed. Now a place's stamp
(:func:`~graphdetect.detectors._lockstep_hours.stamp_seconds`) is the least gap that
cuts, and a window there spans at least its stamp.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from generator_support import assert_no_worse, variant_figures

from graphdetect.detectors._lockstep_hours import stamp_seconds
from graphdetect.graph import ClaimsGraph
from graphdetect.synth import generate
from graphdetect.synth.habits import hour_stamps

PLANT = {"pharmacy_daytime": 2, "pharmacy_after_hours": 1, "phantom_billing": 1,
         "bussed_elderly": 1}


@pytest.mark.parametrize("seed", [1, 4])
def test_hour_stamped_runs_are_found_as_with_times(tmp_path, seed):
    """Every group found in the city with times is found, and nothing else, when every
    time is stamped to the hour."""
    whole = tmp_path / "whole"
    generate(whole, patients=4000, seed=seed, days=240, plant=PLANT)
    hour_stamps(whole, tmp_path / "hours")
    assert "09:00:00" in (tmp_path / "hours" / "claims.csv").read_text()
    hours, flagged = variant_figures(tmp_path / "hours", tmp_path / "hours-run", PLANT)
    timed, _ = variant_figures(whole, tmp_path / "whole-run", PLANT)
    assert flagged == 0
    assert_no_worse(hours, timed)
    assert hours["pharmacy_daytime"][1] == 2


def test_a_place_stamped_to_the_hour_or_the_quarter():
    """Nine in ten of a place's times on the stamp make it its stamp; times to the
    second, or a few on the hour by chance, make none."""
    rng = np.random.default_rng(0)
    day = pd.Timestamp("2024-05-06 08:00")
    seconds = rng.integers(0, 10 * 3600, 200)
    places = {"HOURS": seconds // 3600 * 3600, "QUARTERS": seconds // 900 * 900,
              "SECONDS": seconds, "MOSTLY": np.where(np.arange(200) < 170,
                                                     seconds // 3600 * 3600, seconds)}
    rows = [(f"{p}{i}", f"P{i}", p, day + pd.Timedelta(seconds=int(s)))
            for p, ts in places.items() for i, s in enumerate(ts)]
    claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "institution_id",
                                         "start_time"]).assign(visit_type="pharmacy",
                                                               total_amount=50.0)
    g = ClaimsGraph(claims)
    assert dict(zip(g.index("institution"), stamp_seconds(g).tolist(), strict=True)) == \
        {"HOURS": 3600, "MOSTLY": 0, "QUARTERS": 900, "SECONDS": 0}
