"""Opaque node ids for blind viewers, good for one session and one case.

A blind viewer sees a network node outside the case's members as ``kind:<token>``: the
token is the real node key (``patient:P001``) encrypted with AES-SIV (RFC 5297) under
a key derived from the app's ``SECRET_KEY``, with the viewer's session id and the case
id as associated data. So:

- the token says nothing of the id, and cannot be made without the key;
- it opens only for the same session and case: another viewer's token, an old
  session's, or another case's is refused, and so is a real id;
- AES-SIV is deterministic, so a node keeps its token across the responses of a
  session (the network page merges nodes by id);
- nothing is kept on the server: tokens survive a restart with the same key.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["NodeTokens"]

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@lru_cache(maxsize=8)
def _cipher(secret: bytes) -> AESSIV:
    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
               info=b"graphdetect review: blind node tokens").derive(secret)
    return AESSIV(key)


class NodeTokens:
    """Seal and open node keys for one session and one case.

    Parameters
    ----------
    secret : str or bytes
        The app's ``SECRET_KEY``.
    session : str
        The viewer's session id (``current_user.get_id()``).
    case_id : str
        The case whose network the tokens belong to.

    Examples
    --------
    >>> mine = NodeTokens("key", session="s1", case_id="R-0001")
    >>> token = mine.seal("doctor:D42")
    >>> mine.open(token), mine.seal("doctor:D42") == token
    ('doctor:D42', True)
    >>> NodeTokens("key", session="s2", case_id="R-0001").open(token) is None
    True
    >>> mine.open("doctor:D42") is None
    True
    """

    def __init__(self, secret: str | bytes, *, session: str, case_id: str):
        self._siv = _cipher(secret.encode() if isinstance(secret, str) else secret)
        self._data = [session.encode(), case_id.encode()]

    def seal(self, node: str) -> str:
        """The token of a node key (URL-safe base64, no padding)."""
        sealed = self._siv.encrypt(node.encode(), self._data)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, token: str) -> str | None:
        """The node key a token stands for, or None if it was not sealed for this
        session and case (or is no token at all)."""
        if not _TOKEN.fullmatch(token):
            return None
        try:
            sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return self._siv.decrypt(sealed, self._data).decode()
        except (ValueError, InvalidTag):  # bad base64, too short, not ours, not UTF-8
            return None
