"""Write a package's files as a folder and a reproducible zip beside it.

Evidence names real people, so a package is its owner's alone: files (and zip entries)
``FILE_MODE`` 0600, folders ``DIR_MODE`` 0700, whatever the umask.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from ._common import MANIFEST, SIGNATURE, ZIP_DATE, sign

__all__ = ["write_package", "zip_path", "FILE_MODE", "DIR_MODE"]

#: Package files (and zip entries) are the owner's alone: evidence names real people.
FILE_MODE = 0o600
DIR_MODE = 0o700


def zip_path(folder: Path) -> Path:
    """The zip written beside a package folder."""
    return folder.with_name(folder.name + ".zip")


def write_package(out: Path, name: str, files: dict[str, bytes], manifest: dict,
           key: bytes | None) -> Path:
    """Write folder and zip beside each other, each replaced whole or not at all."""
    files = dict(files)
    files[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False)
                       + "\n").encode()
    if key:
        files[SIGNATURE] = (sign(files[MANIFEST], key) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)  # a folder it makes: the owner's
    tmp = Path(tempfile.mkdtemp(prefix=".export-tmp-", dir=out))  # 0700 until moved out
    try:
        pkg = tmp / name
        pkg.mkdir()
        os.chmod(pkg, DIR_MODE)
        for n, b in sorted(files.items()):
            _make_dirs(pkg, n)
            _write_private(pkg / n, b)
        _write_private(tmp / "package.zip", _zip(name, files))
        folder = out / name
        if folder.exists():
            old = tmp / "old"
            folder.rename(old)
        pkg.rename(folder)
        (tmp / "package.zip").replace(zip_path(folder))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _zip(name: str, files: dict[str, bytes]) -> bytes:
    """The package as a reproducible zip: entries ``name/file`` in order, fixed dates."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in sorted(files.items()):
            info = zipfile.ZipInfo(f"{name}/{n}", date_time=ZIP_DATE)
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            info.create_system = 3
            zf.writestr(info, b, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buf.getvalue()


def _make_dirs(pkg: Path, name: str) -> None:
    """The folders of a file in a subfolder (``appeals/1/...``), the owner's alone."""
    folder = pkg
    for part in Path(name).parts[:-1]:
        folder = folder / part
        if not folder.is_dir():
            folder.mkdir()
            os.chmod(folder, DIR_MODE)


def _write_private(path: Path, data: bytes) -> Path:
    """Write a file that only its owner may read (``FILE_MODE``), whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), FILE_MODE)
        f.write(data)
    return path
