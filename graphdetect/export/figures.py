"""The figures of a package: the case network and the amounts per day (the evidence
timeline is drawn by ``_timelines``, with the drawing helpers here).

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
from ..palette import FALLBACK, KIND_COLORS, KIND_SHAPES, MARK_COLORS
from ._fonts import matplotlib_family
from ._network import layout
from ._tables import KIND_ZH

__all__ = ["network_figure", "amounts_figure", "label"]

#: cytoscape's node shapes (graphdetect.palette, shared with the review UI, as are the
#: colours) as matplotlib markers, so that a kind looks the same on paper as on screen.
MARKERS = {"ellipse": "o", "diamond": "D", "round-rectangle": "s", "tag": "p", "hexagon": "h",
           "triangle": "^"}


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
        handles = [Line2D([], [], marker=MARKERS[KIND_SHAPES[k]], ls="", color=KIND_COLORS[k],
                          markersize=8,
                          label=KIND_ZH[k]) for k in KIND_COLORS
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
        ax.plot([x0, x1], [y0, y1], color=MARK_COLORS["edge"], alpha=alpha, zorder=1,
                lw=0.4 + 1.4 * math.log1p(d["weight"]) / math.log1p(most))
    sizes = [40 + 360 * math.sqrt(H.nodes[n]["claims"] / most) for n in nodes]
    rims = [MARK_COLORS["central"] if H.nodes[n]["member"] else "white" for n in nodes]
    for shape, marker in MARKERS.items():  # one scatter per shape: matplotlib takes one marker
        idx = [i for i, n in enumerate(nodes)
               if KIND_SHAPES.get(H.nodes[n]["kind"], "ellipse") == shape]
        if idx:
            ax.scatter(xy[idx, 0], xy[idx, 1], s=[sizes[i] for i in idx], marker=marker,
                       c=[KIND_COLORS.get(H.nodes[nodes[i]]["kind"], FALLBACK) for i in idx],
                       edgecolors=[rims[i] for i in idx], linewidths=1.2, zorder=2)
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
