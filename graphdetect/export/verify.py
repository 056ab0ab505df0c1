"""Check an evidence package (folder or zip) against its manifest and signature.

Every file the manifest lists must be there with its SHA-256 and size; no other file may
be there (besides ``manifest.json`` and ``manifest.sig``). A signed package needs the
key to be checked; with a key set, an unsigned package fails. Nothing is extracted from
a zip and no path from the manifest is ever opened: names are only compared.

A package with run history (``chain.json``) must hold a consistent hash chain: each
run's recorded link names the next-older run of the chain and its ``cases_sha256``.
Given the run folders (``runs``), each run of the chain found there must have a
``cases.jsonl`` with the SHA-256 the package recorded; a run not found is "not checked".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..runs import Runs
from ._common import FORMAT, KEY_ENV, MANIFEST, SIGNATURE, ExportError, key_id, sign, signing_key
from ._history import CHAIN, as_runs, chain_problems, run_problems

__all__ = ["verify_package", "VerifyResult"]


@dataclass
class VerifyResult:
    """What ``verify_package`` found.

    Attributes
    ----------
    path : Path
        The package checked.
    problems : list of tuple
        ``(what, file, detail)`` with ``what`` one of ``changed``, ``missing``, ``extra``,
        ``signature``, ``manifest``, ``chain`` (``chain.json`` does not hold) or ``run``
        (a run's ``cases.jsonl`` differs from the chain; ``file`` is the run id); empty
        when every check holds.
    files : int
        Files the manifest lists.
    signature : str
        ``valid``, ``unsigned`` (and no key set), or ``not checked`` / ``invalid``.
    manifest : dict or None
        The manifest, when it could be read.
    chain : list of dict or None
        The runs of ``chain.json``, oldest first; None for a package without run history.
    runs : dict
        Run id -> ``matches``, ``changed`` or ``not checked``, for each run of the chain
        when run folders were given.
    """

    path: Path
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    files: int = 0
    signature: str = "unsigned"
    manifest: dict | None = None
    chain: list[dict] | None = None
    runs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """A report for people: one line per problem, the verdict, then one line per run
        of the chain checked against run folders."""
        out = [f"{what.upper():<9} {name}: {detail}" for what, name, detail in self.problems]
        if self.ok:
            sig = {"valid": "HMAC signature valid",
                   "unsigned": "not signed"}.get(self.signature, self.signature)
            out.append(f"OK: all {self.files} files match manifest.json; {sig}; "
                       f"{self._chain_said()} ({self.path})")
        else:
            out.append(f"FAILED: {len(self.problems)} problem(s) in {self.path}")
        said = {"matches": "cases.jsonl matches the package",
                "changed": "cases.jsonl differs from the package",
                "not checked": "not checked (not among the run folders given)"}
        return out + [f"run {rid}: {said[state]}" for rid, state in self.runs.items()]

    def _chain_said(self) -> str:
        if self.chain is None:
            return "no run history in this package"
        ids = ", ".join(str(e.get("run_id")) for e in self.chain)
        return f"the hash chain of {len(self.chain)} run(s) holds ({ids})"


def verify_package(path: str | Path, *, key: str | bytes | None = None,
                   runs: Runs | Iterable[str | Path] | None = None) -> VerifyResult:
    """Check every hash, size and the signature of a package folder or ``.zip``, and the
    hash chain of the runs the case came from.

    Parameters
    ----------
    path : str or Path
        The package folder, or its zip.
    key : str or bytes, optional
        The signing key; default ``$GRAPHDETECT_SIGNING_KEY``.
    runs : Runs or list of str or Path, optional
        Run folders and/or folders of them: each run of the package's chain found there
        must have the ``cases.jsonl`` the package recorded.

    Raises
    ------
    ExportError
        When ``path`` is neither a folder nor a readable zip, or ``runs`` names something
        that is neither a run folder nor a folder of them.

    Examples
    --------
    >>> import tempfile
    >>> from graphdetect.export import export_case
    >>> from graphdetect.run import detect_folder
    >>> tmp = tempfile.mkdtemp()
    >>> _ = detect_folder("datasets/sample", f"{tmp}/run")
    >>> folder = export_case(f"{tmp}/run", "S-0001", f"{tmp}/exports")
    >>> result = verify_package(folder)
    >>> result.ok, result.problems
    (True, [])
    """
    path = Path(path)
    pool = as_runs(runs)
    contents = _read(path)
    result = VerifyResult(path=path)
    raw = contents.pop(MANIFEST, None)
    sig = contents.pop(SIGNATURE, None)
    if raw is None:
        result.problems.append(("missing", MANIFEST, "no manifest: not an evidence package, "
                                "or its manifest was removed"))
        result.problems += [("extra", n, "not listed in any manifest") for n in sorted(contents)]
        return result
    try:
        manifest = json.loads(raw.decode("utf-8"))
        listed = {str(f["path"]): f for f in manifest["files"]}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        result.problems.append(("manifest", MANIFEST, f"unreadable ({exc.__class__.__name__})"))
        return result
    result.manifest = manifest
    result.files = len(listed)
    if manifest.get("format") != FORMAT:
        result.problems.append(("manifest", MANIFEST, f"format {manifest.get('format')!r} is "
                                f"not {FORMAT!r}"))
    for name, entry in sorted(listed.items()):
        data = contents.get(name)
        if data is None:
            result.problems.append(("missing", name, "listed in the manifest, not in the package"))
        elif hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            result.problems.append(("changed", name, "SHA-256 differs from the manifest"))
        elif len(data) != entry.get("size"):
            result.problems.append(("changed", name, "size differs from the manifest"))
    result.problems += [("extra", n, "not listed in the manifest")
                        for n in sorted(set(contents) - set(listed))]
    _check_signature(result, raw, sig, manifest.get("signature"), signing_key(key))
    if CHAIN in listed and CHAIN in contents:
        _check_chain(result, contents[CHAIN], pool)
    return result


def _check_chain(result: VerifyResult, raw: bytes, pool: Runs | None) -> None:
    """The chain inside the package, then (given ``pool``) against the run folders."""
    try:
        chain = json.loads(raw.decode("utf-8"))["runs"]
        if not isinstance(chain, list) or not all(isinstance(e, dict) for e in chain):
            raise TypeError
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        result.problems.append(("chain", CHAIN, f"unreadable ({exc.__class__.__name__})"))
        return
    result.chain = chain
    result.problems += [("chain", CHAIN, why) for why in chain_problems(chain)]
    newest = str(chain[-1].get("run_id")) if chain else None
    if result.manifest and newest != str(result.manifest.get("run_id")):
        result.problems.append(("chain", CHAIN, f"the chain ends at {newest}, the package is "
                                f"of run {result.manifest.get('run_id')}"))
    if pool is None:
        return
    changed, missing = run_problems(chain, pool)
    result.problems += [("run", rid, why) for rid, why in changed]
    for entry in chain:
        rid = str(entry.get("run_id"))
        result.runs[rid] = ("changed" if rid in dict(changed) else
                            "not checked" if rid in missing else "matches")


def _check_signature(result: VerifyResult, raw: bytes, sig: bytes | None, declared,
                     key: bytes | None) -> None:
    if sig is None and not declared:
        if key is not None:
            result.signature = "invalid"
            result.problems.append(("signature", MANIFEST, f"{KEY_ENV} is set but the package "
                                    "is not signed"))
        return
    if sig is None:
        result.signature = "invalid"
        result.problems.append(("missing", SIGNATURE, "the manifest says the package is signed"))
        return
    if key is None:
        result.signature = "not checked"
        result.problems.append(("signature", SIGNATURE, f"the package is signed but {KEY_ENV} "
                                "is not set: cannot check the signature"))
        return
    text = sig.decode("ascii", "replace").strip()
    if not hmac.compare_digest(text, sign(raw, key)):
        result.signature = "invalid"
        wanted = (declared or {}).get("key_id") if isinstance(declared, dict) else None
        why = (f"signed with another key (key id {wanted}, yours {key_id(key)})"
               if wanted and wanted != key_id(key) else "HMAC does not match manifest.json")
        result.problems.append(("signature", SIGNATURE, why))
        return
    result.signature = "valid"


def _read(path: Path) -> dict[str, bytes]:
    """Package file name (relative, POSIX) -> bytes, for a folder or a zip."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes()
                for p in sorted(path.rglob("*")) if p.is_file()}
    if not path.is_file():
        raise ExportError(f"{path}: no such package (folder or .zip)")
    try:
        with zipfile.ZipFile(path) as zf:
            entries = [i for i in zf.infolist() if not i.is_dir()]
            prefix = _zip_prefix([i.filename for i in entries])
            out: dict[str, bytes] = {}
            for info in entries:
                name = info.filename
                if not prefix:
                    rel = name
                elif name.startswith(prefix):
                    rel = name[len(prefix):]
                else:  # beside the package folder in the zip: always extra
                    rel = f"../{name}"
                out[rel] = zf.read(info)
            return out
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise ExportError(f"{path}: not a readable zip or package folder ({exc})") from None


def _zip_prefix(names: list[str]) -> str:
    """The package folder inside a zip: the shallowest folder holding manifest.json."""
    hits = sorted((len(PurePosixPath(n).parts), n) for n in names
                  if PurePosixPath(n).name == MANIFEST)
    if not hits:
        tops = {PurePosixPath(n).parts[0] for n in names if len(PurePosixPath(n).parts) > 1}
        return f"{tops.pop()}/" if len(tops) == 1 else ""
    parent = str(PurePosixPath(hits[0][1]).parent)
    return "" if parent == "." else f"{parent}/"
