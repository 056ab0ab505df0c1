"""Progress bars that a ``--quiet`` flag silences."""

from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(show: bool, **kwargs) -> tqdm:
    """A tqdm bar on stderr, or a silent one when ``show`` is false."""
    return tqdm(disable=not show, leave=False, dynamic_ncols=True, **kwargs)
