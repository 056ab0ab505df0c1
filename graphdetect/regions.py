"""Region codes as place names, from the optional ``regions`` table of a data folder.

Patients and institutions carry a ``region_code`` (a 12-digit administrative code, down
to the village); where the data folder gives a ``regions`` table, pages and evidence
packages show the place's name, with its parent's (the township's) before it.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["region_names"]


def region_names(regions: pd.DataFrame | None) -> dict[str, str]:
    """Each region code with its name, ``parent · name`` where the parent is named.

    Codes without a name are left out; a code listed twice keeps its first row.

    >>> t = pd.DataFrame({"region_code": ["339902001", "339902001002"],
    ...                   "name": ["长溪镇", "王家村"], "parent_code": [None, "339902001"]})
    >>> region_names(t)
    {'339902001': '长溪镇', '339902001002': '长溪镇 · 王家村'}
    """
    if regions is None or "name" not in regions or not len(regions):
        return {}
    rows = regions.drop_duplicates("region_code")
    codes = rows["region_code"].astype(str).tolist()
    names = dict(zip(codes, rows["name"], strict=True))
    names = {c: str(n) for c, n in names.items() if isinstance(n, str) and n}
    parents = rows["parent_code"] if "parent_code" in rows else [None] * len(rows)
    out = {}
    for code, parent in zip(codes, parents, strict=True):
        if code not in names:
            continue
        up = names.get(str(parent)) if isinstance(parent, str) and parent != code else None
        out[code] = f"{up} · {names[code]}" if up else names[code]
    return out
