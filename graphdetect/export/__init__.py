"""Evidence packages for referral to public security (移送公安).

``export_case`` writes one case as a folder and a reproducible zip: a Chinese PDF report
with its CJK font embedded, the evidence claims with every source column, the members,
the case network, figures, the case across runs and the hash chain of those runs, and a
manifest of SHA-256 hashes (HMAC-signed when ``$GRAPHDETECT_SIGNING_KEY`` is set).
``verify_package`` checks one, and the chain against the run folders when given them.

See :func:`export_case` and :func:`verify_package` for runnable examples.
"""

from __future__ import annotations

from ._common import KEY_ENV, ExportError, safe_name
from .package import export_case, export_refusal, package_name, zip_path
from .verify import VerifyResult, verify_package

__all__ = ["export_case", "export_refusal", "verify_package", "VerifyResult", "ExportError",
           "package_name", "safe_name", "zip_path", "KEY_ENV"]
