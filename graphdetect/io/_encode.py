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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Table
from ._parse import text

__all__ = ["CATEGORICAL", "DICTIONARY", "WORD_KINDS", "dictionary_columns", "as_dictionary",
           "coalesce", "common_types", "sorted_categorical"]

#: The id and code columns that reach the frame as categoricals (sorted categories).
CATEGORICAL = {
    "claims": ("patient_id", "institution_id", "doctor_id", "diagnosis_code",
               "terminal_id", "operator_id", "card_id"),
    "patients": ("region_code",),
    "institutions": ("region_code",),
    "doctors": ("institution_id", "specialty"),
}
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
        codes, words = _codes(raw), raw.dictionary
        if not pa.types.is_string(words.type):
            words = pc.cast(words, pa.string())
    else:
        if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
            raw = pc.cast(raw, pa.string())
        codes, words = _factorize(raw)
    stripped = text(words)
    if stripped is words and words.null_count == 0 and raw.type == DICTIONARY:
        return raw  # Parquet's dictionary pages hold distinct words
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
    if pa.types.is_dictionary(col.type):
        chunks, words, ids = _merged(col)
    else:
        fixed = _sorted_fixed_width(col)
        if fixed:
            codes, words = fixed
            return pd.Categorical.from_codes(codes, categories=pd.Index(words.to_pandas(),
                                                                        dtype=str))
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
    rank = np.full(len(words) + 1, -1, np.int32)  # the last slot maps null to -1
    rank[used[order]] = np.arange(len(order), dtype=np.int32)
    cats = pd.Index(words.take(pa.array(used[order])).to_pandas(), dtype=str)
    # each chunk's codes go through one small table: its dictionary's ranks
    out = [rank[np.append(chunk_ids, -1)][idx] for idx, chunk_ids in zip(codes, ids, strict=True)]
    return pd.Categorical.from_codes(np.concatenate(out) if out else np.zeros(0, np.int32),
                                     categories=cats)


def _merged(col: pa.ChunkedArray) -> tuple[list[pa.DictionaryArray], pa.Array, list]:
    """The chunks, the distinct words of all their dictionaries, and per chunk the
    position of each of its dictionary's words among them."""
    if not col.num_chunks:
        return [], pa.array([], pa.string()), []
    ids, words = _factorize(pa.concat_arrays([c.dictionary for c in col.chunks]))
    bounds = np.cumsum([0] + [len(c.dictionary) for c in col.chunks])
    return col.chunks, words, [ids[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _sorted_fixed_width(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array] | None:
    """Codes into the sorted distinct values of ids that all have one width, or None.

    Ids of one width (``3399054996082494``) read as integers: each byte position is a
    digit whose base is the range of bytes seen there. When such an integer fits 64 bits,
    sorting the integers orders the ids as Arrow sorts strings (bytewise) and is several
    times cheaper than hashing the strings and sorting the distinct ones.
    """
    blocks, valid, width = [], [], 0
    for chunk in col.chunks:
        ok = chunk.is_valid().to_numpy(zero_copy_only=False) if chunk.null_count \
            else np.ones(len(chunk), bool)
        rows = chunk.filter(pa.array(ok)) if chunk.null_count else chunk
        valid.append(ok)
        if not len(rows):
            continue
        if not pa.types.is_string(rows.type):
            return None
        offsets = _offsets(rows)
        width = width or int(offsets[1] - offsets[0])
        if not width or (np.diff(offsets) != width).any():
            return None
        blocks.append(np.frombuffer(rows.buffers()[2], np.uint8, len(rows) * width,
                                    int(offsets[0])).reshape(-1, width))
    if not blocks:
        return None
    radix = _Radix(blocks)
    if radix.size > 1 << 64:
        return None
    keys = np.concatenate([radix.of_rows(b) for b in blocks])
    bits = max(len(keys) - 1, 1).bit_length()
    if radix.size << bits <= 1 << 64:  # each key with its row in one integer: a plain sort
        keys <<= np.uint64(bits)
        keys |= np.arange(len(keys), dtype=np.uint64)
        keys.sort()
        order = (keys & np.uint64((1 << bits) - 1)).astype(np.intp)
        ordered = keys >> np.uint64(bits)
    else:
        order = np.argsort(keys)
        ordered = keys[order]
    first = np.empty(len(ordered), bool)  # where a new id begins in sorted order
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    ranks = np.empty(len(ordered), np.int32)
    ranks[order] = np.cumsum(first, dtype=np.int32) - 1
    valid = np.concatenate(valid)
    if valid.all():
        return ranks, radix.spell(ordered[first])
    codes = np.full(len(valid), -1, np.int32)
    codes[valid] = ranks
    return codes, radix.spell(ordered[first])


class _Radix:
    """The mixed-radix integers of rows of bytes of one width (see _sorted_fixed_width)."""

    TILE = 1 << 14  # rows transposed at a time, to keep the work in cache

    def __init__(self, blocks: list[np.ndarray]):
        width = blocks[0].shape[1]
        self.low, high = np.full(width, 255, np.uint8), np.zeros(width, np.uint8)
        for tile in self._tiles(blocks):
            np.minimum(self.low, tile.min(axis=1), out=self.low)
            np.maximum(high, tile.max(axis=1), out=high)
        self.base = high.astype(np.int64) - self.low + 1
        self.digits = np.flatnonzero(self.base > 1)
        self.size = 1
        for b in self.base[self.digits]:
            self.size *= int(b)

    def _tiles(self, blocks: list[np.ndarray]):
        for block in blocks:
            for i in range(0, len(block), self.TILE):
                yield block[i:i + self.TILE].T.copy()

    def of_rows(self, block: np.ndarray) -> np.ndarray:
        out = np.zeros(len(block), np.uint64)
        for i, tile in zip(range(0, len(block), self.TILE), self._tiles([block]), strict=True):
            key = out[i:i + self.TILE]
            for j in self.digits:
                key *= np.uint64(self.base[j])
                key += tile[j] - self.low[j]
        return out

    def spell(self, keys: np.ndarray) -> pa.Array:
        """The ids of these integers, as strings."""
        out = np.empty((len(keys), len(self.low)), np.uint8)
        out[:] = self.low
        keys = keys.copy()
        for j in self.digits[::-1]:
            out[:, j] += (keys % np.uint64(self.base[j])).astype(np.uint8)
            keys //= np.uint64(self.base[j])
        offsets = np.arange(len(keys) + 1, dtype=np.int32) * len(self.low)
        return pa.StringArray.from_buffers(len(keys), pa.py_buffer(offsets),
                                           pa.py_buffer(out.tobytes()))


def _offsets(arr: pa.Array) -> np.ndarray:
    return np.frombuffer(arr.buffers()[1], np.int32, len(arr) + 1, arr.offset * 4)


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
