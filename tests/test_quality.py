"""Quality floors on planted data (issue 3), at 20,000 people and two seeds."""

from __future__ import annotations

import pytest

from graphdetect.evaluate import evaluate
from graphdetect.run import detect_folder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[1, 2])
def scored(request, tmp_path_factory):
    from datasets import generate

    root = tmp_path_factory.mktemp(f"quality{request.param}")
    generate(root / "data", patients=20000, seed=request.param)
    detect_folder(root / "data", root / "run")
    return evaluate(root / "data", root / "run")


@pytest.mark.parametrize("pattern", ["collusion_ring", "card_pooling"])
def test_group_recall_and_precision(scored, pattern):
    r = scored["patterns"][pattern]
    assert r["truth"] >= 5
    assert r["recall"] >= 0.9, r
    assert r["precision"] >= 0.8, r


@pytest.mark.parametrize("pattern", ["concurrent_stay", "split_stay"])
def test_stay_rules_found_exactly(scored, pattern):
    r = scored["patterns"][pattern]
    assert r["truth"] >= 5
    assert r["recall"] == 1.0, r
    assert r["precision"] >= 0.95, r


def test_lookalikes_left_alone(scored):
    la = scored["lookalikes"]
    assert set(la["by_kind"]) >= {"dialysis", "nursing_home", "checkup_day", "household"}
    assert la["flagged"] <= 1, la


def test_entity_ranking(scored):
    assert scored["auc"]["institution"] >= 0.95
    assert scored["auc"]["patient"] >= 0.9
