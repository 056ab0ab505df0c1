"""One colour per entity kind and per network mark, shared by the review UI and the PDF.

The review UI's network and legend read :data:`KIND_COLORS` and :data:`MARK_COLORS` from
the page (``data-palette``, :func:`as_json`); the evidence package's figures draw with the
same values, so a doctor is the same colour on screen and on paper.

>>> KIND_COLORS["doctor"]
'#c0392b'
>>> sorted(KIND_COLORS) == sorted(KIND_SHAPES)
True
"""

from __future__ import annotations

import json

__all__ = ["KIND_COLORS", "KIND_SHAPES", "MARK_COLORS", "FALLBACK", "as_json"]

#: Fill colour of each entity kind's nodes.
KIND_COLORS: dict[str, str] = {
    "patient": "#2f6fb0",
    "doctor": "#c0392b",
    "institution": "#2e8b57",
    "card": "#8e44ad",
    "terminal": "#d35400",
    "operator": "#7f8c8d",
}
#: Shape of each kind's nodes (cytoscape shape names; the PDF maps them to markers).
KIND_SHAPES: dict[str, str] = {
    "patient": "ellipse",
    "doctor": "diamond",
    "institution": "round-rectangle",
    "card": "tag",
    "terminal": "hexagon",
    "operator": "triangle",
}
#: Marks drawn over the kind colour: a case's central members (hub, host, terminal,
#: operator) get a dark ring, nodes an Expand just added a bright one, a selected node
#: another, edges a light grey.
MARK_COLORS: dict[str, str] = {
    "central": "#111111",
    "new": "#f1c40f",
    "selected": "#1d5fa7",
    "edge": "#b8c2cc",
}
#: The colour of a kind not listed.
FALLBACK = "#999999"


def as_json() -> str:
    """The palette as the UI reads it: ``{"kinds", "shapes", "marks", "fallback"}``.

    >>> json.loads(as_json())["marks"]["new"]
    '#f1c40f'
    """
    return json.dumps({"kinds": KIND_COLORS, "shapes": KIND_SHAPES, "marks": MARK_COLORS,
                       "fallback": FALLBACK}, sort_keys=True)
