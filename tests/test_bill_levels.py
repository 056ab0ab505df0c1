"""``bill_levels`` on simulated pools: two rings' patients at two bill levels are told
apart, one ring's bills are one level whatever their shape.

Each pool is drawn with its parameters spread over wide ranges (patients, stays each,
the levels' ratio and spreads), never at one planted value.
"""

import numpy as np
import pytest

from graphdetect.detectors._ring_groups import bill_levels


def _ring(rng, n, level, spread, *, stays=(2, 7)):
    pat = np.repeat(np.arange(n), rng.integers(*stays, n))
    return pat, level * np.exp(rng.normal(0, spread, len(pat)))


def _two_rings(rng, apart):
    """Two rings of 10–60 patients whose levels lie ``apart`` (low, high) wider spreads
    apart, spreads 1–12 %, with up to three strangers billed anywhere."""
    s1, s2 = rng.uniform(0.01, 0.12, 2)
    ratio = np.exp(rng.uniform(*apart) * max(s1, s2))
    p1, a1 = _ring(rng, int(rng.integers(10, 61)), 3000.0, s1)
    p2, a2 = _ring(rng, int(rng.integers(10, 61)), 3000.0 * ratio, s2)
    k = int(rng.integers(0, 4))
    pat = np.r_[p1, p2 + p1.max() + 1, np.arange(k) + p1.max() + p2.max() + 2]
    return pat, np.r_[a1, a2, 3000.0 * np.exp(rng.uniform(-1, 1.5, k))]


def _strangers_above(rng, apart):
    """Two rings as :func:`_two_rings`, with four to eight strangers billed 10-170 % above
    both: enough to make a side of their own, so that the widest gap is theirs."""
    pat, amt = _two_rings(rng, apart)
    k = int(rng.integers(4, 9))
    return (np.r_[pat, np.arange(k) + pat.max() + 1],
            np.r_[amt, amt.max() * np.exp(rng.uniform(0.1, 1.0, k))])


def _one_ring(rng, shape):
    n, spread = int(rng.integers(8, 200)), rng.uniform(0.01, 0.5)
    pat, amt = _ring(rng, n, 3000.0, spread, stays=(1, 7))
    if shape == "heavy":      # Student's t with 3 degrees of freedom
        amt = 3000.0 * np.exp(spread * rng.standard_t(3, len(pat)))
    elif shape == "one stay":
        pat = np.arange(len(pat))
    elif shape == "two codes":   # each stay bills one of two codes
        dear = rng.random(len(pat)) < rng.uniform(0.05, 0.5)
        amt = amt * np.where(dear, rng.uniform(1.3, 2.5), 1.0)
    return pat, amt


def test_two_levels_five_or_more_spreads_apart_are_two():
    rng = np.random.default_rng(1)
    for _ in range(200):
        pat, amt = _two_rings(rng, (5.0, 8.0))
        assert bill_levels(pat, amt, min_members=4).max() >= 1


def test_two_levels_three_to_five_spreads_apart_are_mostly_two():
    rng = np.random.default_rng(2)
    told = [bill_levels(*_two_rings(rng, (3.0, 5.0)), min_members=4).max() >= 1
            for _ in range(200)]
    assert np.mean(told) >= 0.7


@pytest.mark.parametrize("apart, least", [((5.0, 8.0), 1.0), ((3.0, 5.0), 0.9)])
def test_strangers_billed_above_both_levels_do_not_hide_them(apart, least):
    """The widest gap may set a few strangers apart from both rings and not be a cut (their
    bills spread too widely to be a level); the next widest is then tried. Measured with
    500 draws: 1.0 and 0.98 told apart (0.90 and 0.75 when only the widest was tried)."""
    rng = np.random.default_rng(3)
    told = [bill_levels(*_strangers_above(rng, apart), min_members=4).max() >= 1
            for _ in range(200)]
    assert np.mean(told) >= least


@pytest.mark.parametrize("shape", ["normal", "heavy", "one stay", "two codes"])
def test_one_ring_is_one_level(shape):
    rng = np.random.default_rng(len(shape))
    split = sum(bill_levels(*_one_ring(rng, shape), min_members=4).any() for _ in range(250))
    assert split <= 2   # of 250 (in 1,000 draws: 2 heavy-tailed, 1 two-code, others none)
