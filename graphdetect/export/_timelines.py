"""The evidence timeline figures of a package, drawn as each pattern's evidence reads,
in the same views and colours as the review UI's timeline (``web/static/js/timeline.js``):

- concurrent and split stays: one lane per stay, labelled with its hospital; where two
  stays of a patient overlap, the overlap is shaded across both lanes; where a stay
  follows another at the same hospital, the gap from discharge to readmission is marked;
- card pooling and outpatient gathering: each swipe at its day (x) and time of day (y),
  the detector's occasions shaded from their first swipe to their last;
- any other pattern (rings, shared identities): one row per patient, the detector's
  batches as bands across every row, 40 rows per PNG.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ._tables import VISIT_ZH, Masker
from .figures import _date_axis, _figure, _rc, _save, label

__all__ = ["timeline_figures", "VISIT_COLORS", "MARK_COLORS", "ROWS_PER_TIMELINE"]

#: Colour of each visit type's marks, as the review UI draws them.
VISIT_COLORS = {"outpatient": "#2f6fb0", "inpatient": "#c0392b", "pharmacy": "#2e8b57"}
#: Shading of an overlap of stays, a readmission gap and a detector's batch, as in the UI.
MARK_COLORS = {"overlap": "#f1c40f", "gap": "#8e44ad", "batch": "#f1c40f"}
ROWS_PER_TIMELINE = 40
_MARKERS = {"outpatient": "o", "pharmacy": "^"}
_STAYS = ("concurrent_stay", "split_stay")
_SWIPES = ("card_pooling", "outpatient_gathering")
_DAY = pd.Timedelta(days=1)


def timeline_figures(df: pd.DataFrame, out: Path, *, masker: Masker, case_id: str,
                     names: dict[str, str], pattern: str | None = None,
                     details: dict | None = None) -> list[Path]:
    """Draw the evidence claims on a time axis, the view chosen by the case's pattern.

    Returns the PNG paths: ``timeline.png`` or, for more than 40 patients in rows,
    ``timeline-01.png``, ``timeline-02.png``...
    """
    batches = [o for o in (details or {}).get("occasions") or [] if isinstance(o, dict)]
    stays = (df["visit_type"] == "inpatient") & df["end_time"].notna()
    with matplotlib.rc_context(_rc()):
        if pattern in _STAYS and stays.any():
            return [_stays(df, stays, out / "timeline.png", case_id=case_id, names=names,
                           masker=masker)]
        if pattern in _SWIPES:
            return [_swipes(df, batches, out / "timeline.png", case_id=case_id)]
        return _rows(df, batches, out, masker=masker, case_id=case_id)


def _limits(ax, df: pd.DataFrame) -> None:
    start = df["start_time"].min().normalize()
    stop = max(df["start_time"].max(), df["end_time"].max() if df["end_time"].notna().any()
               else start).normalize() + _DAY
    ax.set_xlim(mdates.date2num(start), mdates.date2num(stop))
    ax.xaxis_date()
    _date_axis(ax)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)


def _legend(ax, visits, extra=(), *, dots: bool = False) -> None:
    """Visit types present (a stay as a bar, unless ``dots``), then the shadings drawn."""
    handles = []
    for kind in VISIT_COLORS:
        if kind not in visits:
            continue
        if kind == "inpatient" and not dots:
            handles.append(Line2D([], [], lw=6, color=VISIT_COLORS[kind],
                                  label=f"{VISIT_ZH[kind]}（入院至出院）"))
        else:
            handles.append(Line2D([], [], ls="", marker=_MARKERS.get(kind, "o"),
                                  color=VISIT_COLORS[kind], label=VISIT_ZH[kind]))
    handles += [Patch(color=MARK_COLORS[k], alpha=0.45, label=text) for k, text in extra]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              fontsize=8)


def _marks(ax, sub: pd.DataFrame, y: np.ndarray) -> None:
    """Outpatient visits and purchases as marks on rows ``y``."""
    t0 = mdates.date2num(sub["start_time"])
    for kind, marker in _MARKERS.items():
        m = (sub["visit_type"] == kind).to_numpy()
        if m.any():
            ax.scatter(t0[m], y[m], s=34, c=VISIT_COLORS[kind], marker=marker,
                       edgecolors="black", linewidths=0.4, zorder=3)


def _stays(df, is_stay, path, *, case_id, names, masker) -> Path:
    st = df[is_stay].sort_values(["patient_id", "start_time", "claim_id"], kind="stable")
    others = df[~is_stay]
    n = len(st) + (1 if len(others) else 0)
    fig = _figure(10, 1.7 + 0.5 * n, left=2.3)
    ax = fig.add_subplot()
    t0, t1 = mdates.date2num(st["start_time"]), mdates.date2num(st["end_time"])
    ax.barh(np.arange(len(st)), np.maximum(t1 - t0, 0.05), left=t0, height=0.5,
            color=VISIT_COLORS["inpatient"], edgecolor="black", linewidth=0.4, zorder=2)
    patients, places = st["patient_id"].tolist(), st["institution_id"].tolist()
    extra = []
    for i in range(len(st)):
        for k, j in enumerate(range(i + 1, len(st))):
            if patients[i] != patients[j]:
                continue
            s, e = max(t0[i], t0[j]), min(t1[i], t1[j])
            if s < e:
                ax.add_patch(Rectangle((s, i - 0.4), e - s, j - i + 0.8, zorder=1, alpha=0.45,
                                       color=MARK_COLORS["overlap"]))
                ax.text((s + e) / 2, (i + j) / 2, f"重叠 {e - s:.1f} 天", ha="center",
                        va="center", fontsize=8, zorder=4)
                extra.append(("overlap", "住院重叠"))
            elif k == 0 and places[i] == places[j]:
                _gap(ax, i, j, t1[i], t0[j])
                extra.append(("gap", "出院至再入院"))
    many = len(set(patients)) > 1
    lanes = [f"{i + 1}. " + (f"{label(masker.id('patient', p), 8)} · " if many else "")
             + label(names.get(h) or h, 16)
             for i, (p, h) in enumerate(zip(patients, places, strict=True))]
    if len(others):
        _marks(ax, others, np.full(len(others), float(len(st))))
        lanes.append("其他结算")
    ax.set_yticks(range(n), lanes, fontsize=8.5)
    ax.set_ylim(n - 0.5, -0.5)
    _limits(ax, df)
    ax.set_title(f"案件 {label(case_id, 40)} 证据时间线：每条泳道一次住院", fontsize=11)
    _legend(ax, set(df["visit_type"]), dict.fromkeys(extra).keys())
    return _save(fig, path)


def _gap(ax, i: int, j: int, end: float, start: float) -> None:
    """The gap between a discharge (lane i) and the readmission (lane j)."""
    width = max(start - end, 0.02)
    ax.add_patch(Rectangle((end, i), width, j - i, alpha=0.3, zorder=1, color=MARK_COLORS["gap"]))
    for x in (end, end + width):
        ax.axvline(x, ymin=0, ymax=1, color=MARK_COLORS["gap"], lw=0.9, ls="--", zorder=1)
    days = start - end
    text = f"间隔 {days * 24:.1f} 小时" if days < 2 else f"间隔 {days:.1f} 天"
    ax.text(end + width, (i + j) / 2, " " + text, ha="left", va="center", fontsize=8.5,
            color="#6c3483", zorder=4)


def _swipes(df, batches, path, *, case_id) -> Path:
    fig = _figure(10, 4.6)
    ax = fig.add_subplot()
    day = df["start_time"].dt.normalize()
    hours = ((df["start_time"] - day) / pd.Timedelta(hours=1)).to_numpy(float)
    x = mdates.date2num(day) + 0.5
    for o in batches:
        if o.get("day") and o.get("from") and o.get("to"):
            d = mdates.date2num(pd.Timestamp(o["day"]))
            f, t = (int(v[:2]) + int(v[3:5]) / 60 for v in (o["from"], o["to"]))
            # a run past midnight ("24:22") goes on at the top of the next day
            for x0, y0, y1 in ((d, f, min(t, 24)), (d + 1, 0, t - 24)):
                if y1 >= y0 and (x0 == d or y1 > 0):
                    ax.add_patch(Rectangle((x0, y0 - 0.3), 1, y1 - y0 + 0.6, alpha=0.45,
                                           zorder=1, color=MARK_COLORS["batch"]))
    for kind in VISIT_COLORS:
        m = (df["visit_type"] == kind).to_numpy()
        if m.any():
            ax.scatter(x[m], hours[m], s=14, c=VISIT_COLORS[kind], marker=_MARKERS.get(kind, "o"),
                       alpha=0.8, linewidths=0, zorder=3)
    ax.set_ylim(24, 0)
    ax.set_yticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
    ax.set_ylabel("刷卡时刻")
    ax.grid(axis="y", color="#eeeeee", lw=0.6)
    _limits(ax, df)
    ax.set_title(f"案件 {label(case_id, 40)} 证据时间线：每一次刷卡的日期与时刻", fontsize=11)
    _legend(ax, set(df["visit_type"]), [("batch", "检测识别的集中刷卡时段")] if batches else [],
            dots=True)
    return _save(fig, path)


def _rows(df, batches, out, *, masker, case_id) -> list[Path]:
    firsts = df.groupby("patient_id", sort=True)["start_time"].min()
    patients = sorted(firsts.index, key=lambda p: (firsts[p], p))
    pages = max(1, math.ceil(len(patients) / ROWS_PER_TIMELINE))
    paths = []
    for page in range(pages):
        rows = patients[page * ROWS_PER_TIMELINE:(page + 1) * ROWS_PER_TIMELINE]
        name = "timeline.png" if pages == 1 else f"timeline-{page + 1:02d}.png"
        fig = _figure(10, 1.5 + 0.24 * len(rows), left=1.45)
        ax = fig.add_subplot()
        for o in batches:
            first = o.get("first_day") or o.get("day")
            if first:
                ax.axvspan(mdates.date2num(pd.Timestamp(first)),
                           mdates.date2num(pd.Timestamp(o.get("last_day") or first) + _DAY),
                           color=MARK_COLORS["batch"], alpha=0.35, lw=0, zorder=0)
        row_of = {p: y for y, p in enumerate(rows)}
        sub = df[df["patient_id"].isin(row_of)]
        y = sub["patient_id"].map(row_of).to_numpy(float)
        stay = (sub["visit_type"] == "inpatient").to_numpy()
        if stay.any():
            t0 = mdates.date2num(sub["start_time"][stay])
            end = sub["end_time"][stay]
            t1 = np.where(end.notna(), mdates.date2num(end.fillna(sub["start_time"][stay])),
                          t0 + 1)
            lane, lanes = _lanes(y[stay], t0, t1)
            ax.barh(y[stay] + (lane - (lanes - 1) / 2) * 0.62 / lanes, np.maximum(t1 - t0, 0.1),
                    left=t0, height=0.55 / lanes, color=VISIT_COLORS["inpatient"], alpha=0.9,
                    edgecolor="black", linewidth=0.4, zorder=2)
        _marks(ax, sub, y)
        # plain texts, not ticks: forty tick objects per figure cost more than the data
        ax.set_yticks([])
        side = ax.get_yaxis_transform()
        for i, p in enumerate(rows):
            ax.text(-0.01, i, label(masker.id("patient", p), 20), transform=side,
                    ha="right", va="center", fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        _limits(ax, df)
        part = f"（第 {page + 1}/{pages} 页）" if pages > 1 else ""
        ax.set_title(f"案件 {label(case_id, 40)} 证据时间线{part}：每行一名患者", fontsize=11)
        _legend(ax, set(df["visit_type"]), [("batch", "检测识别的同批就诊")] if batches else [])
        paths.append(_save(fig, out / name))
    return paths


def _lanes(row: np.ndarray, start: np.ndarray, end: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping stays of one patient get separate lanes, so an overlap shows.

    Returns each stay's lane and the number of lanes of its row.

    >>> lane, lanes = _lanes(np.array([0., 0, 0]), np.array([1., 3, 6]), np.array([5., 7, 8]))
    >>> lane.tolist(), lanes.tolist()
    ([0, 1, 0], [2, 2, 2])
    """
    lane = np.zeros(len(row), int)
    order = np.lexsort((start, row))
    ends: dict[float, list[float]] = {}
    for i in order:
        busy = ends.setdefault(float(row[i]), [])
        free = next((k for k, e in enumerate(busy) if e <= start[i]), len(busy))
        if free == len(busy):
            busy.append(end[i])
        else:
            busy[free] = end[i]
        lane[i] = free
    lanes = np.array([len(ends[float(r)]) for r in row], int)
    return lane, lanes
