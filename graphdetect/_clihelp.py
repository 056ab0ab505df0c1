"""Help texts without reStructuredText markup, for the command line.

The commands' docstrings are numpydoc/RST (``code``, :class:`Name`); click prints a
docstring as it is, so :func:`plain_help` rewrites the help of a command tree once, after
it is assembled.

>>> plain("Typical use: ``graphdetect detect DATA``; see :class:`~graphdetect.Run`.")
'Typical use: graphdetect detect DATA; see graphdetect.Run.'
"""

from __future__ import annotations

import re

import click

__all__ = ["plain", "plain_help"]

_MARKUP = re.compile(r":[a-z:]+:`~?([^`]+)`|``([^`]+)``|`([^`]+)`")


def plain(text: str | None) -> str | None:
    """``text`` with RST roles and literals replaced by their bare words (None stays)."""
    if not text:
        return text
    return _MARKUP.sub(lambda m: next(g for g in m.groups() if g is not None), text)


def plain_help(command: click.Command) -> None:
    """Strip RST markup from the help of ``command``, its options and every subcommand."""
    command.help = plain(command.help)
    command.short_help = plain(command.short_help)
    command.epilog = plain(command.epilog)
    for param in command.params:
        if isinstance(param, click.Option):
            param.help = plain(param.help)
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
