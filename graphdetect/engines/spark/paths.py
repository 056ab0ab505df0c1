"""Where a data folder's files are when DATA is a URI Spark reads: listed by Hadoop, read
by the executors through ``pyarrow.fs``.

A local folder is listed as the embedded reader lists it
(:func:`graphdetect.io._files.table_files`). A URI (``file:///data/city``,
``hdfs://nn:8020/claims``, ``s3a://bucket/city``) is listed by Hadoop's ``FileSystem`` in
the driver's JVM — whatever connectors Spark has — under the same rules: one entry per
table, a file or a folder of ``.csv`` and ``.parquet`` files at any depth (a partitioned
Parquet dataset), names beginning with ``.`` or ``_`` skipped, read in sorted path order.

Each executor then reads its file: a ``file:`` URI at its local path, any other through
``pyarrow.fs`` (``hdfs://`` needs Hadoop's ``libhdfs``; ``s3a://`` is read as ``s3://``,
with the AWS credentials pyarrow finds), copied to the executor's local disk first, since
graphdetect's reader reads local files.

>>> uri_of("hdfs://nn:8020/city")
'hdfs://nn:8020/city'
>>> uri_of(Path("file:///data/city")), uri_of(Path("s3a://bucket/city"))
('file:/data/city', 's3a://bucket/city')
>>> uri_of("datasets/sample") is None
True
>>> arrow_uri("s3a://bucket/city/claims.csv")
's3://bucket/city/claims.csv'
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import DataError, EngineError
from ...schema import TABLES

__all__ = ["uri_of", "arrow_uri", "list_uri", "probe", "local_copy"]

SUFFIXES = (".csv", ".parquet")
#: A URI's scheme (two letters at least: ``C:/`` is a Windows drive, not a scheme).
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):/")
#: Hadoop's schemes that pyarrow knows by another name.
_ARROW_SCHEMES = {"s3a": "s3", "s3n": "s3"}


def uri_of(data) -> str | None:
    """DATA as a URI when it is one, else None (a local folder).

    A ``Path`` folds a URI's ``//`` into ``/`` (``Path("hdfs://nn/x")`` is ``hdfs:/nn/x``);
    it is unfolded here (``file:/x`` stays, Hadoop reads it as ``file:///x``), assuming an
    authority after any other scheme: pass ``hdfs:///x`` (the default namenode) as text.
    """
    text = str(data)
    scheme = _SCHEME.match(text)
    if scheme is None or Path(text).exists():  # a local folder named "x:" all the same
        return None
    if isinstance(data, Path) and scheme.group(1).lower() != "file":
        return f"{scheme.group(0)}/{text[scheme.end():]}"
    return text


def arrow_uri(uri: str) -> str:
    """A Hadoop URI as pyarrow's ``FileSystem.from_uri`` names the same file."""
    scheme, _, rest = uri.partition(":")
    return f"{_ARROW_SCHEMES.get(scheme.lower(), scheme)}:{rest}"


def _local(uri: str) -> bool:
    return uri.partition(":")[0].lower() == "file"


def probe(spark, uri: str) -> None:
    """Stop with one line when the executors cannot open ``uri`` through ``pyarrow.fs``
    (asked of an executor, where the files are read): a missing ``libhdfs``, an unknown
    scheme. ``file:`` URIs need no check.

    Raises
    ------
    EngineError
        Naming the URI, what pyarrow said, and what hdfs and s3 need.
    """
    if _local(uri):
        return
    said = spark.sparkContext.parallelize([uri], 1).map(_open_here).collect()[0]
    if said:
        raise EngineError("engine.no_reader", uri=uri, said=said)


def _open_here(uri: str) -> str | None:
    """What pyarrow says when it cannot open ``uri``'s filesystem in this process (its
    first line), or None."""
    import pyarrow as pa
    from pyarrow import fs

    try:
        fs.FileSystem.from_uri(arrow_uri(uri))
    except (OSError, pa.ArrowException, ValueError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return lines[0] if lines else type(exc).__name__
    return None


def list_uri(spark, uri: str) -> list[tuple[str, str, str]]:
    """The files of every table under the data folder ``uri``: ``(table, name relative to
    the folder, location)`` in reading order, as :func:`graphdetect.io._files.table_files`
    finds them in a local folder. A location is a local path for ``file:`` URIs, else the
    file's URI.

    Raises
    ------
    DataError
        As the embedded reader: no folder there, a required table missing, a table given
        twice, a table folder empty or holding another file.
    """
    jvm = spark._jvm
    hadoop = jvm.org.apache.hadoop.fs
    root = hadoop.Path(uri)
    fs = root.getFileSystem(spark._jsc.hadoopConfiguration())
    root = fs.makeQualified(root)
    status = _status(fs, root)
    if status is None or not status.isDirectory():
        raise DataError(uri, "data.not_folder")
    base = root.toUri().getPath().rstrip("/")
    local = _local(uri)
    found = []
    for name, table in TABLES.items():
        entries = {f"{name}{ext}": _status(fs, hadoop.Path(root, f"{name}{ext}"))
                   for ext in SUFFIXES}
        for entry, st in entries.items():
            if st is not None and not st.isFile():
                raise DataError(entry, "data.not_a_file")
        names = [entry for entry, st in entries.items() if st is not None]
        folder = _status(fs, hadoop.Path(root, name))
        if folder is not None and folder.isDirectory():
            names.append(f"{name}/")
        if len(names) > 1:
            raise DataError(names[1], "data.both_exist", first=names[0], second=names[1])
        if not names:
            if table.required:
                raise DataError(f"{name}.csv", "data.no_table", table=name, folder=uri)
            continue
        if not names[0].endswith("/"):
            path = entries[names[0]].getPath()
            found.append((name, names[0], _location(path, local)))
            continue
        files = []
        listing = fs.listFiles(folder.getPath(), True)
        while listing.hasNext():
            path = listing.next().getPath()
            rel = path.toUri().getPath()[len(base) + 1:]
            if any(part[0] in "._" for part in rel.split("/")[1:]):
                continue
            if Path(rel).suffix.lower() not in SUFFIXES:
                raise DataError(rel, "data.not_table_file")
            files.append((rel, _location(path, local)))
        if not files:
            raise DataError(f"{name}/", "data.empty_folder", folder=f"{uri.rstrip('/')}/{name}")
        found += [(name, rel, location) for rel, location in sorted(files)]
    return found


def _status(fs, path):
    """A path's FileStatus, or None when nothing is there."""
    from py4j.protocol import Py4JJavaError

    try:
        return fs.getFileStatus(path)
    except Py4JJavaError as exc:
        if exc.java_exception.getClass().getName() == "java.io.FileNotFoundException":
            return None
        raise


def _location(path, local: bool) -> str:
    """Where an executor reads a listed file: its local path, or its URI."""
    return str(path.toUri().getPath()) if local else str(path.toUri().toString())


@contextmanager
def local_copy(location: str) -> Iterator[Path]:
    """A listed file as a local path: itself, or a copy on this machine's disk of a file
    read through ``pyarrow.fs`` (removed when the block ends), named with its suffix."""
    if uri_of(location) is None:
        yield Path(location)
        return
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(arrow_uri(location))
    with tempfile.TemporaryDirectory(prefix="graphdetect-") as tmp:
        copy = Path(tmp) / f"file{Path(path).suffix}"
        with filesystem.open_input_stream(path) as src, open(copy, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        yield copy
