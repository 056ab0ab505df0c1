"""The first stage of the lockstep engine: streams of swipes and their dense windows.

A *stream* is a place's settlements, or one actor's (terminal, operator, doctor) or one
diagnosis's there, in time order; a *window* (burst) is a stretch of it far denser than
the stream's own usual traffic at that hour and weekday (whole days against the weekday
rate without times).
:mod:`._lockstep` links the windows into groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._arrays import sorted_unique, stable_order
from ._stays import diagnosis_keys

_MAX_GAP_S = 3600          # a window never bridges an hour without swipes


def place_time_order(place: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The stable order of rows by (place, time), with place and time in that order: one
    sort of both packed with the position when they fit in 62 bits, else a stable sort
    by time, then by place.

    >>> [x.tolist() for x in place_time_order(np.array([1, 0, 1]), np.array([5, 7, 6]))]
    [[1, 0, 2], [0, 1, 1], [7, 5, 6]]
    """
    t0 = int(t.min())
    bits = (int(t.max()) - t0).bit_length()
    if bits + int(place.max()).bit_length() + (len(t) - 1).bit_length() <= 62:
        order, key = sorted_key_order(place << bits | (t - t0))
        return order, key >> bits, (key & ((1 << bits) - 1)) + t0
    by_time = stable_order(t)
    order = by_time[stable_order(place[by_time])]
    return order, place[order], t[order]


def sorted_key_order(key: np.ndarray, *, own: bool = False,
                     at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``stable_order(key)`` and the sorted keys, from one sort of the packed pair; with
    ``own``, an int64 ``key`` the caller no longer needs is reused (overwritten) for it.

    With ``at`` (distinct non-negative integers, one per key), the order is that of
    ``at`` rather than of the keys' places: ``at`` sorted by (key, at), as
    ``at[np.lexsort((at, key))]``.

    >>> [x.tolist() for x in sorted_key_order(np.array([5, 2, 5]), at=np.array([0, 9, 4]))]
    [[9, 0, 4], [2, 5, 5]]
    """
    n = len(key)
    lo = int(key.min())
    bits = max(int(at.max() if at is not None else n - 1).bit_length(), 1)
    if (int(key.max()) - lo).bit_length() + bits > 62:
        o = np.argsort(key, kind="stable") if at is None else np.lexsort((at, key))
        return (o if at is None else at[o]), key[o]
    # one array, shifted, packed and sorted in place
    packed = key if own and key.dtype == np.int64 else key.astype(np.int64)
    packed -= lo
    packed <<= bits
    packed |= np.arange(n, dtype=np.int64) if at is None else at
    packed.sort()
    order = packed & ((1 << bits) - 1)
    packed >>= bits
    packed += lo
    return order, packed


def streams(graph, kind: str, keep, home, position, place,
            whole) -> tuple[np.ndarray | None, np.ndarray] | None:
    """The rows of ``kind``'s streams in (stream, time) order: (positions into the rows
    in (place, time) order, or None for all of them in order, and the stream number per
    position), or None when the kind adds no stream of its own.

    ``keep`` marks the rows looked at, ``home`` gives each (in row order) its place and
    ``position`` its position in (place, time) order, ``place`` the place at each
    position. The place streams are the positions themselves; one sort of a packed key,
    read in row order, orders an actor kind's positions by stream.
    """
    if kind == "institution":
        return None, place
    code, n_kind = stream_codes(graph, kind)
    code = code[keep]
    known = code >= 0
    # positions and stream numbers fit in 32 bits (the per-row arrays are the largest)
    small = position.dtype
    key = home.astype(np.int64)
    key *= n_kind + 1
    key += code
    if known.all():
        at = position
    else:
        if not known.any():
            return None
        key, at = key[known], position[known]
    del code, known
    order, key = sorted_key_order(key, own=True, at=at)
    order = order.astype(small)
    del at
    start = np.ones(len(key), bool)
    start[1:] = key[1:] != key[:-1]
    first = np.flatnonzero(start)
    size = np.diff(np.append(first, len(key)))
    # an actor holding all of its place's swipes is the place stream again
    new = size < whole[place[order[first]]]
    if not new.any():
        return None
    del key, start
    if new.all():
        return order, np.repeat(np.arange(len(first), dtype=small), size)
    s = np.repeat(np.arange(len(first), dtype=small), size)
    mine = np.repeat(new, size)
    return order[mine], s[mine]


def stream_codes(graph, kind: str) -> tuple[np.ndarray, int]:
    """Per claim, its ``kind`` (an actor kind, or ``"diagnosis"``) as a stream code (-1
    where it has none), and how many codes there are: a place's swipes for one
    diagnosis are a stream as its doctor's are, in which a bus of people brought in for
    one complaint stands out from a clinic's busy mornings of other care. A diagnosis is
    an ICD-10 category (:func:`._stays.diagnosis_keys`): coders who write I10, I10.00 or
    I10.x001 for one hypertension do not split its stream."""
    if kind != "diagnosis":
        return graph.codes(kind), graph.n(kind)
    dx = graph.claims["diagnosis_code"].array
    key, names = pd.factorize(diagnosis_keys(dx.categories, 3))
    if len(names) == len(dx.categories):        # a category per code: the codes will do
        return dx.codes, len(dx.categories)
    return np.append(key, -1).astype(dx.codes.dtype)[dx.codes], len(names)


def hour_of_week(t: np.ndarray, dow0: int) -> np.ndarray:
    """The hour of the week (weekday * 24 + hour, from 0) of seconds ``t`` since a
    midnight of weekday ``dow0``.

    >>> hour_of_week(np.array([3600, 86400 * 6 + 7200]), 5).tolist()
    [121, 98]
    """
    # hours since that midnight, less whole weeks: floor divisions all, so the same for
    # times before it; numpy's division by a constant is far cheaper than its remainder
    hour = t // 3600
    hour += dow0 * 24
    hour -= hour // 168 * 168
    return hour.astype(np.uint8)


def find_bursts(rows, order, s, place, at, open_days, density, timed, min_run_cards,
                stamp=None):
    """Bursts of one stream kind: (rows, burst id per row, density per burst, and the
    bursts' distinct cards as burst ids and cards, by burst then card).

    ``order`` lists positions into ``rows`` in (stream, time) order (None: ``rows``'
    own order), ``s`` their streams; ``at`` holds the positions' seconds since a midnight
    (whose whole days are days), their hours of the week (:func:`hour_of_week`) and
    their cards. With times of day there are two scales: windows cut at the stream's
    usual gap at that hour, and whole stream-days (a run spread thinly over a day is
    still a day far busier than usual). Without times, only stream-days. Rates are
    tables per stream, weekday and hour; only windows with enough swipes are looked at
    row by row. ``stamp`` gives per place how coarse its times are
    (:func:`._lockstep_hours.stamp_seconds`): a window there spans at least the stamp.
    """
    n = len(s)
    if n < min_run_cards:
        return None
    if order is None:
        order = np.arange(n, dtype=rows.dtype)    # positions fit as rows do
        t, how = at[:2]
    else:
        t, how = at[0][order], at[1][order]
    d = t // 86400
    n_s = int(s[-1]) + 1
    # where a stream starts (kept for the windows below), and where a stream-day does
    new_stream = np.ones(n, bool)
    np.not_equal(s[1:], s[:-1], out=new_stream[1:])
    new_day = new_stream.copy()
    new_day[1:] |= d[1:] != d[:-1]
    del d
    start = np.flatnonzero(new_day)
    del new_day
    # ``s`` is sorted: each stream's place is that of its first position (needles of
    # ``s``'s own dtype: others make searchsorted copy all of ``s`` to theirs)
    first = np.searchsorted(s, np.arange(n_s, dtype=s.dtype))
    days_open = np.maximum(open_days[place[order[first]]], 1)
    del first
    # by stream, weekday and hour, and by stream and weekday
    key = (s if 168 * n_s < 2 ** 31 else s.astype(np.int64)) * 168 + how
    del how
    sd = key // 24
    if timed:
        # one count by stream, weekday and hour gives both the weekday and the hour profile
        slot_n = np.bincount(key, minlength=168 * n_s).reshape(n_s, 7, 24)
        dow_n = slot_n.sum(axis=2)
    else:
        dow_n = np.bincount(sd, minlength=7 * n_s).reshape(n_s, 7)
    per_dow = np.bincount(sd[start], minlength=7 * n_s).reshape(n_s, 7)
    total = dow_n.sum(axis=1)
    mean_day = total / np.maximum(per_dow.sum(axis=1), 1)
    # day-of-week factor, shrunk towards 1 with the weight of four days
    f_dow = (dow_n + 4 * mean_day[:, None]) / (per_dow + 4) / np.maximum(mean_day, 1e-9)[:, None]
    size = np.diff(np.append(start, n))
    expected, spread = usual_days(s[start], sd[start], size, days_open, density,
                                   min_run_cards)
    # a day is also a burst when it lies far beyond the stream's own day-to-day spread
    # (a busy pharmacy's slow daytime run adds fewer than its usual swipes, yet many
    # more than its days ever vary by)
    beyond = (size - expected >= 3 * spread) & (size >= (1 + density) / 2 * expected)
    found = [windows(rows, order, at[2], start, size, expected, density, min_run_cards,
                      beyond)]
    if timed:
        c = slot_n.sum(axis=1).astype(float)
        c = (np.roll(c, 1, axis=1) + c + np.roll(c, -1, axis=1)) / 3
        # swipes per second by stream, weekday and hour, and the gap that cuts a window
        lam = (c[:, None, :] / days_open[:, None, None] / 3600.0 * f_dow[:, :, None]).ravel()
        tau = np.minimum(1.0 / np.maximum(lam * density, 1e-12), _MAX_GAP_S)
        # whole seconds: a gap is over tau exactly when it is over tau's integer part
        tau = np.floor(tau).astype(np.int32)
        new = new_stream
        new[1:] |= t[1:] - t[:-1] > tau[key[:-1]]
        start = np.flatnonzero(new)
        size = np.diff(np.append(start, n))
        big = size >= min_run_cards
        start, size = start[big], size[big]
        pos = expand(start, size)
        w = np.repeat(np.arange(len(start)), size)
        mean = np.bincount(w, weights=lam[key[pos]], minlength=len(start)) / size
        gap = np.minimum(1.0 / np.maximum(mean * density, 1e-12), _MAX_GAP_S)
        span = (t[start + size - 1] - t[start]).clip(min=0)
        if stamp is not None and stamp.any():
            # the last instant stands for the stamp after it (an hour's swipes at 09:00)
            gap = np.maximum(gap, stamp[place[order[start]]])
        found.append(windows(rows, order, at[2], start, size, mean * (span + gap), density,
                              min_run_cards))
    found = [f for f in found if f is not None]
    if not found:
        return None
    offset = np.cumsum([0] + [len(f[2]) for f in found])
    return (np.concatenate([f[0] for f in found]),
            np.concatenate([f[1] + int(o) for f, o in zip(found, offset, strict=False)]),
            np.concatenate([f[2] for f in found]),
            np.concatenate([f[3] + int(o) for f, o in zip(found, offset, strict=False)]),
            np.concatenate([f[4] for f in found]))


def usual_days(s, sd, size, days_open, density, min_run_cards) -> np.ndarray:
    """Per stream-day, its usual number of swipes, learnt without the days that may be
    bursts (else a gathering every other Wednesday makes Wednesdays look busy).

    A day is left out of its stream's baseline when it holds at least ``min_run_cards``
    swipes and ``density`` times the stream's median day; the rest give the mean per open
    day and the day-of-week factor (shrunk towards 1 with the weight of four days).
    ``s`` (the stream of each stream-day) is sorted. Returns the usual count per
    stream-day and how far the stream's days stray from it (the root mean square of
    the baseline days' departures, recomputed within three of itself so that a few
    run days do not widen it; at least the Poisson spread of the usual count).
    """
    n_s = len(days_open)
    # sizes, by stream then size: one sort of both packed, in 32 bits where they fit
    # (twice as fast to sort as 64; 30 bits, so that two sizes add up without overflow)
    bits = max(int(size.max()).bit_length(), 1)
    if (n_s - 1).bit_length() + bits <= 30:
        ranked = np.sort(s.astype(np.int32) << bits | size.astype(np.int32)) & ((1 << bits) - 1)
    else:
        ranked = np.sort(s.astype(np.int64) << 32 | size) & 0xFFFFFFFF
    first = np.searchsorted(s, np.arange(n_s, dtype=s.dtype))     # needles of s's dtype
    count = np.diff(np.append(first, len(s)))
    last = len(s) - 1
    median = np.where(count > 0, (ranked[(first + (count - 1) // 2).clip(max=last)]
                                  + ranked[(first + count // 2).clip(max=last)]) / 2, 0)
    # per stream-day, its stream's value: ``s`` is sorted, so a repeat (not a gather)
    def each(x):
        return np.repeat(x, count)

    quiet = ~((size >= min_run_cards) & (size >= density * each(median)))
    dow_n = np.bincount(sd, weights=size * quiet, minlength=7 * n_s).reshape(n_s, 7)
    per_dow = np.bincount(sd, weights=quiet, minlength=7 * n_s).reshape(n_s, 7)
    total = dow_n.sum(axis=1)
    mean_day = total / np.maximum(per_dow.sum(axis=1), 1)
    f_dow = (dow_n + 4 * mean_day[:, None]) / (per_dow + 4) / np.maximum(mean_day, 1e-9)[:, None]
    loud = np.bincount(s, weights=~quiet, minlength=n_s)
    per_day = total / np.maximum(days_open - loud, 1)
    usual = each(per_day) * f_dow.ravel()[sd]
    dev2 = (size - usual) ** 2
    spread = np.inf
    for _ in range(2):      # the root mean square, then again within three of it
        quiet &= dev2 <= 9 * spread ** 2
        spread = each(np.sqrt(np.bincount(s, weights=dev2 * quiet, minlength=n_s)
                              / np.maximum(np.bincount(s, weights=quiet, minlength=n_s), 1)))
    return usual, np.maximum(spread, np.sqrt(usual))


def expand(start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The positions ``start[k] .. start[k] + size[k] - 1`` of every window, in order."""
    return np.repeat(start - np.cumsum(size) + size, size) + np.arange(int(size.sum()))


def windows(rows, order, card, start, size, expected, density, min_run_cards,
             beyond=None):
    """Keep the windows with enough cards and ``density`` times the usual traffic.

    Windows are runs of positions in ``order`` (``start``, ``size``) with ``expected``
    swipes at the stream's usual rate; sizes and densities are checked before distinct
    cards are counted, on the few windows left. Returns (rows, burst id per row, density
    per burst, and per distinct (burst, card), by burst then card, its burst and card)
    or None.
    """
    ratio = size / np.maximum(expected, 1e-9)
    ok = (size >= min_run_cards) & ((ratio >= density) if beyond is None
                                    else (ratio >= density) | beyond)
    if not ok.any():
        return None
    start, size, ratio = start[ok], size[ok], ratio[ok]
    pos = order[expand(start, size)]
    w = np.repeat(np.arange(len(start), dtype=np.int64), size)
    pair = sorted_unique(w << 32 | card[pos])
    of = pair >> 32
    cards = np.bincount(of, minlength=len(start))
    ok = cards >= min_run_cards
    if not ok.any():
        return None
    keep = ok[w]
    burst = (np.cumsum(ok) - 1).astype(np.int32 if len(ok) < 2 ** 31 else np.int64)
    mine = ok[of]
    return (rows[pos[keep]], burst[w[keep]], ratio[ok], burst[of[mine]],
            (pair[mine] & 0xFFFFFFFF).astype(card.dtype))
