"""Names, errors and small helpers shared by the export and verify sides of a package."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata

from ..errors import GraphdetectError

#: The package format written into every manifest; verify refuses other formats.
FORMAT = "graphdetect-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: Environment variable holding the bureau's signing key (any text; its UTF-8 bytes are used).
KEY_ENV = "GRAPHDETECT_SIGNING_KEY"
#: Zip entries carry this date (the earliest a zip can hold) so that zips are reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class ExportError(GraphdetectError):
    """An evidence package cannot be made or read (unknown case, refused, changed data)."""


def safe_name(text: str, *, limit: int = 60) -> str:
    """A file-name part made of ASCII letters, digits, ``_`` and ``-`` only.

    Anything else (``/``, ``..``, NUL, Chinese, spaces) becomes ``_``; when the text had to
    be changed or cut, a short hash of the original keeps different ids apart.

    Examples
    --------
    >>> safe_name("R-0001")
    'R-0001'
    >>> safe_name("../etc/passwd")
    'etc_passwd-7fef78f5'
    >>> safe_name("案件一")
    'x-7f555f43'
    """
    text = str(text)
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFKC", text)).strip("_-")[:limit]
    if cleaned == text:
        return cleaned
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned or 'x'}-{digest}"


def printable(text: object) -> str:
    """Text with characters that XML and PDF cannot carry shown as ``\\xNN`` escapes.

    >>> printable("P1\\x00/..")
    'P1\\\\x00/..'
    """
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def signing_key(key: str | bytes | None = None) -> bytes | None:
    """The signing key: ``key`` when given, else ``$GRAPHDETECT_SIGNING_KEY``, else None."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if key is None:
        return None
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key, so a reader can tell which key signed.

    >>> key_id(b"secret")
    'ebe6374afc11f66e'
    """
    return hashlib.sha256(b"graphdetect-key-id:" + key).hexdigest()[:16]


def sign(data: bytes, key: bytes) -> str:
    """Hex HMAC-SHA256 of ``data``.

    >>> sign(b"{}", b"k")[:16]
    'add853b103fbcc93'
    """
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
