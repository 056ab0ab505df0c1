"""Evidence packages for referral to public security (移送公安).

``export_case`` writes one case as a folder and a reproducible zip: a Chinese PDF report
with its CJK font embedded, the evidence claims with every source column, the members,
the case network, figures, the case across runs and the hash chain of those runs, and a
manifest of SHA-256 hashes (HMAC-signed when ``$GRAPHDETECT_SIGNING_KEY`` is set).
``verify_package`` checks one, and the chain against the run folders when given them.

See :func:`export_case` and :func:`verify_package` for runnable examples.
"""

from __future__ import annotations

from importlib import import_module

from ._common import KEY_ENV, ExportError, safe_name

__all__ = ["export_case", "export_refusal", "verify_package", "VerifyResult", "ExportError",
           "package_name", "safe_name", "zip_path", "KEY_ENV"]

# Imported on first use: the package module loads the detectors and the PDF and plotting
# libraries, which the CLI (it registers the export commands) must not pay for at start.
_LAZY = {"export_case": "package", "export_refusal": "package", "package_name": "package",
         "zip_path": "package", "verify_package": "verify", "VerifyResult": "verify"}


def __getattr__(name: str):
    """The lazily imported names, imported once (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
