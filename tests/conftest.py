from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from generator_support import SMALL, TABLES, read_table
from hypothesis import settings

# Property tests explore new random examples on a developer's machine (where a failure is
# found, then kept in .hypothesis/ and replayed), and the same examples on every CI run,
# so that CI's verdict on a commit does not depend on the draw.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

HEADER = ["claim_id", "patient_id", "institution_id", "doctor_id", "visit_type", "start_time",
          "end_time", "total_amount", "fund_amount", "diagnosis_code", "terminal_id",
          "operator_id", "card_id"]


def good_row(i: int = 1, **over) -> dict:
    row = {"claim_id": f"C{i}", "patient_id": f"P{i % 7}", "institution_id": f"H{i % 3}",
           "doctor_id": f"D{i % 4}", "visit_type": "outpatient",
           "start_time": "2024-03-02 09:15:00", "end_time": "", "total_amount": "120.50",
           "fund_amount": "80", "diagnosis_code": "I10", "terminal_id": "T1",
           "operator_id": "OP1", "card_id": ""}
    row.update(over)
    return row


def write_csv(path: Path, rows: list[dict], *, header=None, encoding="utf-8") -> Path:
    header = header or HEADER
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in (HEADER if header is not HEADER else header)])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture(scope="session")
def csv_dir(tmp_path_factory) -> Path:
    from graphdetect.synth import generate

    out = tmp_path_factory.mktemp("csv")
    generate(out, **SMALL)
    return out


@pytest.fixture(scope="session")
def dates_only(csv_dir, tmp_path_factory) -> Path:
    """The generated city with its times cut to the day, and without its side tables."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    out = tmp_path_factory.mktemp("dates_only")
    header = (csv_dir / "claims.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    claims = pacsv.read_csv(csv_dir / "claims.csv", convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False, column_types={n: pa.string() for n in header}))
    for name in ("start_time", "end_time"):
        at = claims.column_names.index(name)
        claims = claims.set_column(at, name, pc.utf8_slice_codeunits(claims.column(name), 0, 10))
    pacsv.write_csv(claims, out / "claims.csv")
    return out


@pytest.fixture(scope="session")
def parquet_dir(tmp_path_factory) -> Path:
    from graphdetect.synth import generate

    out = tmp_path_factory.mktemp("parquet")
    generate(out, fmt="parquet", **SMALL)
    return out


@pytest.fixture(scope="session")
def tables(csv_dir) -> dict:
    return {name: read_table(csv_dir, name) for name in TABLES}


@pytest.fixture(scope="session")
def truth(csv_dir) -> dict:
    import json

    return json.loads((csv_dir / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> Path:
    """A small planted-data folder (2,000 people, 150 days), made once per session."""
    from graphdetect.synth import generate

    out = tmp_path_factory.mktemp("planted") / "data"
    generate(out, patients=2000, seed=11, days=150)
    return out


@pytest.fixture(scope="session")
def planted_graph(planted):
    from graphdetect import read_folder
    from graphdetect.graph import ClaimsGraph

    return ClaimsGraph.from_data(read_folder(planted))


# Each passes the password policy: 10+ characters, not holding the user name, not common.
PASSWORDS = {"admin": "keeper-of-keys-1", "li": "investigator-secret-1", "rev": "blind-reading-1"}
ROLES = {"admin": "admin", "li": "investigator", "rev": "reviewer"}


@pytest.fixture(scope="session")
def planted_run(planted, tmp_path_factory) -> Path:
    from graphdetect.run import detect_folder

    run = tmp_path_factory.mktemp("planted_run") / "run"
    detect_folder(planted, run)
    return run


@pytest.fixture
def review_db(tmp_path) -> Path:
    from graphdetect.review.store import ReviewStore

    db = tmp_path / "review.sqlite"
    store = ReviewStore(db)
    for name, role in ROLES.items():
        store.add_user(name, role, PASSWORDS[name])
    return db


@pytest.fixture
def make_app(planted_run, review_db, tmp_path):
    from graphdetect.review import create_app

    def make(**config):
        return create_app({"RUN": str(planted_run), "DB": str(review_db),
                           "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False, **config})
    return make


@pytest.fixture
def cases(planted_run) -> list[dict]:
    """The planted run's cases."""
    from graphdetect.run import read_cases

    return read_cases(planted_run)


@pytest.fixture
def ring(cases) -> dict:
    """The planted run's first collusion ring."""
    return next(c for c in cases if c["pattern"] == "collusion_ring")


def add_big_case(run: Path, claims, case_id: str) -> None:
    """Append to a run a card-pooling case holding every claim of ``claims`` (a frame with
    claim_id and patient_id): a network far bigger than any planted case."""
    import json

    big = {"case_id": case_id, "pattern": "card_pooling", "score": 0.99,
           "members": [{"kind": "patient", "id": p, "role": "holder"}
                       for p in sorted(set(claims["patient_id"]))],
           "claim_ids": sorted(claims["claim_id"]), "rules": ["聚敛盗刷"],
           "explanation": "big", "explanation_en": "big", "metrics": {}, "detector": "test"}
    with open(run / "cases.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(big, ensure_ascii=False) + "\n")


def login(client, name: str) -> None:
    res = client.post("/login", data={"username": name, "password": PASSWORDS[name]})
    assert res.status_code == 302, res.data


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every Spark test of the run (tests/spark_support.py
    says when those tests skip or fail)."""
    from spark_support import MASTER

    from graphdetect.engines.spark import spark_session

    with spark_session(MASTER, {"spark.sql.shuffle.partitions": "4"}) as session:
        yield session
