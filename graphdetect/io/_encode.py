"""Columns of repeated words (ids, codes, visit types) as dictionaries, and as categoricals.

A claims file repeats a few thousand institutions, doctors and codes over millions of
rows. A Parquet column stored with dictionary pages is read straight into a dictionary
array (see ``_read``), and word columns (``visit_type``) are encoded as one: stripping,
blank checks and word lookups then touch each distinct value once, and rows are integer
codes. A column of many distinct values (``patient_id``) stays text until the end, where
one sort (ids of one width) or one hash over all its rows makes the categorical.

>>> import pyarrow as pa
>>> col = as_dictionary(pa.array(["b ", "a", None, " ", "b"]))
>>> col.dictionary.to_pylist(), col.indices.to_pylist()
(['b', 'a'], [0, 1, None, None, 0])
>>> sorted_categorical(pa.chunked_array([col])).tolist()
['b', 'a', nan, nan, 'b']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Table
from ._ids import FixedIds
from ._parse import text

__all__ = ["CATEGORICAL", "DICTIONARY", "FOLLOWS", "WORD_KINDS", "dictionary_columns",
           "as_dictionary", "categorical", "coalesce", "common_types", "led_categorical",
           "sorted_categorical"]

#: The id and code columns that reach the frame as categoricals (sorted categories).
CATEGORICAL = {
    "claims": ("patient_id", "institution_id", "doctor_id", "diagnosis_code",
               "terminal_id", "operator_id", "card_id"),
    "patients": ("region_code",),
    "institutions": ("region_code",),
    "doctors": ("institution_id", "specialty"),
}
#: Columns whose ids mostly follow another column's (a patient mostly keeps one card):
#: their codes are found from that column's (see ``_ids.FixedIds.following``).
FOLLOWS = {"claims": {"card_id": "patient_id"}}
#: A column's codes (-1 for null) and, per category, a row that holds it.
Lead = tuple[np.ndarray, np.ndarray]
#: The kinds whose values are words of a fixed list (``schema.Column.kind``).
WORD_KINDS = ("visit_type", "sex", "institution_kind", "ownership")
DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def dictionary_columns(table: Table) -> set[str]:
    """The columns of ``table`` worth reading as dictionaries: categoricals and words."""
    return {*CATEGORICAL.get(table.name, ()),
            *(c.name for c in table.columns if c.kind in WORD_KINDS)}


def as_dictionary(raw: pa.Array) -> pa.DictionaryArray:
    """A column as a dictionary of distinct stripped words; blanks become null.

    Row for row the values :func:`graphdetect.io._parse.text` gives.
    """
    if pa.types.is_dictionary(raw.type):
        words = raw.dictionary
        if not pa.types.is_string(words.type):
            words = pc.cast(words, pa.string())
        stripped = text(words)
        if stripped is words and words.null_count == 0 and raw.type == DICTIONARY:
            return raw  # Parquet's dictionary pages hold distinct words: no row is touched
        codes = _codes(raw)
    else:
        if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
            raw = pc.cast(raw, pa.string())
        codes, words = _factorize(raw)
        stripped = text(words)
    # stripping may make two words one, blank words become null
    ids, stripped = _factorize(stripped)
    return _dictionary(np.append(ids, -1)[codes], stripped)  # code -1 picks the last -1


def coalesce(first: pa.Array, second: pa.Array) -> pa.Array:
    """``first``, or ``second`` where ``first`` is null; dictionaries when both are."""
    if not first.null_count:
        return first
    if not (pa.types.is_dictionary(first.type) and pa.types.is_dictionary(second.type)):
        return pc.coalesce(_decoded(first), _decoded(second))
    b = _codes(second)
    b = np.where(b < 0, -1, b + len(first.dictionary))
    a = _codes(first)
    return _dictionary(np.where(a < 0, b, a),
                       pa.concat_arrays([first.dictionary, second.dictionary]))


def common_types(tables: list[pa.Table]) -> list[pa.Table]:
    """The tables with a column that is a dictionary in some and text in others decoded.

    Files of one table may differ (one month's ids fit its Parquet dictionary pages,
    another's do not); the rows must still form one column.
    """
    names = dict.fromkeys(name for t in tables for name in t.column_names)
    mixed = [name for name in names
             if len({t.schema.field(name).type for t in tables if name in t.column_names}) > 1]
    out = []
    for t in tables:
        for name in mixed:
            if name in t.column_names and pa.types.is_dictionary(t.schema.field(name).type):
                i = t.column_names.index(name)
                t = t.set_column(i, name, _decoded(t.column(i)))
        out.append(t)
    return out


def sorted_categorical(col: pa.ChunkedArray) -> pd.Categorical:
    """A text or dictionary column as a categorical of the words used, in Arrow's order."""
    return led_categorical(col)[0]


def led_categorical(col: pa.ChunkedArray, parent: Callable[[], Lead | None] | None = None
                    ) -> tuple[pd.Categorical, Lead | None]:
    """As :func:`sorted_categorical`, with what a column that follows this one needs.

    ``parent`` gives that of a column that mostly decides this one's ids (a card per
    patient, see :data:`FOLLOWS`); it is called once this column's ids are integers.
    The lead is the codes and, per category, a row that holds it; None unless the column
    is ids of one width.
    """
    if pa.types.is_dictionary(col.type):
        chunks, words, ids = _merged(col)
    else:
        fixed = FixedIds.of(col)
        if fixed:
            codes, words, rows = fixed.following(parent) if parent else fixed.sorted()
            return categorical(codes, words), (codes, rows)
        # one hash table over all chunks: they share its dictionary
        chunks = pc.dictionary_encode(col).chunks
        words = chunks[0].dictionary if chunks else pa.array([], pa.string())
        ids = [np.arange(len(words))] * len(chunks)
    codes = [_codes(c) for c in chunks]
    used = np.zeros(len(words), bool)
    for idx, chunk_ids in zip(codes, ids, strict=True):
        used[chunk_ids[np.bincount(idx + 1, minlength=len(chunk_ids) + 1)[1:] > 0]] = True
    used = np.flatnonzero(used)
    order = pc.sort_indices(words.take(pa.array(used))).to_numpy()
    # codes as narrow as pandas keeps them (it would copy wider ones into that width)
    width = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                 if len(order) < np.iinfo(t).max)
    rank = np.full(len(words) + 1, -1, width)  # the last slot maps null to -1
    rank[used[order]] = np.arange(len(order))
    out = np.empty(len(col), width)
    start = 0
    for idx, chunk_ids in zip(codes, ids, strict=True):
        # each chunk's codes go through one small table: its dictionary's ranks
        np.take(rank[np.append(chunk_ids, -1)], idx, out=out[start:start + len(idx)])
        start += len(idx)
    return categorical(out, words.take(pa.array(used[order]))), None


def categorical(codes: np.ndarray, words: pa.Array) -> pd.Categorical:
    """The categorical of codes (-1 for null) into ``words``, distinct and sorted.

    The words are distinct by construction, so pandas is spared its checks (a hash of every
    category for uniqueness, a pass over the codes for their range).
    """
    categories = pd.Index(words.to_pandas(), dtype=str)
    # a private constructor of pandas (2.2 to 3.x) that skips the uniqueness hash; the
    # public one, slower but the same, where a pandas lacks it
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    dtype = fast(categories, False) if fast else pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _merged(col: pa.ChunkedArray) -> tuple[list[pa.DictionaryArray], pa.Array, list]:
    """The chunks, the distinct words of all their dictionaries, and per chunk the
    position of each of its dictionary's words among them."""
    if not col.num_chunks:
        return [], pa.array([], pa.string()), []
    ids, words = _factorize(pa.concat_arrays([c.dictionary for c in col.chunks]))
    bounds = np.cumsum([0] + [len(c.dictionary) for c in col.chunks])
    return col.chunks, words, [ids[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _factorize(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes (-1 for null) and the distinct values, as strings, of an array."""
    enc = pc.dictionary_encode(arr)
    return _codes(enc), enc.dictionary.cast(pa.string())


def _codes(arr: pa.DictionaryArray) -> np.ndarray:
    """The indices, -1 for null."""
    indices = arr.indices.fill_null(-1) if arr.indices.null_count else arr.indices
    return indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)


def _decoded(arr: pa.Array) -> pa.Array:
    """A dictionary array as the plain array of its values (other arrays as they are)."""
    return arr.cast(arr.type.value_type) if pa.types.is_dictionary(arr.type) else arr


def _dictionary(codes: np.ndarray, words: pa.Array) -> pa.DictionaryArray:
    indices = pa.array(codes.astype(np.int32, copy=False), pa.int32(), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, words)
