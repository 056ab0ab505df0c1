"""The stay detectors' relational steps on Spark DataFrames.

The same steps as :mod:`graphdetect.engines.embedded` gives (:class:`~graphdetect.engines.
Steps`), on the claims the read stage keeps in Spark (:func:`.read.read`, numbered with
their row in the driver's claims table): a self-join of the inpatient stays on the patient
for the overlapping stays, a window with ``lag`` over each patient's stays at one
institution for the readmissions. What comes back to the driver is the pairs of rows
alone; the detectors assemble their findings from them as on the embedded engine.

Patients, institutions and diagnoses are compared by their ids and codes as text, which
the graph's integer codes stand for one to one; days are the dates of the wall-clock
times, as the graph's days are.
"""

from __future__ import annotations

import numpy as np

from ...detectors._stays import ICD10
from ...graph import INPATIENT

__all__ = ["COLUMNS", "stay_frame", "overlapping_stays", "readmissions"]

#: The claims' columns these steps read (what the read stage keeps in Spark).
COLUMNS = ("patient_id", "institution_id", "visit_type", "start_time", "end_time",
           "diagnosis_code", "doctor_id")


def stay_frame(claims):
    """One row per inpatient claim: ``row``, ``patient``, ``institution``, ``start`` and
    ``end`` (days since 1970-01-01), ``diagnosis`` and ``doctor`` — :func:`graphdetect.
    detectors._stays.stays` on Spark, with the doctor."""
    from pyspark.sql import functions as F

    def day(col: str):
        return F.unix_date(F.to_date(F.col(col)))

    return claims.where(F.col("visit_type") == INPATIENT).select(
        "row", F.col("patient_id").alias("patient"),
        F.col("institution_id").alias("institution"), day("start_time").alias("start"),
        day("end_time").alias("end"), F.col("diagnosis_code").alias("diagnosis"),
        F.col("doctor_id").alias("doctor"))


def overlapping_stays(stays, *, min_overlap_days: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of one patient's stays at two institutions that overlap by at least
    ``min_overlap_days`` days: rows ``(a, b)``, ``a < b``, sorted (a self-join on the
    patient)."""
    from pyspark.sql import functions as F

    a, b = stays.alias("a"), stays.alias("b")
    overlap = F.least("a.end", "b.end") - F.greatest("a.start", "b.start")
    pairs = a.join(b, (F.col("a.patient") == F.col("b.patient"))
                   & (F.col("a.row") < F.col("b.row"))
                   & (F.col("a.institution") != F.col("b.institution"))
                   & (overlap >= min_overlap_days))
    return _rows(pairs.select(F.col("a.row").alias("a"), F.col("b.row").alias("b"))
                 .orderBy("a", "b"))


def readmissions(stays, *, max_gap_days: int, diagnosis_prefix: int,
                 same: str = "diagnosis") -> tuple[np.ndarray, np.ndarray]:
    """Each patient's consecutive stays at one institution (in start, end, row order),
    the later admitted 0..``max_gap_days`` days after the earlier's discharge, with the
    same diagnosis (an ICD-10 code's first ``diagnosis_prefix`` characters when not 0,
    :func:`graphdetect.detectors._stays.diagnosis_keys`), the same
    doctor (``same="doctor"``) or either (``"nothing"``): rows ``(earlier, later)``,
    sorted by the earlier (a window with ``lag``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if same == "diagnosis":
        key = F.col("diagnosis")
        if diagnosis_prefix:    # an ICD-10 code's first characters, another code whole
            key = F.when(key.rlike(ICD10), F.substring(key, 1, diagnosis_prefix)) \
                .otherwise(key)
    else:
        key = F.col("doctor") if same == "doctor" else F.lit("")
    in_order = Window.partitionBy("patient", "institution").orderBy("start", "end", "row")
    s = stays.select("row", "start", key.alias("key"),
                     F.lag("row").over(in_order).alias("earlier"),
                     F.lag("end").over(in_order).alias("discharged"),
                     F.lag(key).over(in_order).alias("earlier_key"))
    gap = F.col("start") - F.col("discharged")
    links = s.where(F.col("earlier").isNotNull() & (gap >= 0) & (gap <= max_gap_days)
                    & F.col("key").isNotNull() & (F.col("key") == F.col("earlier_key")))
    return _rows(links.select("earlier", F.col("row").alias("later")).orderBy("earlier"))


def _rows(pairs) -> tuple[np.ndarray, np.ndarray]:
    """A DataFrame of two row columns, brought to the driver as two int64 arrays."""
    got = pairs.toArrow()
    return tuple(got.column(i).to_numpy().astype(np.int64) for i in range(2))
