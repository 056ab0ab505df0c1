"""The figures of a package: the case network, the evidence timeline, amounts per day.

Drawn with matplotlib's Agg canvas (no pyplot, no global figure state), labelled in
Chinese with the package's CJK font, and reproducible: a fixed layout and PNG files
with no timestamp or software tag, so the same case gives the same bytes. Every name,
id and code drawn goes through :func:`label`: cut short, control characters removed,
``$`` taken literally (matplotlib would read ``$...$`` as mathematics).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import StrMethodFormatter

from ..cells import shorten
from ._fonts import matplotlib_family
from ._network import layout
from ._tables import KIND_ZH, VISIT_ZH, Masker

__all__ = ["network_figure", "timeline_figures", "amounts_figure", "label",
           "ROWS_PER_TIMELINE"]

COLORS = {"institution": "#d62728", "doctor": "#1f77b4", "patient": "#2ca02c",
          "card": "#ff7f0e", "terminal": "#9467bd", "operator": "#8c564b"}
ROWS_PER_TIMELINE = 40
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f"]


def label(text: object, limit: int) -> str:
    """A value as a figure shows it: at most ``limit`` characters, no control characters,
    ``$`` escaped so that matplotlib draws it rather than typesetting mathematics.

    >>> label("\u202e$x$ " + "y" * 50, 10)
    '\\\\$x\\\\$ yyyyy…'
    """
    return shorten(text, limit).replace("$", r"\$")


def _figure(width: float, height: float, *, left: float = 0.8, right: float = 2.2,
            top: float = 0.45, bottom: float = 0.55) -> Figure:
    """A figure with fixed margins in inches (faster than a layout engine, and stable)."""
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png", dpi=130, metadata={"Software": None})
    return path


def _rc() -> dict:
    return {"font.family": [matplotlib_family()], "axes.unicode_minus": False,
            "font.size": 9, "svg.hashsalt": "graphdetect"}


def network_figure(G: nx.Graph, path: Path, *, case_id: str) -> tuple[Path, int]:
    """Draw the case network to ``path``: colour by kind, black rim = case member.

    For legibility a card used only by its own holder is drawn inside the holder's node,
    and terminals, operators and cards that are not case members are left out (the
    GraphML/JSON files keep them). Returns the path and how many nodes were left out.
    """
    H = _fold_cards(G)
    hidden = [n for n, d in H.nodes(data=True)
              if d["kind"] in ("terminal", "operator", "card") and not d["member"]]
    H.remove_nodes_from(hidden)
    with matplotlib.rc_context(_rc()):
        fig = _figure(9, 7.5, left=0.1, bottom=0.1)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_title(f"案件 {label(case_id, 40)} 关系网络：图中 {len(H)} 个实体、"
                     f"{H.number_of_edges()} 条关联（完整网络 {len(G)} 个实体）", fontsize=12)
        pos = layout(H)
        if len(H):
            _draw_network(ax, H, pos)
        handles = [Line2D([], [], marker="o", ls="", color=COLORS[k], markersize=8,
                          label=KIND_ZH[k]) for k in COLORS
                   if any(d["kind"] == k for _, d in H.nodes(data=True))]
        handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec="black", mew=1.6,
                              markersize=8, label="黑色描边：案件成员"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
                  title="图例（线越粗，共同结算越多）", alignment="left")
        return _save(fig, path), len(hidden)


def _fold_cards(G: nx.Graph) -> nx.Graph:
    H = G.copy()
    for card in [n for n, d in G.nodes(data=True) if d["kind"] == "card"]:
        holders = [x for x in G[card] if G.nodes[x]["kind"] == "patient"]
        if len(holders) != 1:
            continue
        holder = holders[0]
        if sum(G.nodes[x]["kind"] == "card" for x in G[holder]) != 1:
            continue
        for other in G[card]:
            if other != holder:
                w = G[card][other]["weight"] + (H[holder][other]["weight"]
                                                if H.has_edge(holder, other) else 0)
                H.add_edge(holder, other, weight=w)
        H.nodes[holder]["member"] = H.nodes[holder]["member"] or G.nodes[card]["member"]
        H.remove_node(card)
    return H


def _draw_network(ax, H: nx.Graph, pos: dict) -> None:
    nodes = sorted(H.nodes)
    xy = np.array([pos[n] for n in nodes])
    most = max((H.nodes[n]["claims"] for n in nodes), default=1) or 1
    alpha = 0.45 if H.number_of_edges() < 300 else 0.15
    for a, b, d in sorted(H.edges(data=True)):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.plot([x0, x1], [y0, y1], color="#999999", alpha=alpha, zorder=1,
                lw=0.4 + 1.4 * math.log1p(d["weight"]) / math.log1p(most))
    sizes = [40 + 360 * math.sqrt(H.nodes[n]["claims"] / most) for n in nodes]
    colors = [COLORS.get(H.nodes[n]["kind"], "#7f7f7f") for n in nodes]
    rims = ["black" if H.nodes[n]["member"] else "white" for n in nodes]
    ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=colors, edgecolors=rims, linewidths=1.2,
               zorder=2)
    patients = sum(H.nodes[n]["kind"] == "patient" for n in nodes)
    for n in nodes:
        d = H.nodes[n]
        if d["kind"] == "patient" and patients > 30:
            continue
        text = (f"{label(d['name'], 24)}\n{label(d['id'], 24)}" if d.get("name")
                else label(d["id"], 24))
        big = d["kind"] in ("institution", "doctor", "terminal", "operator")
        x, y = pos[n]
        r = math.hypot(x, y)
        dx, dy = (x / r, y / r) if r > 1e-9 else (0.0, 1.0)
        box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}
        if r > 0.9 and len(nodes) > 12:  # a crowded outer ring: labels point outwards
            turn = math.degrees(math.atan2(dy, dx))
            ax.annotate(text, pos[n], xytext=(8 * dx, 8 * dy), textcoords="offset points",
                        rotation=turn if dx >= 0 else turn + 180, rotation_mode="anchor",
                        ha="left" if dx >= 0 else "right", va="center", fontsize=7.5,
                        zorder=3, bbox=box)
            continue
        ax.annotate(text, pos[n], xytext=(11 * dx, 11 * dy), textcoords="offset points",
                    ha="left" if dx > 0.3 else "right" if dx < -0.3 else "center",
                    va="bottom" if dy > 0.3 else "top" if dy < -0.3 else "center",
                    fontsize=10 if big else 7.5, zorder=3, bbox=box)
    ax.set_aspect("equal")
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        loc, formats=["%Y年", "%m月", "%m-%d", "%H:%M", "%H:%M", "%S秒"],
        zero_formats=["", "%Y年", "%m月", "%m-%d", "%H:%M", "%H:%M"],
        offset_formats=["", "%Y年", "%Y年%m月", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))


def timeline_figures(df: pd.DataFrame, out: Path, *, masker: Masker, case_id: str,
                     names: dict[str, str]) -> list[Path]:
    """Draw the evidence claims on a time axis, one row per patient, 40 rows per PNG.

    Inpatient stays are bars from admission to discharge; outpatient visits and pharmacy
    purchases are marks. Colour tells the institution. Returns the PNG paths, written as
    ``timeline.png`` or, for more patients, ``timeline-01.png``, ``timeline-02.png``...
    """
    import matplotlib.dates as mdates

    firsts = df.groupby("patient_id", sort=True)["start_time"].min()
    patients = sorted(firsts.index, key=lambda p: (firsts[p], p))
    places = sorted(df["institution_id"].dropna().unique(),
                    key=lambda h: (-int((df["institution_id"] == h).sum()), h))
    colour = {h: _PALETTE[i] if i < len(_PALETTE) - 1 else _PALETTE[-1]
              for i, h in enumerate(places)}
    start = df["start_time"].min()
    stop = max(df["start_time"].max(), df["end_time"].max() if df["end_time"].notna().any()
               else start)
    span = max((stop - start) / pd.Timedelta(days=1), 1.0)
    pages = max(1, math.ceil(len(patients) / ROWS_PER_TIMELINE))
    paths = []
    for page in range(pages):
        rows = patients[page * ROWS_PER_TIMELINE:(page + 1) * ROWS_PER_TIMELINE]
        name = "timeline.png" if pages == 1 else f"timeline-{page + 1:02d}.png"
        with matplotlib.rc_context(_rc()):
            fig = _figure(10, 1.5 + 0.24 * len(rows), left=1.45)
            ax = fig.add_subplot()
            row_of = {p: y for y, p in enumerate(rows)}
            sub = df[df["patient_id"].isin(row_of)]
            y = sub["patient_id"].map(row_of).to_numpy(float)
            t0 = mdates.date2num(sub["start_time"])
            c = np.array([colour.get(h, _PALETTE[-1]) for h in sub["institution_id"]])
            stay = (sub["visit_type"] == "inpatient").to_numpy()
            if stay.any():
                end = sub["end_time"][stay]
                t1 = np.where(end.notna(), mdates.date2num(end.fillna(sub["start_time"][stay])),
                              t0[stay] + 1)
                lane, lanes = _lanes(y[stay], t0[stay], t1)
                ax.barh(y[stay] + (lane - (lanes - 1) / 2) * 0.62 / lanes,
                        np.maximum(t1 - t0[stay], span / 400), left=t0[stay],
                        height=0.55 / lanes, color=c[stay], alpha=0.85, edgecolor="black",
                        linewidth=0.4)
            for kind, marker in (("outpatient", "o"), ("pharmacy", "^")):
                m = (sub["visit_type"] == kind).to_numpy()
                if m.any():
                    ax.scatter(t0[m], y[m], s=34, c=c[m], marker=marker, edgecolors="black",
                               linewidths=0.4, zorder=3)
            # plain texts, not ticks: forty tick objects per figure cost more than the data
            ax.set_yticks([])
            side = ax.get_yaxis_transform()
            for i, p in enumerate(rows):
                ax.text(-0.01, i, label(masker.id("patient", p), 20), transform=side,
                        ha="right", va="center", fontsize=8)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.xaxis_date()
            pad = pd.Timedelta(days=max(span * 0.02, 0.02))
            ax.set_xlim(mdates.date2num(start - pad), mdates.date2num(stop + pad))
            _date_axis(ax)
            ax.grid(axis="x", color="#dddddd", lw=0.6)
            ax.set_axisbelow(True)
            part = f"（第 {page + 1}/{pages} 页）" if pages > 1 else ""
            ax.set_title(f"案件 {label(case_id, 40)} 证据时间线{part}：每行一名患者",
                         fontsize=11)
            ax.legend(handles=_timeline_legend(places, colour, names), loc="upper left",
                      bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
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


def _timeline_legend(places, colour, names) -> list:
    handles = [Line2D([], [], lw=6, color=colour[h], label=label(names.get(h) or h, 14))
               for h in places[:len(_PALETTE) - 1]]
    if len(places) >= len(_PALETTE):
        handles.append(Line2D([], [], lw=6, color=_PALETTE[-1], label="其他机构"))
    grey = "#555555"
    handles += [Line2D([], [], lw=6, color=grey, label=f"{VISIT_ZH['inpatient']}（入院至出院）"),
                Line2D([], [], ls="", marker="o", color="#555555", label=VISIT_ZH["outpatient"]),
                Line2D([], [], ls="", marker="^", color="#555555", label=VISIT_ZH["pharmacy"])]
    return handles


def amounts_figure(days: list[dict], path: Path, *, case_id: str) -> Path:
    """Bar chart of the evidence amount per day (元)."""
    import matplotlib.dates as mdates

    with matplotlib.rc_context(_rc()):
        fig = _figure(10, 3.6, left=0.9)
        ax = fig.add_subplot()
        if days:
            x = mdates.date2num(pd.to_datetime([d["day"] for d in days]))
            width = max(0.6, (x.max() - x.min()) / 250)
            ax.bar(x, [d["total_amount"] for d in days], width=width, color="#1f77b4",
                   label="医疗总费用")
            ax.bar(x, [d["fund_amount"] for d in days], width=width * 0.5, color="#ff7f0e",
                   label="统筹基金支付")
            ax.xaxis_date()
            _date_axis(ax)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.set_ylabel("金额（元）")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_title(f"案件 {label(case_id, 40)} 每日证据结算金额", fontsize=11)
        return _save(fig, path)
