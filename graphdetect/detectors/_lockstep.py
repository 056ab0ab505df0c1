"""Lockstep on place and time (CopyCatch-style): cards that keep turning up together in the
same short, unusually dense windows at one place.

The engine behind card_pooling and outpatient_gathering. It works in three steps, all on
sorted numpy arrays and one sparse matrix:

1. **Streams.** Outpatient and pharmacy settlements are laid out per *stream*: each
   institution (always), and within it each terminal, operator, doctor and diagnosis
   where the data has them. A swipe belongs to several streams, so a run is found
   whether a place spreads it over several terminals and cashiers or the data has none
   of those columns, and a bus brought in for one complaint stands out in its
   diagnosis's stream from a clinic's busy mornings of other care. An actor stream
   holding all of its place's swipes is the place stream again and is skipped.
2. **Bursts.** Each stream's usual rate at each hour of the day (smoothed over the hours
   beside it, scaled by its day-of-week profile, over the days its place is open) gives
   its usual gap between swipes; two successive swipes belong to one window when their
   gap is under ``usual gap / density``, so a window's length adapts to the place and
   hour. A window holding at least ``min_run_cards`` distinct cards is a burst. Without
   times of day, windows are stream-days, and a burst is a day at least ``density`` times
   the stream's usual count for that weekday.
3. **Groups.** A card × burst matrix ``B``; ``B.T @ B`` counts the cards two bursts share.
   Bursts at one place sharing at least ``min_overlap`` of the smaller one's cards (and 3)
   are linked, camouflage-tolerant: a card need not be in every burst. A connected set of
   bursts on at least ``min_runs`` distinct days is a group; its cards are those seen on
   two or more of its days, its evidence their swipes in its bursts. Bursts wholly in
   their place's shut hours are also linked by any card they share
   (:mod:`._lockstep_nights`): a pharmacy rotating sixty cards ten a night.

Groups are then told apart by :func:`.describe` / :func:`classify` (see there): the
same rule is used by both detectors, so one planted group yields one case of one pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..engines import engine_of
from ..graph import INPATIENT
from ._arrays import (
    cached,
    distinct_counts,
    group_medians,
    sorted_unique,
    stable_order,
)
from ._lockstep_blocks import blocks, components, ranks, trim, upper
from ._lockstep_bursts import (
    find_bursts,
    hour_of_week,
    place_time_order,
    streams,
)
from ._lockstep_facts import classify, describe, facts
from ._lockstep_features import split
from ._lockstep_hours import (
    dated_places,
    place_hours,
    quiet_hour,
    service_day,
    stamp_seconds,
    timed_claims,
)
from ._lockstep_nights import merge, night_sets, shut_windows

__all__ = ["Group", "lockstep_groups", "find_groups", "groups_of", "describe", "facts", "classify",
           "STREAM_KINDS"]

STREAM_KINDS = ("institution", "terminal", "operator", "doctor", "diagnosis")


@dataclass
class Group:
    """One lockstep group at one place.

    ``rows`` are the evidence claims (sorted), ``day`` their days; ``timed`` says whether
    windows were cut by time of day (else they are whole days); ``density`` is the median,
    over the group's bursts, of how many times denser each was than its stream's usual
    traffic at those hours; ``kinds`` the stream kinds whose bursts make up the group.
    """

    place: int
    rows: np.ndarray
    timed: bool
    density: float
    kinds: tuple[str, ...]
    facts: dict | None = field(default=None, repr=False, compare=False)


def lockstep_groups(graph, *, density: float = 2.0, min_run_cards: int = 8,
                    min_runs: int = 3, min_overlap: float = 0.4,
                    min_cards: int = 8) -> list[Group]:
    """The lockstep groups of a graph's outpatient and pharmacy settlements (cached).

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.Timestamp("2024-01-01 22:00")
    >>> rows = [(f"C{n}{k}", f"P{k}", t + pd.Timedelta(days=9 * n, minutes=3 * k))
    ...         for n in range(4) for k in range(10)]
    >>> claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time"]).assign(
    ...     institution_id="PH1", visit_type="pharmacy", total_amount=150.0)
    >>> [(g.place, len(g.rows), g.timed) for g in lockstep_groups(ClaimsGraph(claims))]
    [(0, 40, True)]
    """
    key = (density, min_run_cards, min_runs, min_overlap, min_cards)

    def make() -> list[Group]:
        # the groups from the engine that runs the graph (their facts always here)
        groups = engine_of(graph).lockstep_groups(
            graph, density=density, min_run_cards=min_run_cards, min_runs=min_runs,
            min_overlap=min_overlap, min_cards=min_cards)
        facts(graph, groups)    # both detectors read them: made once, under the cache's lock
        return groups
    return cached(graph, ("lockstep", key), make)


def groups_of(graph, pattern: str, **params) -> list[tuple[Group, dict, list[str]]]:
    """The lockstep groups :func:`classify` gives to ``pattern``, each with its facts and
    the claim ids of its rows (looked up for all of them at once).

    ``params`` are :func:`lockstep_groups`'s; every group goes to exactly one pattern.
    """
    groups = lockstep_groups(graph, **params)
    mine = [(g, f) for g, f in zip(groups, facts(graph, groups), strict=True)
            if classify(f) == pattern]
    if not mine:
        return []
    ends = np.cumsum([len(g.rows) for g, _ in mine]).tolist()
    ids = graph.claim_ids(np.concatenate([g.rows for g, _ in mine]))
    return [(g, f, ids[a:b]) for (g, f), a, b in zip(mine, [0] + ends[:-1], ends, strict=True)]


def find_groups(graph, *, density: float, min_run_cards: int, min_runs: int,
                min_overlap: float, min_cards: int) -> list[Group]:
    """The lockstep groups of a graph, without their facts: the embedded engine's step
    (:meth:`graphdetect.engines.Steps.lockstep_groups`), which the Spark engine runs on
    each bucket of places.

    Every group lies at one place (streams are a place's, or one actor's at a place;
    windows are a stream's; only windows at one place are linked; a place is read by
    time of day or by day as its own claims say, :func:`.timed_places`), so a graph of
    some places' claims gives those places' groups, whatever the other places hold.
    The places read by time of day are worked through first, then those read by day.
    """
    out = []
    for timed in (True, False):
        found = _bursts(graph, density, min_run_cards, timed)
        # the per-row arrays of the streams are gone by now: only the bursts' rows are
        # linked
        if found is not None:
            out += _link(graph, *found, min_runs, min_overlap, min_cards)
    out.sort(key=lambda x: (x.place, int(x.rows[0])))
    return out


def _bursts(graph, density, min_run_cards, timed):
    """Every stream kind's bursts at the places read by time of day (``timed``) or by day
    (:func:`.timed_places`): (rows, burst id per row, kind per burst, density per burst,
    their distinct cards as (burst ids, cards) by burst then card, timed, each place's
    kept claims by hour of day or None untimed), or None when there are none."""
    place = graph.codes("institution")
    dated = dated_places(graph)
    if not (timed or dated.any()):
        return None
    keep = (graph.visit != INPATIENT) & (place >= 0) & (graph.codes("card") >= 0)
    # a timed place's claims with a time of day, or a place read by day's claims
    keep &= timed_claims(graph) if timed else dated[place.clip(min=0)]
    del place
    # positions fit in 32 bits; the per-row arrays below are the engine's largest
    small = np.int32 if len(keep) < 2 ** 31 else np.int64
    rows = np.flatnonzero(keep).astype(small)
    if len(rows) < min_run_cards:
        return None
    # each kept row's place, in row order (read again by every actor kind's streams)
    home = graph.codes("institution")[rows]
    # rows in (place, time, row) order: every stream is a run of one place's rows
    order, place, t = place_time_order(home.astype(np.int64), graph.seconds[rows])
    rows = rows[order]
    # each kept row's position in that order, in row order: an actor kind's streams are
    # sorted from keys read in row order, not gathered in (place, time) order (a random
    # gather per kind)
    position = np.empty(len(rows), small)
    position[order] = np.arange(len(rows), dtype=small)
    del order
    place = place.astype(np.int32)
    # only differences of times are used from here on: seconds since the first swipe's
    # midnight (in 32 bits where they fit)
    day0 = int(t.min()) // 86400
    t -= day0 * 86400
    if int(t.max()) < 2 ** 31:
        t = t.astype(np.int32)
    n_place = graph.n("institution")
    # each place's kept claims by hour of day: those read here when windows are timed
    hours = place_hours(graph) if timed else None
    stamp = stamp_seconds(graph) if timed else None
    if timed:
        # each place's days (and weeks) begin at its quietest hour (:func:`service_day`):
        # a constant per place, so every gap within a stream stays as it was
        t -= quiet_hour(graph)[place].astype(t.dtype)
    day = t // 86400
    new_day = np.ones(len(rows), bool)
    new_day[1:] = (place[1:] != place[:-1]) | (day[1:] != day[:-1])
    del day
    open_days = np.bincount(place[new_day], minlength=n_place)
    del new_day
    # each place's number of positions: ``place`` is sorted, so a search per place does
    whole = np.diff(np.searchsorted(place, np.arange(n_place + 1, dtype=place.dtype)))
    # per position: seconds, hour of the week (worked out once for every stream kind,
    # which gathers them in its own order) and card
    at = (t, hour_of_week(t, (day0 + 3) % 7), graph.codes("card")[rows])
    bursts, kinds, dens = [], [], []
    n_b = 0
    for k, kind in enumerate(STREAM_KINDS):
        stream = streams(graph, kind, keep, home, position, place, whole)
        if stream is None:
            continue
        found = find_bursts(rows, *stream, place, at, open_days, density, timed, min_run_cards,
                            stamp)
        del stream
        if found is None:
            continue
        b_rows, b_id, b_density, p_id, p_card = found
        bursts.append((b_rows, b_id + n_b, p_id + n_b, p_card))
        kinds.append(np.full(len(b_density), k, np.int8))
        dens.append(b_density)
        n_b += len(b_density)
    del keep, home, position, at
    if not n_b:
        return None
    b_rows, b_id, pb, pc = (np.concatenate([b[k] for b in bursts]) for k in range(4))
    return b_rows, b_id, np.concatenate(kinds), np.concatenate(dens), (pb, pc), timed, hours


def _link(graph, b_rows, b_id, b_kind, b_density, pairs, timed, hours, min_runs, min_overlap,
          min_cards) -> list[Group]:
    n_b = len(b_density)
    # the bursts' distinct cards, by burst then card (as the bursts' windows counted them)
    pb, pc = pairs
    # each burst's place, and its day: that of its last row (``b_id`` is ascending)
    last = b_rows[np.searchsorted(b_id, np.arange(n_b, dtype=b_id.dtype), "right") - 1]
    b_place = graph.codes("institution")[last].astype(np.int64)
    b_day = service_day(graph)[last]
    del last
    # one column per (place, card): only bursts at one place are ever compared
    pc_id, n_pc = ranks(b_place[pb] * graph.n("card") + pc)
    # the windows wholly in their place's shut hours, linked by any card they share
    nights = night_sets(graph, shut_windows(graph, hours, b_rows, b_id, b_place, n_b), pb,
                        pc_id, n_pc, b_rows, b_id, b_day, min_runs, min_overlap,
                        min_cards) if timed else (np.zeros(0, np.int64),) * 2
    rows, block = _card_blocks(graph, b_rows, b_id, b_day, pb, pc_id, n_pc, timed,
                               min_runs, min_overlap, min_cards)
    # a set of night runs joins the blocks it holds half of
    rows, block = merge(rows, block, *nights)
    if not len(rows):
        return []
    # every kept row's bursts, for the groups' places, kinds and densities: only the
    # bursts' rows that are kept rows are sorted
    mine = np.zeros(len(graph), bool)
    mine[rows] = True
    ob = np.flatnonzero(mine[b_rows])
    del mine
    ob = ob[stable_order(b_rows[ob])]
    # each kept row's run of bursts: one search among the distinct rows (int64, as the
    # rows searched), not a left and a right one among them all
    sorted_rows = b_rows[ob]
    new = np.ones(len(sorted_rows), bool)
    np.not_equal(sorted_rows[1:], sorted_rows[:-1], out=new[1:])
    first = np.flatnonzero(new)
    count = np.diff(np.append(first, len(sorted_rows)))
    distinct = sorted_rows[first].astype(np.int64)
    del new, sorted_rows
    u = np.searchsorted(distinct, rows).clip(max=len(distinct) - 1)
    first, count = first[u], np.where(distinct[u] == rows, count[u], 0)
    del distinct, u
    at = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
    gb = sorted_unique(np.repeat(block, count) << 32 | b_id[ob[at]])
    start = np.flatnonzero(np.concatenate(([True], block[1:] != block[:-1])))
    n = len(start)
    gi = np.searchsorted(block[start], gb >> 32)
    bursts = gb & 0xFFFFFFFF
    place = b_place[bursts[np.searchsorted(gi, np.arange(n))]].tolist()
    density = group_medians(b_density[bursts], gi, n).tolist()
    gk = sorted_unique(gi << 8 | b_kind[bursts])
    kinds = split([STREAM_KINDS[k] for k in (gk & 0xFF).tolist()], gk >> 8, n)
    out = [Group(p, x, timed, d, tuple(k)) for p, x, d, k in zip(
        place, np.split(rows, start[1:]), density, kinds, strict=True)]
    out.sort(key=lambda x: (x.place, int(x.rows[0])))
    return out


def _card_blocks(graph, b_rows, b_id, b_day, pb, pc_id, n_pc, timed, min_runs, min_overlap,
                 min_cards) -> tuple[np.ndarray, np.ndarray]:
    """The windows linked by the cards they share, cut into blocks (:func:`blocks`,
    trimmed to each day's run when ``timed``): rows and block, by block then row."""
    n_b = len(b_day)
    # overlap is measured on the cards a burst shares with the place's bursts on other
    # days: a busy place's ordinary customers, there once, do not dilute a run's day
    again = distinct_counts(pc_id, b_day[pb], n_pc)[pc_id] >= 2
    size = np.maximum(np.bincount(pb, weights=again, minlength=n_b), 1)
    shared = (np.bincount(pc_id, minlength=n_pc) >= 2)[pc_id]
    # B.T, burst × (place, card), from the pairs already in (burst, card) order
    indptr = np.concatenate(([0], np.cumsum(np.bincount(pb[shared], minlength=n_b))))
    bt = sp.csr_matrix((np.ones(int(indptr[-1]), np.int32), pc_id[shared], indptr),
                       shape=(n_b, n_pc))
    # a link needs at least 3 cards in common
    a, b, common = upper(bt @ bt.T, 3)
    link = common >= np.maximum(min_overlap * np.minimum(size[a], size[b]), 3)
    label = components(n_b, a[link], b[link])
    n_days = distinct_counts(label, b_day, n_b)
    good = n_days[label] >= min_runs
    if not good.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # evidence: the group's rows (once each), then cards seen on two or more of its days
    sel = good[b_id]
    rl = sorted_unique(label[b_id[sel]].astype(np.int64) << 32 | b_rows[sel])
    g, r = rl >> 32, rl & 0xFFFFFFFF
    c = graph.codes("card")[r].astype(np.int64)
    d = service_day(graph)[r]
    d -= d.min()
    # (label, card) runs in rl order are not contiguous; rank them, then count their days
    gc_i, n_gc = ranks(g * graph.n("card") + c)
    core = (distinct_counts(gc_i, d, n_gc) >= 2)[gc_i]
    found = blocks(graph, r[core], g[core], min_cards, min_runs)
    if timed and len(found[0]):
        found = trim(graph, *found)
    # a second pass on each block's own swipes splits what only its others joined
    # (a weekly gathering and a care home's monthly round on the same mornings)
    return blocks(graph, *found, min_cards, min_runs)
