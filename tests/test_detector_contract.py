"""One contract every registered detector must honour (cf. scikit-learn's check_estimator)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from graphdetect import ParameterError
from graphdetect.detectors import REGISTRY, UNITS, Finding
from graphdetect.explain import explain
from graphdetect.graph import ClaimsGraph
from graphdetect.run import CAPABILITIES

NAMES = sorted(REGISTRY)
BAD_VALUES = [-1, "3", None, 10**9 * -1.5]


def test_registry_holds_every_contract_pattern():
    assert {d.pattern.name for d in REGISTRY.values()} >= {
        "collusion_ring", "card_pooling", "concurrent_stay", "split_stay"}


def test_patterns_are_declared_whole():
    prefixes = [d.pattern.prefix for d in REGISTRY.values()]
    assert len(set(prefixes)) == len(prefixes)
    for d in REGISTRY.values():
        p = d.pattern
        assert p.zh and p.en and p.rules and all(p.rules.values())
        assert set(p.needs) <= set(CAPABILITIES), p.name
        # a pattern waits only for registered patterns that wait for nothing themselves
        assert all(a in REGISTRY and not REGISTRY[a].pattern.after for a in p.after), p.name


def test_every_metric_has_labels_in_both_languages_and_a_unit():
    for d in REGISTRY.values():
        for key, (zh, en, unit) in d.pattern.metrics.items():
            assert zh and en and "_" not in en, (d.pattern.name, key)
            assert unit in UNITS, (d.pattern.name, key, unit)
            assert "（元）" not in zh and "(yuan)" not in en, "the unit goes with the value"


@pytest.mark.parametrize("name", NAMES)
def test_returns_findings_with_evidence(planted_graph, name):
    found = REGISTRY[name].func(planted_graph)
    assert isinstance(found, list) and found, f"{name} found nothing on planted data"
    ids = set(planted_graph.claims["claim_id"])
    for f in found:
        assert isinstance(f, Finding)
        assert f.pattern == REGISTRY[name].pattern.name and f.detector == name
        assert 0.0 <= f.score <= 1.0
        assert f.claim_ids and set(f.claim_ids) <= ids
        assert f.members and all(len(m) == 3 for m in f.members)
        assert f.rules and set(f.rules) <= set(REGISTRY[name].pattern.rules)
        assert set(f.metrics) <= set(REGISTRY[name].pattern.metrics), "undeclared metrics"
        assert all(isinstance(v, int | float) or v is None for v in f.metrics.values()), \
            "metrics are numbers"


@pytest.mark.parametrize("name", NAMES)
def test_explanations_name_entities_only_through_the_namer(planted_graph, name):
    """Both languages render, and every entity id in them comes from ``name(kind, id)``."""
    for f in REGISTRY[name].func(planted_graph):
        case = f.to_dict()
        for lang in ("zh", "en"):
            plain = explain(case, lang)
            shown = explain(case, lang, lambda kind, id: f"<{kind}>")
            assert plain and shown and plain != shown
            for kind, id, _ in f.members:
                assert id not in shown, (lang, kind, id, shown)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(planted_graph, name):
    det = REGISTRY[name]
    first = [f.to_dict() for f in det.func(planted_graph)]
    again = [f.to_dict() for f in det.func(planted_graph)]
    assert first == again


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trip(planted_graph, name):
    for f in REGISTRY[name].func(planted_graph):
        back = Finding.from_dict(json.loads(json.dumps(f.to_dict(), ensure_ascii=False)))
        assert back == f


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameters_rejected_with_one_message_shape(planted_graph, name):
    det = REGISTRY[name]
    for param in det.params:
        for bad in BAD_VALUES:
            if det.params[param].check(bad):
                continue
            with pytest.raises(ParameterError) as info:
                det.func(planted_graph, **{param: bad})
            assert str(info.value).startswith(f"The {param!r} parameter of {name} must be ")
            assert str(info.value).endswith(f"; got {bad!r}.")
    with pytest.raises(ParameterError, match="'no_such' parameter"):
        det.func(planted_graph, no_such=1)


@pytest.mark.parametrize("name", NAMES)
def test_empty_input(name):
    claims = pd.DataFrame({
        "claim_id": pd.Series([], dtype=str), "patient_id": pd.Categorical([]),
        "institution_id": pd.Categorical([]), "visit_type": pd.Series([], dtype=str),
        "start_time": pd.Series([], dtype="datetime64[s]"),
        "total_amount": pd.Series([], dtype=float)})
    assert REGISTRY[name].func(ClaimsGraph(claims)) == []


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_documented(name):
    det = REGISTRY[name]
    for key, value in det.defaults().items():
        assert det.params[key].help
        assert det.params[key].check(value), f"{name}.{key} default fails its own check"
