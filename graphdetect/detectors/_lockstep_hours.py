"""The hours of a lockstep group's place: when it is all but shut, and what its runs swipe
then.

:func:`off_hours` gives the share of a group's swipes in its place's off hours and in its
night (both detectors score and classify by them). A group's evidence is its cards seen
on two or more of its days (:mod:`._lockstep`): a card a run swipes once could be one of
the place's customers who came by, so it is left out. Not while the place is shut: then
nobody came by, and every card the run swipes is the run's. :func:`shut_companions`
finds those swipes for :func:`._lockstep_facts.describe`, and card_pooling lists them
with its case: a pharmacy that holds forty cards and swipes ten a night, a few of them
often, swipes most of them only once or twice.

The engine's days are the places' own: :func:`place_hours` counts each place's claims
by hour of day, :func:`quiet_hour` finds its quietest, and :func:`service_day` begins
each day there, so that an export in another time zone does not cut a session in two.
Times of day are read place by place (:func:`timed_places`): a city whose pharmacies
export dates while its hospitals keep times has both kinds of place.
"""

from __future__ import annotations

import numpy as np

from ..graph import INPATIENT
from ._arrays import cached, sorted_unique

__all__ = ["off_hours", "shut_companions", "service_day", "quiet_hour", "place_hours",
           "timed_places", "dated_places", "timed_claims", "stamp_seconds", "run_floor"]


def timed_places(graph) -> np.ndarray:
    """Per place, whether the lockstep engine reads its claims by time of day: half or
    more of the claims it reads there (outpatient and pharmacy settlements with a card)
    have one. The others are read by day, their times (if any) left aside; a timed
    place's claims without a time of day are left out. A place's own claims decide, so
    an engine working on some places' claims decides as the whole would.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.to_datetime(["2024-01-01 09:30", "2024-01-02", "2024-01-03", "2024-01-01"],
    ...                    format="mixed")
    >>> g = ClaimsGraph(pd.DataFrame({"claim_id": list("abcd"), "patient_id": "P",
    ...     "institution_id": ["H", "H", "D", "D"], "start_time": t, "total_amount": 1.0,
    ...     "visit_type": "outpatient"}))
    >>> dict(zip(g.index("institution"), timed_places(g).tolist()))
    {'D': False, 'H': True}
    """
    return _timing(graph)[0]


def dated_places(graph) -> np.ndarray:
    """Per place, whether the lockstep engine reads claims there by day: it reads some,
    under half of them with a time of day (:func:`timed_places`)."""
    return _timing(graph)[1]


def _timing(graph) -> tuple[np.ndarray, np.ndarray]:
    def make() -> tuple[np.ndarray, np.ndarray]:
        place, card = graph.codes("institution"), graph.codes("card")
        has_time = graph.claims["has_time"].to_numpy(dtype=bool)
        n = graph.n("institution")
        read, timed = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for a in range(0, len(place), _CHUNK):
            s = slice(a, a + _CHUNK)
            kept = (graph.visit[s] != INPATIENT) & (place[s] >= 0) & (card[s] >= 0)
            read += np.bincount(place[s][kept], minlength=n)
            timed += np.bincount(place[s][kept & has_time[s]], minlength=n)
        by_time = (timed > 0) & (2 * timed >= read)
        return by_time, (read > 0) & ~by_time
    return cached(graph, ("place_timing",), make)


def stamp_seconds(graph) -> np.ndarray:
    """Per place, how coarse its times of day are (int32 seconds, 0 for times to the
    second): the coarsest of an hour, half an hour, a quarter, ten, five minutes or a
    minute that nine in ten or more of the times the lockstep engine reads there are
    multiples of. A settlement system that stamps the hour (09:00:00) puts a morning's
    run of cards at one or two instants: the engine's windows there span at least the
    stamp, the time each instant stands for.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.to_datetime(["2024-01-01 09:00:00", "2024-01-01 10:00:00", "2024-01-01 09:13:07",
    ...                     "2024-01-01 11:00:00"])
    >>> g = ClaimsGraph(pd.DataFrame({"claim_id": list("abcd"), "patient_id": "P",
    ...     "institution_id": ["H", "H", "D", "D"], "start_time": t, "total_amount": 1.0,
    ...     "visit_type": "outpatient"}))
    >>> dict(zip(g.index("institution"), stamp_seconds(g).tolist()))
    {'D': 0, 'H': 3600}
    """
    def make() -> np.ndarray:
        place, card = graph.codes("institution"), graph.codes("card")
        timed = timed_claims(graph)
        n = graph.n("institution")
        read = np.zeros(n, np.int64)
        on = np.zeros((len(_STAMPS), n), np.int64)
        for a in range(0, len(place), _CHUNK):
            s = slice(a, a + _CHUNK)
            kept = timed[s] & (graph.visit[s] != INPATIENT) & (place[s] >= 0) & (card[s] >= 0)
            p, t = place[s][kept], graph.seconds[s][kept]
            read += np.bincount(p, minlength=n)
            # every stamp is whole minutes: only those times are looked at again
            minute = t % 60 == 0
            p, t = p[minute], t[minute]
            for k, stamp in enumerate(_STAMPS):
                on[k] += np.bincount(p if stamp == 60 else p[t % stamp == 0], minlength=n)
        coarse = 10 * on >= 9 * read
        coarse &= read > 0
        # the first (coarsest) stamp each place's times keep to, else 0
        return np.where(coarse.any(axis=0), np.array(_STAMPS)[coarse.argmax(axis=0)],
                        0).astype(np.int32)
    return cached(graph, ("stamp_seconds",), make)


def run_floor(graph, place) -> np.ndarray:
    """The least gap in seconds that cuts a day's swipes at ``place`` into two runs: a
    minute, or the place's stamp (:func:`stamp_seconds`) where it is coarser, so that
    an hour-stamped pharmacy's run from 08:00 to 19:00 stays one run. The engine's cuts
    are four times a group's median gap between same-day swipes, and at least this."""
    return np.maximum(stamp_seconds(graph)[place], 60.0)


def timed_claims(graph) -> np.ndarray:
    """Per claim, whether the lockstep engine reads its time of day: it has one, and its
    place is read by time of day (:func:`timed_places`)."""
    def make() -> np.ndarray:
        has_time = graph.claims["has_time"].to_numpy(dtype=bool)
        if not dated_places(graph).any():
            # every place it reads is timed: the claims' own flags (a place it does not
            # read has no hours, and so no shift of its days, either way)
            return has_time
        place, timed = graph.codes("institution"), timed_places(graph)
        out = has_time.copy()
        for a in range(0, len(place), _CHUNK):
            p = place[a:a + _CHUNK]
            out[a:a + _CHUNK] &= (p >= 0) & timed[p.clip(min=0)]
        return out
    return cached(graph, ("timed_claims",), make)


def service_day(graph) -> np.ndarray:
    """Per claim, its day at its place as the lockstep engine counts days (int32): a
    place's days begin at the first of its quietest hours (:func:`quiet_hour`), not at
    midnight, so that an export in another time zone (UTC: a 07:30 session at 23:30)
    does not cut a morning in two days, nor a night run at midnight. Where the night is
    empty the quietest hour is midnight and the day is the date; claims without a time
    of day keep their date.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:10", "2024-01-02 09:00"])
    >>> g = ClaimsGraph(pd.DataFrame({"claim_id": ["a", "b", "c"], "patient_id": "P",
    ...     "institution_id": "H", "start_time": t, "total_amount": 1.0,
    ...     "visit_type": "outpatient"}))
    >>> (service_day(g) - service_day(g)[0]).tolist()
    [0, 0, 1]
    """
    def make() -> np.ndarray:
        place = graph.codes("institution")
        timed = timed_claims(graph)
        quiet = quiet_hour(graph)
        out = np.empty(len(place), np.int32)
        # a million claims at a time: no claim-sized temporaries beside the graph
        for a in range(0, len(place), _CHUNK):
            p, tm = place[a:a + _CHUNK], timed[a:a + _CHUNK]
            shift = np.where(tm & (p >= 0), quiet[p.clip(min=0)], 0)
            out[a:a + _CHUNK] = (graph.seconds[a:a + _CHUNK] - shift) // 86400
        return out
    return cached(graph, ("service_day",), make)


def quiet_hour(graph) -> np.ndarray:
    """Per place, the first of its quietest hours of the day (:func:`place_hours`), in
    seconds from midnight; 0 for a place without any timed claim."""
    return cached(graph, ("quiet_hour",),
                  lambda: np.argmin(place_hours(graph), axis=1).astype(np.int64) * 3600)


def place_hours(graph) -> np.ndarray:
    """Per place, its claims by hour of day (places × 24), counted on the claims the
    lockstep engine reads (outpatient and pharmacy settlements with a place, a card and
    a time of day), so that an engine working on some places' claims counts the same."""
    def make() -> np.ndarray:
        place, card = graph.codes("institution"), graph.codes("card")
        timed = timed_claims(graph)
        n = graph.n("institution")
        hours = np.zeros(24 * n, np.int64)
        for a in range(0, len(place), _CHUNK):
            s = slice(a, a + _CHUNK)
            kept = np.flatnonzero((graph.visit[s] != INPATIENT) & (place[s] >= 0)
                                  & (card[s] >= 0) & timed[s]) + a
            hours += np.bincount(place[kept].astype(np.int64) * 24
                                 + graph.seconds[kept] % 86400 // 3600, minlength=24 * n)
        return hours.reshape(n, 24)
    return cached(graph, ("place_hours",), make)


#: claims at a time in the per-claim passes above
_CHUNK = 1 << 20
_STAMPS = (3600, 1800, 900, 600, 300, 60)      # coarsest first


def off_hours(graph, rows, gid, pi, here, hours, n, companions) -> list[list]:
    """Per group, the share of its rows in hours its place is otherwise all but shut,
    and the share in the place's night.

    An hour is *off* when the place's other timed claims in it number under 5% of its
    busiest hour (its own opening hours, not a fixed clock); it is *night* when the hours
    either side are off too (not the hour before it opens). None for a group without
    times of day, or whose place has under 50 other timed claims. ``pi`` is each group's
    place (into ``hours``, :func:`._lockstep_features.place_tables`), ``here`` whether
    each row is at its group's place; ``companions``, the (rows, group) of
    :func:`shut_companions`, are not the place's other claims either.
    """
    timed = timed_claims(graph)[rows]
    hour = (graph.seconds[rows] % 86400) // 3600
    mine = np.bincount(gid * 24 + hour, minlength=24 * n).reshape(n, 24)
    own = here & timed
    theirs = np.concatenate((gid[own] * 24 + hour[own], companions[1] * 24
                             + graph.seconds[companions[0]] % 86400 // 3600))
    profile = hours[pi] - np.bincount(theirs, minlength=24 * n).reshape(n, 24)
    off, night = off_and_night(profile)
    size = np.bincount(gid, minlength=n)
    told = (np.bincount(gid[timed], minlength=n) > 0) & (profile.sum(axis=1) >= 50)
    return [[float(x) if ok else None
             for x, ok in zip(((mine * o).sum(axis=1) / size).tolist(), told.tolist(),
                              strict=True)] for o in (off, night)]


def off_and_night(profile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a places' claims by hour of day (rows × 24), the hours it is *off* (under
    5% of its busiest) and *night* (off, with the hours either side off too)."""
    off = profile < 0.05 * profile.max(axis=1)[:, None]
    return off, off & np.roll(off, 1, axis=1) & np.roll(off, -1, axis=1)


def shut_companions(graph, rows, gid, pi, walk, times, hours, cut, n
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The swipes of other cards in each group's runs made while its place is shut:
    (rows, group of each), by group then row.

    The place is *shut* in the hours its claims number under 5% of its busiest hour (the
    *off* hours of :func:`off_hours`), counted on the days without the group's runs,
    whose own swipes would make their hours look open. A day's *run* is the stretch of
    the place's swipes around the group's, cut where a gap is over ``cut``, as
    :func:`._lockstep_blocks.trim` cuts a day. In a run wholly in those hours every card
    swiped is the run's. Outpatient and pharmacy swipes with a card are taken, not those
    that are a group's evidence.

    ``walk``, ``times`` and ``hours`` are those of :func:`._lockstep_features.place_walk`,
    :func:`~._lockstep_features.walk_times` and :func:`~._lockstep_features.place_tables`,
    ``pi`` each group's place in them, ``cut`` each group's gap that cuts its runs, in
    seconds (four times its median gap between same-day swipes, at least
    :func:`run_floor`).
    """
    empty = np.zeros(0, np.int64)
    timed = timed_claims(graph)
    if not timed[rows].any():
        return empty, empty
    day = graph.day[rows].astype(np.int64)
    # each group's days, and its place's timed claims on them (looked up in a table of
    # the places' days, one pass over the places' claims), as (claim, group day) pairs
    occ = sorted_unique(gid << 32 | day)
    og, od = occ >> 32, occ & 0xFFFFFFFF
    first_day = int(od.min())
    days = np.zeros((int(pi.max()) + 1, int(od.max()) - first_day + 1), bool)
    days[pi[og], od - first_day] = True
    w_rows, w_pi = walk
    w_day = times[0] // 86400 - first_day
    on = np.flatnonzero(times[1] & (w_day >= 0) & (w_day < days.shape[1]))
    on = on[days[w_pi[on], w_day[on]]]
    w_rows, w_key = w_rows[on], w_pi[on] << 32 | (w_day[on] + first_day)
    key = pi[og] << 32 | od
    by_key = np.argsort(key, kind="stable")
    a = np.searchsorted(key[by_key], w_key)
    size = np.searchsorted(key[by_key], w_key, "right") - a
    pair_occ = by_key[np.repeat(a - np.cumsum(size) + size, size) + np.arange(int(size.sum()))]
    pair_row = np.repeat(w_rows, size)
    tod = np.repeat(times[0][on], size) % 86400
    # the places' hours on the days without each group's runs; the days whose group
    # swipes all lie in shut hours (every hour from the first to the last)
    profile = hours[pi] - np.bincount(og[pair_occ] * 24 + tod // 3600,
                                      minlength=24 * n).reshape(n, 24)
    shut = off_and_night(profile)[0] & (profile.sum(axis=1) >= 50)[:, None]
    upto = np.zeros((n, 25), np.int64)
    np.cumsum(shut, axis=1, out=upto[:, 1:])
    hour = graph.seconds[rows] % 86400 // 3600
    at = np.searchsorted(occ, gid << 32 | day)
    h0 = np.full(len(occ), 24, np.int64)
    h1 = np.zeros(len(occ), np.int64)
    np.minimum.at(h0, at, hour)
    np.maximum.at(h1, at, hour)
    dark = upto[og, h1 + 1] - upto[og, h0] == h1 - h0 + 1
    if not dark.any():
        return empty, empty
    # those days' swipes in time order, cut into stretches; a run holds a group swipe
    keep = dark[pair_occ]
    r, which = pair_row[keep], pair_occ[keep]
    t = graph.seconds[r]
    o = np.lexsort((r, t, which))
    r, which, t = r[o], which[o], t[o]
    g = og[which]
    new = np.ones(len(r), bool)
    new[1:] = (which[1:] != which[:-1]) | (np.diff(t) > cut[g[1:]])
    stretch = np.cumsum(new) - 1
    own = sorted_unique(gid << 32 | rows.astype(np.int64))
    k = g << 32 | r.astype(np.int64)
    theirs = own[np.searchsorted(own, k).clip(max=len(own) - 1)] == k
    # the runs whose every hour, first swipe to last, is shut (a run may stretch past
    # its group's swipes)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(r)) - 1
    h0, h1 = t[first] % 86400 // 3600, t[last] % 86400 // 3600
    whole = upto[g[first], h1 + 1] - upto[g[first], h0] == h1 - h0 + 1
    run = ((np.bincount(stretch, weights=theirs) > 0) & whole)[stretch]
    card = graph.codes("card")
    take = run & (graph.visit[r] != INPATIENT) & (card[r] >= 0)
    # not another group's evidence (a fragment beside a night run must not take it)
    evidence = np.zeros(len(graph), bool)
    evidence[rows] = True
    take &= ~evidence[r]
    r, g = r[take], g[take]
    # of other cards than the group's own
    cards = sorted_unique(gid << 32 | card[rows])
    k = g << 32 | card[r]
    other = cards[np.searchsorted(cards, k).clip(max=len(cards) - 1)] != k
    kept = sorted_unique(g[other] << 32 | r[other].astype(np.int64))
    return kept & 0xFFFFFFFF, kept >> 32
