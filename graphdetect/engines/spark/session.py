"""The SparkSession a run uses: checked requirements, a master URL that answers, quiet
logging (the JVM's console to a log file that a failure's one line names).

>>> check_master("local[2]")
'local[2]'
>>> parse_conf(["spark.executor.memory=4g", "spark.sql.shuffle.partitions = 8"])
{'spark.executor.memory': '4g', 'spark.sql.shuffle.partitions': '8'}
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from importlib.resources import files
from pathlib import Path

from ...errors import EngineError

__all__ = ["check_master", "parse_conf", "require", "spark_session", "quiet_warnings",
           "answering"]

#: The master URLs Spark accepts (``SparkContext``'s own list), checked before a JVM starts.
_MASTER = re.compile(
    r"local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?"
    r"|local-cluster\[[1-9]\d*,\s*[1-9]\d*,\s*[1-9]\d*\]"
    r"|spark://[^\s/:]+(:\d+)?(,[^\s/:]+(:\d+)?)*"
    r"|yarn|k8s://\S+")
#: What graphdetect sets unless ``--spark-conf`` says otherwise. The driver collects the
#: typed claims for the detectors (they run there for now): its results are not capped,
#: and on a local master, where the executors live in the driver's JVM, it gets 4 GB and
#: two shuffle partitions a core (Spark's 200 are for clusters).
DEFAULTS = {
    "spark.driver.maxResultSize": "0",
    "spark.app.name": "graphdetect",
    "spark.ui.showConsoleProgress": "false",  # graphdetect prints its own progress
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",  # times are local wall clocks (timestamp_ntz)
}


def check_master(master: str) -> str:
    """``master`` when it is a Spark master URL, else an :class:`EngineError` (one line)."""
    if not isinstance(master, str) or not _MASTER.fullmatch(master.strip()):
        raise EngineError("engine.bad_master", master=master)
    return master.strip()


def parse_conf(items: Iterable[str]) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` options as a mapping (the last of a key wins)."""
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise EngineError("engine.bad_conf", value=item)
        out[key.strip()] = value.strip()
    return out


def java(environ=os.environ, which=shutil.which) -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java``, else the one on the PATH."""
    home = environ.get("JAVA_HOME")
    if home:
        exe = Path(home) / "bin" / "java"
        return str(exe) if exe.is_file() else None
    return which("java")


def require(*, find_spec=importlib.util.find_spec, java_path=java) -> None:
    """Stop with one line saying what to install when PySpark or Java is missing.

    Raises
    ------
    EngineError
        ``engine.no_pyspark`` or ``engine.no_java``.
    """
    if find_spec("pyspark") is None:
        raise EngineError("engine.no_pyspark")
    if java_path() is None:
        raise EngineError("engine.no_java")


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """PySpark's warning that it does not yet vouch for pandas 3 (graphdetect hands it
    Arrow batches, never pandas frames), silenced where graphdetect calls it.

    The filter is added, never taken back: ``warnings.catch_warnings`` is not safe across
    threads (two detector threads on Spark, one leaving its block while the other is
    inside, restore the filters under the other), and it silences this one message only.
    """
    with _FILTERING:
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
    yield


_FILTERING = threading.Lock()


@contextmanager
def spark_session(master: str, conf: dict[str, str] | None = None) -> Iterator:
    """A SparkSession on ``master`` with ``conf``; stopped at the end if started here.

    A session already active in this process (a notebook's, a test's) is used as it is:
    a JVM holds one SparkContext. The executors run this Python (``PYSPARK_PYTHON``
    unless set), which must have graphdetect installed; on a cluster they must also see
    the data folder at the same path.

    Raises
    ------
    EngineError
        When PySpark or Java is missing, the master is not a master URL, no master of a
        ``spark://`` URL answers (:func:`answering`), or Spark cannot start on it.
    """
    require()
    master = check_master(master)
    answering(master)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        with _naming_the_log():
            yield active
        return
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    local = {"spark.driver.memory": "4g",
             "spark.sql.shuffle.partitions": str(2 * _cores(master))} \
        if master.startswith("local") else {}
    settings = {**DEFAULTS, **local, **(conf or {})}
    log4j = files(__package__).joinpath("log4j2.properties")
    quiet = f"-Dlog4j2.configurationFile=file:{log4j}"
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        settings[key] = f"{quiet} {settings[key]}" if key in settings else quiet
    builder = SparkSession.builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with quiet_warnings():
            _launch(master, settings)
            session = builder.getOrCreate()
    except Exception as exc:  # Py4J and PySpark errors: the JVM's reason, on one line
        raise EngineError("engine.no_session", master=master,
                          detail=_logged(first_line(exc))) from None
    session.sparkContext.setLogLevel("ERROR")
    _quiet_accumulators(session.sparkContext)
    try:
        with _naming_the_log():
            yield session
    finally:
        with suppress(Exception):  # a JVM that died already has nothing to stop
            session.stop()


#: The log of the JVM this process launched (its stderr: Spark's errors, the Python
#: workers' output), removed at exit unless a failure named it.
_LOG: dict = {}


def _launch(master: str, settings: dict[str, str]) -> None:
    """Launch Spark's JVM, its stderr to a log file, unless this process has one: a JVM
    prints every failure's traces (its own and its Python workers'), which graphdetect
    says in one line instead (:func:`_logged`)."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if getattr(SparkContext, "_gateway", None) is not None \
            or "PYSPARK_GATEWAY_PORT" in os.environ:  # a JVM there already (spark-submit)
        return
    conf = SparkConf(loadDefaults=False).setMaster(master).setAll(list(settings.items()))
    fd, path = tempfile.mkstemp(prefix="graphdetect-spark-", suffix=".log")
    if not _LOG:
        atexit.register(_remove_log)
    _LOG.update(path=path, keep=False)
    os.close(fd)
    with open(path, "ab") as log:       # appended to by the JVM and this process alike
        gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
    _py4j_to_log(path)
    SparkContext(conf=conf, gateway=gateway)


def _py4j_to_log(path: str) -> None:
    """py4j reports a connection lost to the JVM through the root logger
    (``logging.exception``), whose first use with no handler prints the record, trace and
    all, beside the one line graphdetect says: under load it did. py4j's records on the
    root logger go to the JVM's log instead, the one that line names; everyone else's go
    where they went."""
    root = logging.getLogger()
    for old in [f for f in root.filters if isinstance(f, _Py4jToLog)]:
        root.removeFilter(old)
        old.handler.close()
    root.addFilter(_Py4jToLog(path))


class _Py4jToLog(logging.Filter):
    """A root-logger filter that writes py4j's records to a file and stops them there."""

    def __init__(self, path: str):
        super().__init__()
        self.handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        self.handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
        self.where = f"{os.sep}py4j{os.sep}"

    def filter(self, record: logging.LogRecord) -> bool:
        if self.where not in record.pathname:
            return True
        self.handler.handle(record)
        return False


def _logged(detail: str) -> str:
    """An error's detail, naming the JVM's log (kept, then) when this process made one."""
    if not _LOG:
        return detail
    _LOG["keep"] = True
    return f"{detail}; Spark's log: {_LOG['path']}"


#: How the JVM says it ran out of memory.
_OOM = "java.lang.OutOfMemoryError"


def out_of_memory(text: str) -> str | None:
    """The first saying of ``text`` that the JVM ran out of memory
    (``java.lang.OutOfMemoryError: Java heap space``), or None."""
    at = text.find(_OOM)
    return None if at < 0 else text[at:].splitlines()[0].strip()


def _log_size() -> int:
    """How much the JVM's log holds now (0 without one)."""
    try:
        return os.path.getsize(_LOG["path"])
    except (KeyError, OSError):
        return 0


def _log_since(start: int, most: int = 1 << 22) -> str:
    """What the JVM's log gained after ``start`` bytes (its last ``most`` bytes at most;
    Spark's log holds errors only), or ''."""
    try:
        with open(_LOG["path"], "rb") as f:
            f.seek(max(start, f.seek(0, os.SEEK_END) - most))
            return f.read().decode("utf-8", "replace")
    except (KeyError, OSError):
        return ""


@contextmanager
def _naming_the_log() -> Iterator[None]:
    """A failed job's one line names the log that holds Spark's traces, and says so when
    the JVM ran out of memory (on a local master it dies of it, and the job's own error
    is then only a lost connection or an interrupted wait)."""
    start = _log_size()
    try:
        yield
    except EngineError as exc:
        if "detail" not in exc.args_:
            raise
        key, detail = exc.key, exc.args_["detail"]
        if exc.key == "engine.job_failed":
            said = out_of_memory(detail) or out_of_memory(_log_since(start))
            if said:
                key, detail = "engine.out_of_memory", said
        if key == exc.key and not _LOG:
            raise
        raise EngineError(key, **{**exc.args_, "detail": _logged(detail)}) from None


def _remove_log() -> None:
    if _LOG and not _LOG["keep"]:
        with suppress(OSError):
            os.unlink(_LOG["path"])


def answering(master: str, timeout: float = 5.0) -> None:
    """Stop with one line when no master of a ``spark://`` URL accepts a connection.

    Spark itself would start and then retry registering for a minute before giving up
    in the background, leaving the run's first job waiting; this asks first.

    Raises
    ------
    EngineError
        ``engine.no_session``, naming the addresses tried and why each failed.
    """
    if not master.startswith("spark://"):
        return
    tried = []
    for address in master[len("spark://"):].split(","):
        host, _, port = address.partition(":")
        try:
            socket.create_connection((host, int(port or 7077)), timeout=timeout).close()
        except OSError as exc:
            tried.append(f"{host}:{port or 7077}: {exc.strerror or type(exc).__name__}")
        else:
            return
    raise EngineError("engine.no_session", master=master,
                      detail=f"no Spark master answers ({'; '.join(tried)})")


def _quiet_accumulators(sc) -> None:
    """No traceback from PySpark's accumulator server when the JVM goes away (killed,
    out of memory): the connection it loses is the run's, whose error says so in one line.
    Its other errors are printed as before."""
    server = getattr(sc, "_accumulatorServer", None)
    if server is None:
        return
    handle_error = server.handle_error

    def handle(request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (EOFError, ConnectionError)):
            handle_error(request, client_address)

    server.handle_error = handle


def _cores(master: str) -> int:
    """The cores a local master runs on (``local``: one, ``local[*]``: all)."""
    n = re.search(r"\[(\*|\d+)", master)
    if n is None:
        return 1
    return (os.cpu_count() or 1) if n.group(1) == "*" else int(n.group(1))


def first_line(exc: BaseException) -> str:
    """An exception's message as one line: a JVM error's first line, without its trace
    (its class name when the JVM is gone and cannot say more)."""
    try:
        words = getattr(exc, "java_exception", None)
        text = str(words.toString()) if words is not None else str(exc)
    except Exception:  # the JVM died (out of memory): it cannot render its error
        text = type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any(ln.startswith("Traceback") for ln in lines):  # a Python worker's: its last line
        return lines[-1]
    return lines[0] if lines else type(exc).__name__
