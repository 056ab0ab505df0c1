"""The evidence features of many lockstep groups at once (:mod:`._lockstep_facts`).

Every group's rows are laid end to end: ``rows`` (each group's sorted rows, groups in
order) and ``gid``, the group of each row. A feature is worked out for all groups in a
few passes over that concatenation and over the rows of the groups' places, not by a
loop of numpy calls per group (there are some 1,400 groups at ten million claims). The
results are bit for bit those of numpy calls per group: medians pick the same
elements, shares are counts over counts, float sums stay per group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..graph import OUTPATIENT, PHARMACY
from ._arrays import attribute_codes, group_medians, side_column, sorted_unique
from ._features import birth_years
from ._lockstep_hours import service_day, timed_claims


def pairs(gid: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (group, code) pairs, codes >= 0, by group then code, with their counts.

    >>> [x.tolist() for x in pairs(np.array([1, 0, 1, 1]), np.array([4, -1, 4, 2]))]
    [[1, 1], [2, 4], [1, 2]]
    """
    known = codes >= 0
    g, code = gid[known], codes[known]
    bits = max(int(code.max()).bit_length(), 1) if len(code) else 32
    if len(code) and bits + max(int(g.max()), 1).bit_length() <= 31:
        # both packed in 32 bits, where they fit: twice as fast to sort as 64
        key, n = _runs(np.sort(g.astype(np.int32) << bits | code.astype(np.int32)))
        return (key >> bits).astype(np.int64), (key & ((1 << bits) - 1)).astype(np.int64), n
    key, n = _runs(np.sort(g.astype(np.int64) << 32 | code))
    return key >> 32, key & 0xFFFFFFFF, n


def _runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and their counts (no second sort)."""
    new = np.ones(len(key), bool)
    np.not_equal(key[1:], key[:-1], out=new[1:])
    first = np.flatnonzero(new)
    return key[first], np.diff(np.append(first, len(key)))


def split(values: list, gid: np.ndarray, n: int) -> list[list]:
    """A list in group order cut into one list per group."""
    ends = np.cumsum(np.bincount(gid, minlength=n)).tolist()
    return [values[a:b] for a, b in zip([0] + ends[:-1], ends, strict=True)]


def ids(graph, kind: str, gid: np.ndarray, codes: np.ndarray, n: int) -> list[list[str]]:
    """Per group, its distinct ids of ``kind`` (sorted), by one lookup for all groups."""
    g, code, _ = pairs(gid, codes)
    names = graph.index(kind).take(code).tolist()
    return [sorted(str(x) for x in mine) for mine in split(names, g, n)]


def commonest(graph, kind: str, gid: np.ndarray, codes: np.ndarray,
              n: int) -> list[list[tuple[str, int]]]:
    """Per group, :func:`._arrays.commonest` of its codes (commonest first, ties by id)."""
    g, code, count = pairs(gid, codes)
    order = np.lexsort((code, -count, g))
    names = graph.index(kind).take(code[order]).tolist()
    return split([(str(x), c) for x, c in zip(names, count[order].tolist(), strict=True)],
                 g[order], n)


def place_walk(graph, places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of some places, each place's in row order, and each row's place (its
    position in ``places``): one gather, read by every feature that needs whole places."""
    m = graph.members("institution")
    start, stop = m.indptr[places], m.indptr[places + 1]
    size = stop - start
    pi = np.repeat(np.arange(len(places), dtype=np.int64), size)
    rows = m.indices[np.repeat(start - np.cumsum(size) + size, size) + np.arange(int(size.sum()))]
    return rows, pi


def walk_times(graph, walk: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The seconds of each claim of a :func:`place_walk`, and whether it has a time of
    day: one gather, read by the features that need the places' hours and days."""
    rows = walk[0]
    return graph.seconds[rows], timed_claims(graph)[rows]


def place_tables(graph, walk: tuple[np.ndarray, np.ndarray], times, n_places: int):
    """Per place of a :func:`place_walk`, its timed claims by hour of day, and the
    distinct (place, patient) keys with their claim counts there. ``times`` are the
    walk's :func:`walk_times`."""
    rows, pi = walk
    seconds, timed = times
    hours = np.bincount(pi[timed] * 24 + (seconds[timed] % 86400) // 3600,
                        minlength=24 * n_places).reshape(-1, 24)
    patient = graph.codes("patient")[rows]
    return hours, _place_keys(pi, patient, n_places)


def _place_keys(pi: np.ndarray, code: np.ndarray, n_places: int) -> tuple[np.ndarray, ...]:
    """The distinct ``pi << 32 | code`` with their counts (:func:`_runs` of them sorted),
    from a sort of both packed in 32 bits where they fit (twice as fast as 64).

    >>> [x.tolist() for x in _place_keys(np.array([1, 0, 1]), np.array([5, 7, 5]), 2)]
    [[7, 4294967301], [1, 2]]
    """
    bits = max(int(code.max()).bit_length(), 1) if len(code) else 1
    if not len(code) or int(code.min()) < 0 or (n_places - 1).bit_length() + bits > 31:
        return _runs(np.sort(pi << 32 | code))
    key, n = _runs(np.sort(pi.astype(np.int32) << bits | code.astype(np.int32)))
    out = (key >> bits).astype(np.int64) << 32
    out |= key & ((1 << bits) - 1)
    return out, n


def strangers(graph, rows, gid, pi, here, people, n, prefix: int = 9) -> list:
    """Per group, the share of its holders from townships its place otherwise hardly serves.

    A township (the first ``prefix`` characters of the region code) is *strange* to a
    place when it sends under a tenth of the patients its top township sends, counting
    the place's patients less those all of whose claims there are the group's: a village
    pharmacy's customers are its own township's, a city hospital's come from everywhere.
    None without region codes, with under 20 other patients or no holder's township
    known. ``people`` are the distinct (place, patient) keys of :func:`place_tables` with
    their claim counts; ``pi`` and ``here`` as for :func:`._lockstep_hours.off_hours`.
    """
    town = attribute_codes(graph, "patient", "region_code", prefix)
    if town is None or not (town >= 0).any():     # no township known: every count is 0
        return [None] * n
    keys, counts = people
    n_town = int(town.max()) + 1
    # the places' patients per township, sparse: (place, township, patients)
    bp, bt, bn = pairs(keys >> 32, town[keys & 0xFFFFFFFF])
    # the patients all of whose claims at the place are the group's own
    g, patient, mine = pairs(gid[here], graph.codes("patient")[rows[here]])
    gone = counts[np.searchsorted(keys, pi[g] << 32 | patient)] == mine
    g, t = g[gone], town[patient[gone]]
    lg, lt, ln = pairs(g[t >= 0], t[t >= 0])
    # the holders' townships
    hg, hp, _ = pairs(gid, graph.codes("patient")[rows])
    ht = town[hp]
    hg, ht = hg[ht >= 0], ht[ht >= 0]
    out = np.full(n, np.nan)
    # dense per-group rows of township counts, a bounded number of groups at a time
    step = max(1, 2 ** 22 // n_town)
    for a in range(0, n, step):
        b = min(a + step, n)
        count = np.zeros((b - a, n_town), np.int64)
        first = np.searchsorted(bp, pi[a:b])
        size = np.searchsorted(bp, pi[a:b], "right") - first
        at = np.repeat(first - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
        count[np.repeat(np.arange(b - a), size), bt[at]] = bn[at]
        sel = (lg >= a) & (lg < b)
        count[lg[sel] - a, lt[sel]] -= ln[sel]
        sel = (hg >= a) & (hg < b)
        far = count[hg[sel] - a, ht[sel]] < 0.1 * count.max(axis=1)[hg[sel] - a]
        held = np.bincount(hg[sel] - a, minlength=b - a)
        ok = (count.sum(axis=1) >= 20) & (held > 0)
        out[a:b][ok] = (np.bincount(hg[sel] - a, weights=far, minlength=b - a)[ok]
                        / held[ok])
    return [None if np.isnan(x) else x for x in out.tolist()]


def calendar(graph, rows, gid, pi, walk, n) -> tuple[np.ndarray, ...]:
    """Per group, how treatment-like its holders' own calendar at its place is, over all
    of their outpatient and pharmacy claims there (not only the group's rows).

    Per card: its visit days there, those days per week over its own first to last visit
    there, and the share of them on its own three commonest weekdays. Returns per group
    the medians over its cards of the three (zeros for a group with none): a dialysis
    patient comes about three times a week on the same weekdays all period long,
    whichever of those sessions a group happened to pick up. Then, per group, the share
    of its rows on a day of one of their card's *courses* there: :data:`COURSE_DAYS` or
    more visit days in a row, each the day after the one before (or the Monday after a
    Friday or a Saturday), within :data:`COURSE_SPAN` days: physiotherapy or infusions,
    daily for a few days to a few weeks, whose patients come and go on their own
    calendars, so that a day's sessions share many cards with the next few days'.
    ``pi`` is each group's place in ``walk``, the :func:`place_walk` of the places.

    Days are the place's own (:func:`._lockstep_hours.service_day`): an export in
    another time zone (UTC: a 07:30 session at 23:30) does not cut a session in two.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> mwf = [d for d in pd.date_range("2024-01-01", periods=84) if d.day_of_week in (0, 2, 4)]
    >>> claims = pd.DataFrame([(f"C{k}{i}", f"P{k}", t + pd.Timedelta(hours=8))
    ...     for k in range(3) for i, t in enumerate(mwf)],
    ...     columns=["claim_id", "patient_id", "start_time"]).assign(
    ...     institution_id="H1", visit_type="outpatient", total_amount=420.0)
    >>> g = ClaimsGraph(claims)
    >>> walk = place_walk(g, np.zeros(1, np.int64))
    >>> [x.round(2).tolist() for x in calendar(g, np.arange(9), np.zeros(9, np.int64),
    ...                                        np.zeros(1, np.int64), walk, 1)]
    [[36.0], [3.07], [1.0], [0.0]]
    """
    g, card, _ = pairs(gid, graph.codes("card")[rows])
    # each (group, card) pair's rows: its card's outpatient and pharmacy rows among its
    # place's, matched by (place, card) (no index of every card's claims)
    at, where = walk
    c = graph.codes("card")[at]
    v = graph.visit[at]
    wanted = np.zeros(graph.n("card"), bool)
    wanted[card] = True
    sel = np.flatnonzero((c >= 0) & wanted[c] & ((v == OUTPATIENT) | (v == PHARMACY)))
    key = pi[g] << 32 | card
    order = np.argsort(key)
    # each claim's run of equal keys: one search among the distinct keys (not a left and
    # a right search among all of them)
    key, count = _runs(key[order])
    found = where[sel] << 32 | c[sel]
    if len(key):
        u = np.searchsorted(key, found).clip(max=len(key) - 1)
        lo = (np.cumsum(count) - count)[u]
        size = np.where(key[u] == found, count[u], 0)
        del u
    else:
        lo = size = np.zeros(len(found), np.int64)
    pair = order[np.repeat(lo - np.cumsum(size) + size, size) + np.arange(int(size.sum()))]
    day = service_day(graph)[at[np.repeat(sel, size)]]
    card_day = sorted_unique(pair << 32 | day)
    pair, day = card_day >> 32, card_day & 0xFFFFFFFF
    first = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
    n_days = np.diff(np.append(first, len(pair)))
    span = day[first + n_days - 1] - day[first] + 1
    per_week = n_days / np.maximum(span / 7.0, 1.0)
    which = np.repeat(np.arange(len(first)), n_days)
    dow = np.bincount(which * 7 + (day + 3) % 7, minlength=7 * len(first)).reshape(-1, 7)
    top3 = np.sort(dow, axis=1)[:, -3:].sum(axis=1) / n_days
    owner = g[pair[first]]
    medians = tuple(np.nan_to_num(group_medians(x, owner, n))
                    for x in (n_days, per_week, top3))
    return (*medians, _course_share(graph, rows, gid, g, card, pair, day, n))


#: A course (:func:`calendar`): this many visit days or more in a row, all within
#: :data:`COURSE_SPAN` days.
COURSE_DAYS, COURSE_SPAN = 3, 28


def _course_share(graph, rows, gid, g, card, pair, day, n) -> np.ndarray:
    """Per group, the share of its rows on a day of a course of their card there.
    ``g`` and ``card`` are the distinct (group, card) pairs; ``pair`` and ``day`` each
    pair's visit days there, by pair then day."""
    if not len(day):
        return np.zeros(n)
    # the next day, or the Monday after a Friday (weekday 4) or a Saturday (5)
    gap = np.diff(day)
    weekday = (day[:-1] + 3) % 7
    cut = np.ones(len(day), bool)
    cut[1:] = (pair[1:] != pair[:-1]) | ((gap > 1) & ~((weekday >= 4) & (weekday + gap == 7)))
    start = np.flatnonzero(cut)
    length = np.diff(np.append(start, len(day)))
    span = day[start + length - 1] - day[start] + 1
    course = np.repeat((length >= COURSE_DAYS) & (span <= COURSE_SPAN), length)
    # each row's (pair, day) among the pairs' visit days
    at = np.searchsorted(g << 32 | card, gid << 32 | graph.codes("card")[rows])
    key = at.astype(np.int64) << 32 | service_day(graph)[rows]
    known = pair << 32 | day
    pos = np.searchsorted(known, key).clip(max=len(day) - 1)
    hit = (known[pos] == key) & course[pos]
    return np.bincount(gid, weights=hit, minlength=n) / np.maximum(
        np.bincount(gid, minlength=n), 1)


def shared(graph, gid, patient, holders, n, column: str) -> list:
    """Per group, the largest share of its holders at one address (or sharing ``column``);
    None without the column or with no holder's value known. ``gid`` and ``patient`` are
    the distinct (group, patient) pairs, ``holders`` each group's count of them."""
    col = side_column(graph, "patient", column)
    if col is None:
        return [None] * n
    # the holders' values only (not every patient's), equal as text, as attribute_codes
    # takes them
    mine = col.iloc[patient]
    known = mine.notna().to_numpy()
    codes = np.full(len(patient), -1, np.int64)
    codes[known] = pd.factorize(mine[known].astype(str))[0]
    g, _, same = pairs(gid, codes)
    most = np.zeros(n, np.int64)
    np.maximum.at(most, g, same)
    return [float(a / b) if a else None for a, b in zip(most.tolist(), holders.tolist(),
                                                         strict=True)]


def elderly(graph, gid, patient, first_day: np.ndarray, n) -> list:
    """Per group, the share of its patients aged 60 or over on its first day, by the first
    birth column (date, then year) giving any of theirs; None without births. ``gid`` and
    ``patient`` are the distinct (group, patient) pairs."""
    year = 1970 + first_day / 365.2425
    out, left = [None] * n, np.ones(n, bool)
    for column in birth_years(graph):
        if column is None:
            continue
        years = column[patient]
        known = ~np.isnan(years) & left[gid]
        g = gid[known]
        count = np.bincount(g, minlength=n)
        old = np.bincount(g, weights=year[g] - years[known] >= 60, minlength=n)
        for k in np.flatnonzero(count).tolist():
            out[k] = float(old[k] / count[k])
        left &= count == 0
    return out
