"""Ids of one width (``3399054996082494``) as integers: sorted without hashing a string.

Each byte position is a digit whose base is the range of bytes seen there. When such an
integer fits 64 bits, sorting the integers orders the ids as Arrow sorts strings
(bytewise) and is several times cheaper than hashing the strings and sorting the
distinct ones. A column whose ids follow another's codes (a patient's card) is not
sorted again: each of its rows is checked against its patient's card.

>>> import pyarrow as pa
>>> patients = pa.chunked_array([["P2", "P1", "P2"]])
>>> ranks, words, rows = FixedIds.of(patients).sorted()
>>> ranks.tolist(), words.to_pylist(), rows.tolist()
([1, 0, 1], ['P1', 'P2'], [1, 0])
>>> cards = FixedIds.of(pa.chunked_array([["C9", "C5", "C7"]]))
>>> codes, words, rows = cards.following(lambda: (ranks, np.array([1, 0])))
>>> codes.tolist(), words.to_pylist(), rows.tolist()
([2, 0, 1], ['C5', 'C7', 'C9'], [1, 2, 0])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

__all__ = ["FixedIds"]


class FixedIds:
    """The non-null ids of a text column, all of one width, as rows of bytes.

    Use :meth:`of`; ``blocks`` holds a ``(rows, width)`` byte view per chunk, ``valid``
    per row of the column whether it has an id.
    """

    def __init__(self, blocks: list[np.ndarray], valid: np.ndarray, radix: _Radix):
        self.blocks, self.valid, self.radix = blocks, valid, radix

    @classmethod
    def of(cls, col: pa.ChunkedArray) -> FixedIds | None:
        """The ids of ``col``; None unless they are strings of one width whose integers
        fit 64 bits."""
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
            offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
            width = width or int(offsets[1] - offsets[0])
            if not width or (np.diff(offsets) != width).any():
                return None
            blocks.append(np.frombuffer(rows.buffers()[2], np.uint8, len(rows) * width,
                                        int(offsets[0])).reshape(-1, width))
        if not blocks:
            return None
        radix = _Radix(blocks)
        return cls(blocks, np.concatenate(valid), radix) if radix.size <= 1 << 64 else None

    def keys(self) -> np.ndarray:
        """The integer of each id, in row order (null rows left out)."""
        return np.concatenate([self.radix.of_rows(b) for b in self.blocks])

    def sorted(self) -> tuple[np.ndarray, pa.Array, np.ndarray]:
        """Codes (-1 for null) into the sorted distinct ids, those ids, and per id a row of
        the column that holds it."""
        keys = self.keys()
        bits = max(len(keys) - 1, 1).bit_length()
        if self.radix.size << bits <= 1 << 64:  # each key with its row in one integer
            keys <<= np.uint64(bits)
            keys |= np.arange(len(keys), dtype=np.uint64)
            keys.sort()
            order = (keys & np.uint64((1 << bits) - 1)).view(np.int64)  # rows < 2**63
            ordered = keys >> np.uint64(bits)
        else:
            order = np.argsort(keys)
            ordered = keys[order]
        first = np.empty(len(ordered), bool)  # where a new id begins in sorted order
        first[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        ranks = np.empty(len(ordered), np.int32)
        ranks[order] = np.cumsum(first, dtype=np.int32) - 1
        return self._result(ranks, order[first])

    def following(self, parent: Callable[[], tuple[np.ndarray, np.ndarray] | None]
                  ) -> tuple[np.ndarray, pa.Array, np.ndarray]:
        """As :meth:`sorted`, from what :meth:`sorted` gave a column that mostly decides
        these ids (a card per patient): its codes and per code a row.

        ``parent`` is called once this column's integers are made (the parent may still
        be in the making); None from it means sort. A parent's id here is the one on its
        row; a row whose id differs from its parent's, or whose parent is null, is sorted
        with those ids, so any column gets its exact codes, and a column that follows
        sorts one id per parent, not one per row.
        """
        keys = self.keys()
        lead = parent()
        if lead is None:
            return self.sorted()
        codes, rows = lead
        codes = codes if self.valid.all() else codes[self.valid]
        at = self._positions(rows)  # per parent, its row among this column's ids
        has = at >= 0
        of_parent = keys[np.where(has, at, 0)]
        follows = of_parent[codes] == keys
        follows &= codes >= 0
        if not has.all():
            follows &= has[codes]
        parents, own = np.flatnonzero(has), np.flatnonzero(~follows)
        candidates = np.concatenate([of_parent[parents], keys[own]])
        order = np.argsort(candidates, kind="stable")
        ordered = candidates[order]
        first = np.ones(len(ordered), bool)
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        rank = np.empty(len(ordered), np.int32)
        rank[order] = np.cumsum(first, dtype=np.int32) - 1
        of_code = np.full(len(has) + 1, -1, np.int32)  # the last slot: null parents
        of_code[parents] = rank[:len(parents)]
        ranks = of_code[codes]
        ranks[own] = rank[len(parents):]
        return self._result(ranks, np.concatenate([at[parents], own])[order][first])

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        """Rows of the column as positions among its ids (-1 where it is null)."""
        if self.valid.all():
            return rows
        return np.where(self.valid[rows], np.cumsum(self.valid)[rows] - 1, -1)

    def _result(self, ranks: np.ndarray, at: np.ndarray
                ) -> tuple[np.ndarray, pa.Array, np.ndarray]:
        """Codes, ids and rows from ranks per id and positions of one id each."""
        rows = at if self.valid.all() else np.flatnonzero(self.valid)[at]
        return self._codes(ranks), self._spell(at), rows

    def _codes(self, ranks: np.ndarray) -> np.ndarray:
        """Codes per row of the column from ranks per id (null rows get -1)."""
        if self.valid.all():
            return ranks
        codes = np.full(len(self.valid), -1, np.int32)
        codes[self.valid] = ranks
        return codes

    def _spell(self, rows: np.ndarray) -> pa.StringArray:
        """The ids at these rows (numbered over all blocks), as strings: one row per
        distinct id is copied, cheaper than spelling each from its integer."""
        width = self.blocks[0].shape[1]
        item = np.dtype((np.void, width))  # an id as one item: numpy copies it whole
        out = np.empty(len(rows), item)
        start = 0
        for block in self.blocks:
            at = np.flatnonzero((rows >= start) & (rows < start + len(block)))
            out[at] = block.view(item).reshape(-1)[rows[at] - start]
            start += len(block)
        offsets = np.arange(len(rows) + 1, dtype=np.int32) * width
        return pa.StringArray.from_buffers(len(rows), pa.py_buffer(offsets), pa.py_buffer(out))


class _Radix:
    """The mixed-radix integers of rows of bytes of one width."""

    TILE = 1 << 14  # rows worked on at a time, to keep the work in cache

    def __init__(self, blocks: list[np.ndarray]):
        width = blocks[0].shape[1]
        self.low, high = np.full(width, 255, np.uint8), np.zeros(width, np.uint8)
        for block in blocks:
            for i in range(0, len(block), self.TILE):
                tile = block[i:i + self.TILE].T.copy()  # per position, its bytes in a row
                np.minimum(self.low, tile.min(axis=1), out=self.low)
                np.maximum(high, tile.max(axis=1), out=high)
        self.base = high.astype(np.int64) - self.low + 1
        self.digits = np.flatnonzero(self.base > 1)
        self.size = 1
        for b in self.base[self.digits]:
            self.size *= int(b)

    def of_rows(self, block: np.ndarray) -> np.ndarray:
        """The integer of each row.

        Digits are gathered in 32-bit groups (vector units multiply 32-bit integers, not
        64-bit ones) and the groups joined in 64 bits; each group's byte offsets are taken
        off once, as one constant (the arithmetic wraps modulo 2**32 to the exact value).
        """
        groups: list[tuple[list[int], int, int]] = [([], 1, 0)]
        for j in self.digits:
            digits, size, offset = groups[-1]
            base = int(self.base[j])
            if size * base >= 1 << 32:
                groups.append(([], 1, 0))
                digits, size, offset = groups[-1]
            groups[-1] = ([*digits, j], size * base, offset * base + int(self.low[j]))
        out = np.zeros(len(block), np.uint64)
        acc = np.empty(min(len(block), self.TILE), np.uint32)
        for i in range(0, len(block), self.TILE):
            tile, key = block[i:i + self.TILE], out[i:i + self.TILE]
            group = acc[:len(key)]
            for digits, size, offset in groups:
                group[:] = 0
                for j in digits:
                    group *= np.uint32(self.base[j])
                    group += tile[:, j]
                group -= np.uint32(offset & 0xFFFFFFFF)
                key *= np.uint64(size)
                key += group
        return out
