"""Lockstep on place and time (CopyCatch-style): cards that keep turning up together in the
same short, unusually dense windows at one place.

The engine behind card_pooling and outpatient_gathering. It works in three steps, all on
sorted numpy arrays and one sparse matrix:

1. **Streams.** Outpatient and pharmacy settlements are laid out per *stream*: each
   institution (always), and within it each terminal, operator and doctor where the data
   has them. A swipe belongs to several streams, so a run is found whether a place spreads
   it over several terminals and cashiers or the data has none of those columns. An actor
   stream holding all of its place's swipes is the place stream again and is skipped.
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
   two or more of its days, its evidence their swipes in its bursts.

Groups are then told apart by :func:`.describe` / :func:`classify` (see there): the
same rule is used by both detectors, so one planted group yields one case of one pattern.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..graph import INPATIENT
from ._features import run_lengths, sorted_unique, stable_order
from ._lockstep_facts import classify, describe, facts
from ._stays import components

__all__ = ["Group", "lockstep_groups", "describe", "facts", "classify", "STREAM_KINDS"]

STREAM_KINDS = ("institution", "terminal", "operator", "doctor")
_MAX_GAP_S = 3600          # a window never bridges an hour without swipes
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
    per_graph = _CACHE.setdefault(graph, {})
    if key not in per_graph:
        per_graph[key] = _groups(graph, *key)
    return per_graph[key]


def _groups(graph, density, min_run_cards, min_runs, min_overlap, min_cards) -> list[Group]:
    keep = (graph.visit != INPATIENT) & (graph.codes("institution") >= 0) \
        & (graph.codes("card") >= 0)
    has_time = graph.claims["has_time"].to_numpy(dtype=bool)
    timed = bool(has_time[keep].any())
    if timed:
        keep &= has_time
    rows = np.flatnonzero(keep)
    if len(rows) < min_run_cards:
        return []
    # rows in (place, time, row) order: every stream is a run of one place's rows
    place = graph.codes("institution")[rows].astype(np.int64)
    t = graph.seconds[rows]
    order, place, t = _place_time_order(place, t)
    rows = rows[order]
    day = graph.day[rows].astype(np.int64)
    n_place = graph.n("institution")
    new_day = np.ones(len(rows), bool)
    new_day[1:] = (place[1:] != place[:-1]) | (day[1:] != day[:-1])
    open_days = np.bincount(place[new_day], minlength=n_place)
    whole = np.bincount(place, minlength=n_place)
    # per position: day, (weekday, made per stream), seconds, hour and card, gathered once
    at = (day, None, t, ((t % 86400) // 3600).astype(np.int8),
          graph.codes("card")[rows].astype(np.int64))
    bursts, kinds, dens = [], [], []
    n_b = 0
    for k, kind in enumerate(STREAM_KINDS):
        stream = _streams(graph, kind, rows, place, whole)
        if stream is None:
            continue
        found = _bursts(rows, *stream, place, at, open_days, density, timed, min_run_cards)
        if found is None:
            continue
        b_rows, b_id, b_density = found
        bursts.append((b_rows, b_id + n_b))
        kinds.append(np.full(len(b_density), k, np.int8))
        dens.append(b_density)
        n_b += len(b_density)
    if not n_b:
        return []
    b_rows = np.concatenate([b[0] for b in bursts])
    b_id = np.concatenate([b[1] for b in bursts])
    return _link(graph, b_rows, b_id, np.concatenate(kinds), np.concatenate(dens), timed,
                 min_runs, min_overlap, min_cards)


def _place_time_order(place: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The stable order of rows by (place, time), with place and time in that order: one
    sort of both packed with the position when they fit in 62 bits, else a stable sort
    by time, then by place."""
    t0 = int(t.min())
    bits = (int(t.max()) - t0).bit_length()
    if bits + int(place.max()).bit_length() + (len(t) - 1).bit_length() <= 62:
        order, key = _sorted_key_order(place << bits | (t - t0))
        return order, key >> bits, (key & ((1 << bits) - 1)) + t0
    by_time = stable_order(t)
    order = by_time[stable_order(place[by_time])]
    return order, place[order], t[order]


def _sorted_key_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``stable_order(key)`` and the sorted keys, from one sort of the packed pair."""
    n = len(key)
    lo = int(key.min())
    bits = max((n - 1).bit_length(), 1)
    if (int(key.max()) - lo).bit_length() + bits > 62:
        o = np.argsort(key, kind="stable")
        return o, key[o]
    packed = np.sort((key - lo) << bits | np.arange(n, dtype=np.int64))
    return packed & ((1 << bits) - 1), (packed >> bits) + lo


def _streams(graph, kind: str, rows, place, whole) -> tuple[np.ndarray | None, np.ndarray] | None:
    """The rows of ``kind``'s streams in (stream, time) order: (positions into ``rows``,
    or None for all of them in order, and the stream number per position), or None when
    the kind adds no stream of its own.

    ``rows`` are in (place, time) order, so the place streams are ``rows`` themselves;
    one sort of a packed key orders an actor kind's rows by stream.
    """
    if kind == "institution":
        return None, place
    code = graph.codes(kind)[rows]
    sel = np.flatnonzero(code >= 0)
    if not len(sel):
        return None
    if len(sel) == len(code):
        key = place * (graph.n(kind) + 1) + code
        order, key = _sorted_key_order(key)
    else:
        key = place[sel] * (graph.n(kind) + 1) + code[sel]
        o, key = _sorted_key_order(key)
        order = sel[o]
    start = np.ones(len(key), bool)
    start[1:] = key[1:] != key[:-1]
    first = np.flatnonzero(start)
    size = np.diff(np.append(first, len(key)))
    # an actor holding all of its place's swipes is the place stream again
    new = size < whole[place[order[first]]]
    if not new.any():
        return None
    if new.all():
        return order, np.repeat(np.arange(len(first), dtype=np.int64), size)
    s = np.repeat(np.arange(len(first), dtype=np.int64), size)
    mine = np.repeat(new, size)
    return order[mine], s[mine]


def _bursts(rows, order, s, place, at, open_days, density, timed, min_run_cards):
    """Bursts of one stream kind: (rows, burst id per row, density per burst).

    ``order`` lists positions into ``rows`` in (stream, time) order (None: ``rows``'
    own order), ``s`` their streams; ``at`` holds the positions' day, weekday, seconds,
    hour and card. With times of day there are two scales: windows cut at the stream's
    usual gap at that hour, and whole stream-days (a run spread thinly over a day is
    still a day far busier than usual). Without times, only stream-days. Rates are
    tables per stream, weekday and hour; only windows with enough swipes are looked at
    row by row.
    """
    n = len(s)
    if n < min_run_cards:
        return None
    if order is None:
        order = np.arange(n)
        d, t, hour = at[0], at[2], at[3]
    else:
        d, t, hour = at[0][order], at[2][order], at[3][order]
    dow = ((d + 3) % 7).astype(np.int8)
    n_s = int(s[-1]) + 1
    new_day = np.ones(n, bool)
    new_day[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
    start = np.flatnonzero(new_day)
    sp_place = np.zeros(n_s, np.int64)
    sp_place[s[start]] = place[order[start]]
    days_open = np.maximum(open_days[sp_place], 1)
    sd = s * 7 + dow
    dow_n = np.bincount(sd, minlength=7 * n_s).reshape(n_s, 7)
    per_dow = np.bincount(sd[start], minlength=7 * n_s).reshape(n_s, 7)
    total = dow_n.sum(axis=1)
    mean_day = total / np.maximum(per_dow.sum(axis=1), 1)
    # day-of-week factor, shrunk towards 1 with the weight of four days
    f_dow = (dow_n + 4 * mean_day[:, None]) / (per_dow + 4) / np.maximum(mean_day, 1e-9)[:, None]
    size = np.diff(np.append(start, n))
    expected, spread = _usual_days(s[start], sd[start], size, days_open, density,
                                   min_run_cards)
    # a day is also a burst when it lies far beyond the stream's own day-to-day spread
    # (a busy pharmacy's slow daytime run adds fewer than its usual swipes, yet many
    # more than its days ever vary by)
    beyond = (size - expected >= 3 * spread) & (size >= (1 + density) / 2 * expected)
    found = [_windows(rows, order, at[4], start, size, expected, density, min_run_cards,
                      beyond)]
    if timed:
        key = sd * 24 + hour
        c = np.bincount(s * 24 + hour, minlength=24 * n_s).reshape(n_s, 24)
        c = c.astype(float)
        c = (np.roll(c, 1, axis=1) + c + np.roll(c, -1, axis=1)) / 3
        # swipes per second by stream, weekday and hour, and the gap that cuts a window
        lam = (c[:, None, :] / days_open[:, None, None] / 3600.0 * f_dow[:, :, None]).ravel()
        tau = np.minimum(1.0 / np.maximum(lam * density, 1e-12), _MAX_GAP_S)
        new = np.ones(n, bool)
        new[1:] = (s[1:] != s[:-1]) | (t[1:] - t[:-1] > tau[key[:-1]])
        start = np.flatnonzero(new)
        size = np.diff(np.append(start, n))
        big = size >= min_run_cards
        start, size = start[big], size[big]
        pos = _expand(start, size)
        w = np.repeat(np.arange(len(start)), size)
        mean = np.bincount(w, weights=lam[key[pos]], minlength=len(start)) / size
        gap = np.minimum(1.0 / np.maximum(mean * density, 1e-12), _MAX_GAP_S)
        span = (t[start + size - 1] - t[start]).clip(min=0)
        found.append(_windows(rows, order, at[4], start, size, mean * (span + gap), density,
                              min_run_cards))
    found = [f for f in found if f is not None]
    if not found:
        return None
    offset = np.cumsum([0] + [len(f[2]) for f in found])
    return (np.concatenate([f[0] for f in found]),
            np.concatenate([f[1] + o for f, o in zip(found, offset, strict=False)]),
            np.concatenate([f[2] for f in found]))


def _usual_days(s, sd, size, days_open, density, min_run_cards) -> np.ndarray:
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
    ranked = np.sort(s << 32 | size) & 0xFFFFFFFF     # sizes, by stream then size
    first = np.searchsorted(s, np.arange(n_s))
    count = np.bincount(s, minlength=n_s)
    last = len(s) - 1
    median = np.where(count > 0, (ranked[(first + (count - 1) // 2).clip(max=last)]
                                  + ranked[(first + count // 2).clip(max=last)]) / 2, 0)
    quiet = ~((size >= min_run_cards) & (size >= density * median[s]))
    dow_n = np.bincount(sd, weights=size * quiet, minlength=7 * n_s).reshape(n_s, 7)
    per_dow = np.bincount(sd, weights=quiet, minlength=7 * n_s).reshape(n_s, 7)
    total = dow_n.sum(axis=1)
    mean_day = total / np.maximum(per_dow.sum(axis=1), 1)
    f_dow = (dow_n + 4 * mean_day[:, None]) / (per_dow + 4) / np.maximum(mean_day, 1e-9)[:, None]
    loud = np.bincount(s, weights=~quiet, minlength=n_s)
    per_day = total / np.maximum(days_open - loud, 1)
    usual = per_day[s] * f_dow.ravel()[sd]
    dev2 = (size - usual) ** 2
    spread = np.inf
    for _ in range(2):      # the root mean square, then again within three of it
        quiet &= dev2 <= 9 * spread ** 2
        spread = np.sqrt(np.bincount(s, weights=dev2 * quiet, minlength=n_s)
                         / np.maximum(np.bincount(s, weights=quiet, minlength=n_s), 1))[s]
    return usual, np.maximum(spread, np.sqrt(usual))


def _expand(start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The positions ``start[k] .. start[k] + size[k] - 1`` of every window, in order."""
    return np.repeat(start - np.cumsum(size) + size, size) + np.arange(int(size.sum()))


def _windows(rows, order, card, start, size, expected, density, min_run_cards,
             beyond=None):
    """Keep the windows with enough cards and ``density`` times the usual traffic.

    Windows are runs of positions in ``order`` (``start``, ``size``) with ``expected``
    swipes at the stream's usual rate; sizes and densities are checked before distinct
    cards are counted, on the few windows left. Returns (rows, burst id per row, density
    per burst) or None.
    """
    ratio = size / np.maximum(expected, 1e-9)
    ok = (size >= min_run_cards) & ((ratio >= density) if beyond is None
                                    else (ratio >= density) | beyond)
    if not ok.any():
        return None
    start, size, ratio = start[ok], size[ok], ratio[ok]
    pos = order[_expand(start, size)]
    w = np.repeat(np.arange(len(start), dtype=np.int64), size)
    cards = np.bincount(sorted_unique(w << 32 | card[pos]) >> 32, minlength=len(start))
    ok = cards >= min_run_cards
    if not ok.any():
        return None
    keep = ok[w]
    return rows[pos[keep]], (np.cumsum(ok) - 1)[w[keep]], ratio[ok]


def _link(graph, b_rows, b_id, b_kind, b_density, timed, min_runs, min_overlap,
          min_cards) -> list[Group]:
    n_b = len(b_density)
    card = graph.codes("card")[b_rows].astype(np.int64)
    pair = sorted_unique(b_id.astype(np.int64) << 32 | card)
    pb, pc = pair >> 32, pair & 0xFFFFFFFF
    b_place = np.zeros(n_b, np.int64)
    b_place[b_id] = graph.codes("institution")[b_rows]
    b_day = np.zeros(n_b, np.int64)
    b_day[b_id] = graph.day[b_rows]
    # one column per (place, card): only bursts at one place are ever compared
    pc_id, n_pc = _ranks(b_place[pb] * graph.n("card") + pc)
    # overlap is measured on the cards a burst shares with the place's bursts on other
    # days: a busy place's ordinary customers, there once, do not dilute a run's day
    pcd = sorted_unique(pc_id << 16 | (b_day[pb] - b_day.min()))
    again = np.bincount(pcd >> 16, minlength=n_pc)[pc_id] >= 2
    size = np.maximum(np.bincount(pb, weights=again, minlength=n_b), 1)
    shared = (np.bincount(pc_id, minlength=n_pc) >= 2)[pc_id]
    B = sp.csr_matrix((np.ones(int(shared.sum()), np.int32), (pc_id[shared], pb[shared])),
                      shape=(n_pc, n_b))
    S = sp.triu(B.T @ B, k=1).tocoo()
    small = np.minimum(size[S.row], size[S.col])
    link = S.data >= np.maximum(min_overlap * small, 3)
    label = components(n_b, S.row[link], S.col[link])
    days = sorted_unique(label.astype(np.int64) << 32 | b_day)
    n_days = np.bincount(days >> 32, minlength=n_b)
    good = n_days[label] >= min_runs
    if not good.any():
        return []
    # evidence: the group's rows (once each), then cards seen on two or more of its days
    sel = good[b_id]
    rl = sorted_unique(label[b_id][sel].astype(np.int64) << 32 | b_rows[sel])
    g, r = rl >> 32, rl & 0xFFFFFFFF
    c = graph.codes("card")[r].astype(np.int64)
    d = graph.day[r].astype(np.int64)
    d -= d.min()
    # (label, card) runs in rl order are not contiguous; rank them, then count their days
    gc_i, n_gc = _ranks(g * graph.n("card") + c)
    gcd = sorted_unique(gc_i << 16 | d)
    core = (np.bincount(gcd >> 16, minlength=n_gc) >= 2)[gc_i]
    # every row's bursts, for the blocks' kinds and densities
    ob = stable_order(b_rows)
    sorted_rows = b_rows[ob]
    blocks = _blocks(graph, r[core], g[core], min_cards, min_runs)
    if timed:
        blocks = [_trim(graph, block) for block in blocks]
    blocks = [block for block in blocks if len(block)]
    if not blocks:
        return []
    # a second pass on each block's own swipes splits what only its others joined
    # (a weekly gathering and a care home's monthly round on the same mornings)
    of = np.repeat(np.arange(len(blocks)), [len(block) for block in blocks])
    out = []
    for rows in _blocks(graph, np.concatenate(blocks), of, min_cards, min_runs):
        first = np.searchsorted(sorted_rows, rows, "left")
        count = np.searchsorted(sorted_rows, rows, "right") - first
        at = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
        bursts = sorted_unique(b_id[ob[at]])
        kinds = tuple(STREAM_KINDS[k] for k in sorted_unique(b_kind[bursts]))
        out.append(Group(int(b_place[bursts[0]]), rows, timed,
                         float(np.median(b_density[bursts])), kinds))
    out.sort(key=lambda x: (x.place, int(x.rows[0])))
    return out


def _ranks(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Per element, the rank of its value among the distinct values (``np.unique``'s
    inverse, by one sort), and the number of distinct values."""
    if not len(key):
        return np.zeros(0, np.int64), 0
    order, sorted_key = _sorted_key_order(key)
    start = np.ones(len(key), bool)
    start[1:] = sorted_key[1:] != sorted_key[:-1]
    out = np.empty(len(key), np.int64)
    out[order] = np.cumsum(start) - 1
    return out, int(start.sum())


def _trim(graph, rows: np.ndarray) -> np.ndarray:
    """Keep each day's run, dropping the group's stray swipes that day (a pooled card's own
    purchase in the morning of a night run; a clinic's ordinary patients in the afternoon
    of a morning gathering), which whole-day windows let in.

    A day's swipes are cut where the gap between two is over four times the group's
    median gap between same-day swipes (and a minute); the pieces holding at least a
    quarter of that day's swipes are kept.
    """
    t = graph.seconds[rows]
    order = np.argsort(t, kind="stable")
    t, day = t[order], graph.day[rows][order]
    same = day[1:] == day[:-1]
    gaps = np.diff(t)[same]
    if not len(gaps):
        return rows
    cut = max(4 * float(np.median(gaps)), 60.0)
    new = np.ones(len(t), bool)
    new[1:] = ~same | (np.diff(t) > cut)
    piece = np.cumsum(new) - 1
    size = np.bincount(piece)
    day_start = np.ones(len(t), bool)
    day_start[1:] = ~same
    per_day = np.bincount(np.cumsum(day_start) - 1)[np.cumsum(day_start) - 1]
    keep = size[piece] >= 0.25 * per_day
    return np.sort(rows[order[keep]])


def _blocks(graph, rows: np.ndarray, of: np.ndarray, min_cards: int,
            min_runs: int) -> list[np.ndarray]:
    """Split linked sets of windows into blocks of cards that share their days.

    ``rows`` are the swipes of several sets at once, ``of`` the set of each (sets are
    never mixed). Two groups at one place (a pooling run and a clinic's regulars, say)
    can be joined by a busy day holding both. Within a set, cards are linked when they
    share at least half the days of the one of the two seen on more days (and two);
    each connected block keeps its days holding at least a quarter of its cards (and 3),
    and counts when it has ``min_cards`` cards on ``min_runs`` such days. Blocks come
    in the order of their sets, then of their lowest card; each is its sorted rows.
    """
    if not len(rows):
        return []
    of = of.astype(np.int64)
    card = graph.codes("card")[rows].astype(np.int64)
    day = graph.day[rows].astype(np.int64)
    day -= day.min()
    node, n_node = _ranks(of * graph.n("card") + card)        # one per (set, card)
    col, n_col = _ranks(of * (int(day.max()) + 1) + day)      # one per (set, day)
    pair = sorted_unique(node << 32 | col)
    pn, pcol = pair >> 32, pair & 0xFFFFFFFF
    n_days = np.bincount(pn, minlength=n_node)
    C = sp.csr_matrix((np.ones(len(pn), np.int32), (pn, pcol)), shape=(n_node, n_col))
    S = sp.triu(C @ C.T, k=1).tocoo()
    strong = S.data >= np.maximum(2, 0.5 * np.maximum(n_days[S.row], n_days[S.col]))
    comp = components(n_node, S.row[strong], S.col[strong]).astype(np.int64)
    size = np.bincount(comp)
    # a block's days: those holding a quarter of its cards (and 3)
    cc = np.sort(comp[pn] * n_col + pcol)
    held = run_lengths(cc)
    cc = sorted_unique(cc)
    good_cc = cc[held >= np.maximum(3, 0.25 * size[cc // n_col])]
    n_good = np.bincount(good_cc // n_col, minlength=len(size))
    r_comp = comp[node]
    key = r_comp * n_col + col
    at = np.searchsorted(good_cc, key).clip(max=max(len(good_cc) - 1, 0))
    keep = (size[r_comp] >= min_cards) & (n_good[r_comp] >= min_runs)
    keep &= good_cc[at] == key if len(good_cc) else False
    kept_cards = np.bincount(sorted_unique(r_comp[keep] << 32 | node[keep]) >> 32,
                             minlength=len(size))
    keep &= kept_cards[r_comp] >= min_cards
    if not keep.any():
        return []
    cr = np.sort(r_comp[keep] << 32 | rows[keep].astype(np.int64))
    split = np.flatnonzero(np.diff(cr >> 32)) + 1
    return [x & 0xFFFFFFFF for x in np.split(cr, split)]
