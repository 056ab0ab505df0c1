"""The Spark engine beyond a local folder, on a real local[2] Spark: DATA as a URI (a
partitioned Parquet dataset read by ``file://``; ``hdfs://`` and ``s3a://`` where this
machine cannot read them), failures that end in one line and exit 2 with nothing written
(a Python worker that dies, a master that refuses connections), and Spark's stages shown
as progress bars.

Without PySpark or Java these tests skip on a bare machine and FAIL when CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from spark_support import MASTER, SAMPLE, need_spark, same_outputs

from graphdetect.cli import main
from graphdetect.errors import DataError
from graphdetect.run import detect_folder

need_spark()




@pytest.fixture(scope="module")
def partitioned(planted, tmp_path_factory) -> Path:
    """The planted city with its claims as a Hive-style partitioned Parquet dataset
    (``claims/year=2024/month=01/part-0.parquet`` …, two parts a month, written last part
    first), with a ``_SUCCESS`` marker and, in the last part, a claim id repeated from the
    first (changed, so only path order says which row is kept)."""
    out = tmp_path_factory.mktemp("partitioned")
    for name in ("patients", "institutions", "doctors"):
        shutil.copy(planted / f"{name}.csv", out / f"{name}.csv")
    header = (planted / "claims.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    claims = pacsv.read_csv(planted / "claims.csv", convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False, column_types={n: pa.string() for n in header}))
    month = pc.utf8_slice_codeunits(claims.column("start_time"), 0, 7)
    parts = []
    for m in sorted(set(month.to_pylist())):
        rows = claims.filter(pc.equal(month, m))
        half = rows.num_rows // 2
        folder = out / "claims" / f"year={m[:4]}" / f"month={m[5:]}"
        folder.mkdir(parents=True)
        parts += [(folder / "part-1.parquet", rows.slice(half)),
                  (folder / "part-0.parquet", rows.slice(0, half))]
    first = claims.slice(0, 1).set_column(header.index("total_amount"), "total_amount",
                                          pa.array(["1.00"]))
    last, rows = parts[-2]
    parts[-2] = (last, pa.concat_tables([rows, first]))
    for path, rows in parts:
        pq.write_table(rows, path)
    (out / "claims" / "_SUCCESS").write_text("")
    return out


def test_partitioned_parquet_by_file_uri_is_the_same_on_spark(spark, planted, partitioned,
                                                              tmp_path):
    flat = detect_folder(planted, tmp_path / "flat")
    embedded = detect_folder(partitioned, tmp_path / "embedded")
    on_spark = detect_folder(partitioned.as_uri(), tmp_path / "spark", engine="spark",
                             master=MASTER)
    same_outputs(tmp_path / "spark", tmp_path / "embedded")
    # against the flat folder: the same cases but for their keys, which carry the run's
    # id, a hash of its summary and so of its inputs' names
    same_outputs(tmp_path / "spark", tmp_path / "flat", ("entity_scores.csv",))
    assert _keyless(tmp_path / "spark") == _keyless(tmp_path / "flat")
    assert flat["cases"] > 0 and on_spark["cases"] == flat["cases"]
    assert list(on_spark["inputs"]) == list(embedded["inputs"])
    files = [name for name in embedded["inputs"] if name.startswith("claims/")]
    assert files[:2] == ["claims/year=2024/month=01/part-0.parquet",
                         "claims/year=2024/month=01/part-1.parquet"]
    rejects = (tmp_path / "spark" / "rejects.csv").read_text(encoding="utf-8").splitlines()
    assert len(rejects) == 2 and rejects[1].startswith(f"{files[-1]},")
    assert "repeated claim_id; the first row is kept" in rejects[1]


def _keyless(run: Path) -> list[dict]:
    lines = (run / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "case_key"} for line in lines]


def test_a_uri_folded_by_the_command_line_is_read(spark, partitioned, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", partitioned.as_uri(), "--out", str(out),
                                    "--engine", "spark", "--master", MASTER, "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "summary.json").read_text())["rows"]["rejected"] == 1


def test_a_bad_file_in_a_uri_folder_is_the_embedded_error(spark, partitioned, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(partitioned, data)
    (data / "claims" / "year=2024" / "notes.txt").write_text("x")
    with pytest.raises(DataError) as embedded:
        detect_folder(data, tmp_path / "e")
    with pytest.raises(DataError) as on_spark:
        detect_folder(data.as_uri(), tmp_path / "s", engine="spark", master=MASTER)
    assert str(on_spark.value) == str(embedded.value)
    assert str(embedded.value).startswith("claims/year=2024/notes.txt: not a .csv")
    with pytest.raises(DataError, match="not a folder"):
        detect_folder((tmp_path / "none").as_uri(), tmp_path / "s", engine="spark",
                      master=MASTER)


def test_a_file_named_by_uri_is_copied_to_the_executor(tmp_path):
    """What an executor does with an hdfs:// or s3a:// file, on a file:// one: a local
    copy through pyarrow.fs, with its suffix, removed after."""
    from graphdetect.engines.spark.paths import local_copy

    source = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"claim_id": ["C1"]}), source)
    with local_copy(source.as_uri()) as copy:
        assert copy != source and copy.suffix == ".parquet"
        assert copy.read_bytes() == source.read_bytes()
    assert not copy.parent.exists()
    with local_copy(str(source)) as same:
        assert same == source


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _arrow_reads_hdfs() -> bool:
    from pyarrow import fs

    try:
        fs.FileSystem.from_uri(f"hdfs://127.0.0.1:{_closed_port()}/")
    except OSError:
        return False
    return True


def one_line_exit_2(res, out: Path, tmp_path: Path, *keep: Path) -> str:
    """The command failed with one line and exit 2 and wrote nothing: no run folder, no
    temporary folder beside it."""
    assert res.exit_code == 2, res.output
    assert res.output.startswith("Error: ") and res.output.strip().count("\n") == 0, res.output
    assert "Traceback" not in res.output
    assert not out.exists() and sorted(tmp_path.iterdir()) == sorted(keep)
    return res.output


@pytest.mark.parametrize("scheme", ["hdfs", "s3a"])
def test_a_uri_this_machine_cannot_read_is_one_line(spark, scheme, tmp_path):
    uri = f"{scheme}://127.0.0.1:{_closed_port()}/city" if scheme == "hdfs" \
        else "s3a://graphdetect-no-such-bucket/city"
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", uri, "--out", str(out), "--engine", "spark",
                                    "--master", MASTER])
    said = one_line_exit_2(res, out, tmp_path)
    assert uri in said
    if scheme == "hdfs" and not _arrow_reads_hdfs():
        assert "pyarrow.fs" in said and "libhdfs" in said


def test_a_master_refusing_connections_is_one_line(folder, tmp_path):
    shutil.copytree(SAMPLE, folder, dirs_exist_ok=True)
    out = tmp_path / "run"
    master = f"spark://127.0.0.1:{_closed_port()}"
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out), "--engine",
                                    "spark", "--master", master])
    said = one_line_exit_2(res, out, tmp_path, folder)
    assert said.startswith(f"Error: cannot start Spark on {master}: no Spark master answers")
    assert "Connection refused" in said


def spark_log(said: str) -> Path:
    """The log of Spark's JVM an error's line names (kept for the user)."""
    log = Path(re.search(r"; Spark's log: (\S+\.log)\)", said).group(1))
    assert log.is_file()
    return log


CRASH = '''\
"""Test hook (tests/test_spark_robust.py): a task reading a file named *crash* ends its
Python worker at once, as a worker killed by the system would."""
import os

from graphdetect.engines.spark import _tasks

_read_file = _tasks._read_file


def _crashing(k, name, rel, path, time_zone, **part):
    if "crash" in rel:
        os._exit(9)
    return _read_file(k, name, rel, path, time_zone, **part)


_tasks._read_file = _crashing
'''


def test_a_python_worker_that_dies_is_one_line(spark, folder, tmp_path, capfd):
    """A Python worker that dies inside a task (a sitecustomize on the executors' path
    crashes the task reading claims/crash.csv): exit 2, one line, nothing written; the
    traces Spark prints are in its log, which the line names, not on the console."""
    shutil.copytree(SAMPLE, folder, dirs_exist_ok=True)
    (folder / "claims").mkdir()
    (folder / "claims.csv").rename(folder / "claims" / "a.csv")
    shutil.copy(folder / "claims" / "a.csv", folder / "claims" / "crash.csv")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CRASH, encoding="utf-8")
    env = spark.sparkContext.environment
    env["PYTHONPATH"] = str(hook)  # a new worker daemon for this environment
    try:
        out = tmp_path / "run"
        res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out),
                                        "--engine", "spark", "--master", MASTER])
    finally:
        del env["PYTHONPATH"]
    said = one_line_exit_2(res, out, tmp_path, folder, hook)
    assert said.startswith("Error: the Spark job failed (")
    assert "Python worker exited unexpectedly (crashed)" in said
    assert said.rstrip().endswith("nothing was written")
    console = capfd.readouterr().err
    assert "Traceback" not in console and "ERROR" not in console, console
    log = spark_log(said)
    assert "Python worker exited unexpectedly" in log.read_text(encoding="utf-8")
    log.unlink()
    # the session is still good for the next run
    assert detect_folder(SAMPLE, out, engine="spark", master=MASTER)["cases"] > 0


def test_spark_stages_are_shown_as_progress(spark, capsys, tmp_path):
    detect_folder(SAMPLE, tmp_path / "embedded")
    capsys.readouterr()
    detect_folder(SAMPLE, tmp_path / "spark", engine="spark", master=MASTER, progress=True)
    err = capsys.readouterr().err
    same_outputs(tmp_path / "spark", tmp_path / "embedded")
    assert "read (spark)" in err and "detect" in err
    for bar in ("spark read", "spark overlapping stays", "spark readmissions", "spark lockstep",
                "spark components", "spark communities"):
        assert re.search(rf"\r{bar}: 100%\|[^|]*\| (\d+)/\1 \[[^]]*tasks/s, stages? \d", err), bar


LOSE_THE_JVM = '''\
"""graphdetect's command line, whose Spark driver JVM dies in the middle of the read:
every connection to it is lost (tests/test_spark_robust.py)."""
import sys

from graphdetect.cli import main
from graphdetect.engines.spark import read

_reject_rows = read._reject_rows


def _dying(rows):
    from pyspark import SparkContext

    SparkContext._gateway.proc.kill()
    SparkContext._gateway.proc.wait()
    return _reject_rows(rows)


read._reject_rows = _dying
sys.exit(main())
'''


def test_a_lost_connection_to_spark_is_one_line(folder, tmp_path):
    """The driver's JVM killed during the read (its own process: a run of the command
    line in a child Python): exit 2, one line on stderr, nothing written."""
    shutil.copytree(SAMPLE, folder, dirs_exist_ok=True)
    script = tmp_path / "lose.py"
    script.write_text(LOSE_THE_JVM, encoding="utf-8")
    out = tmp_path / "run"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    res = subprocess.run([sys.executable, str(script), "detect", str(folder), "--out", str(out),
                          "--engine", "spark", "--master", MASTER, "--quiet"],
                         capture_output=True, text=True, env=env, timeout=300)
    err = [ln for ln in res.stderr.splitlines() if ln.strip()
           and not ln.startswith("WARNING: Using incubator modules")]
    assert res.returncode == 2, res.stderr
    assert len(err) == 1, res.stderr
    assert err[0].startswith("Error: the Spark job failed (the connection to Spark was lost: ")
    spark_log(err[0]).unlink()
    assert not out.exists() and sorted(tmp_path.iterdir()) == sorted([folder, script])


def test_running_out_of_memory_says_what_to_raise(tmp_path, monkeypatch):
    """A JVM out of memory (10M claims on local[2] with the default 4 GB driver did it):
    on a local master the JVM dies of it, the job's own error is only a lost connection,
    and the log the run's JVM wrote since the run began says why; the one line says it
    and what setting to raise, and names the log."""
    from graphdetect.engines.spark import session
    from graphdetect.errors import EngineError

    log = tmp_path / "graphdetect-spark-x.log"
    log.write_text("26/12/06 14:40:00 ERROR Executor: an older run's failure\n"
                   "java.lang.OutOfMemoryError: an older run's\n", encoding="utf-8")
    monkeypatch.setattr(session, "_LOG", {"path": str(log), "keep": False})
    with pytest.raises(EngineError) as exc, session._naming_the_log():
        with log.open("a", encoding="utf-8") as f:
            f.write("26/12/06 14:51:34 ERROR Utils: Uncaught exception in thread "
                    "task-result-getter-0\njava.lang.OutOfMemoryError: Java heap space\n"
                    "\tat java.base/java.nio.HeapByteBuffer.<init>(HeapByteBuffer.java:71)\n")
        raise EngineError("engine.job_failed", detail="the connection to Spark was lost: "
                          "Error while sending or receiving")
    assert str(exc.value) == (
        "Spark ran out of memory (java.lang.OutOfMemoryError: Java heap space; Spark's log: "
        f"{log}): the driver collects the claims, so give it more with --spark-conf "
        "spark.driver.memory=16g (on a local master it runs the tasks too), or the "
        "executors with spark.executor.memory=…; nothing was written")
    # an older run's out of memory in the same log is not this run's
    with pytest.raises(EngineError) as exc, session._naming_the_log():
        raise EngineError("engine.job_failed", detail="Python worker exited unexpectedly")
    assert str(exc.value).startswith("the Spark job failed (Python worker exited")


def test_py4j_reporting_a_lost_connection_goes_to_spark_log(tmp_path):
    """py4j logs a connection lost to the JVM with ``logging.exception`` on the root
    logger; in a process graphdetect launched Spark from, that record goes to the JVM's
    log, not beside the one-line error on stderr (under load the lost-connection test
    above saw py4j's trace there)."""
    script = tmp_path / "root_log.py"
    script.write_text(
        "import logging, sys\n"
        "import py4j.java_gateway\n"
        "from graphdetect.engines.spark.session import _LOG, spark_session\n"
        f"with spark_session({MASTER!r}):\n"
        "    try:\n"
        "        raise ConnectionResetError(104, 'Connection reset by peer')\n"
        "    except OSError:\n"
        "        # what py4j.java_gateway does: logging.exception, from its own file\n"
        "        logging.basicConfig()\n"
        "        logging.getLogger().handle(logging.LogRecord(\n"
        "            'root', logging.ERROR, py4j.java_gateway.__file__, 1059,\n"
        "            'Exception while sending command.', None, sys.exc_info()))\n"
        "    logging.warning('not py4j: still on stderr')\n"
        "    print(open(_LOG['path'], encoding='utf-8').read()"
        ".count('ERROR:root:Exception while sending command.'))\n", encoding="utf-8")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["1"]
    assert "Exception while sending command" not in res.stderr
    assert "WARNING:root:not py4j: still on stderr" in res.stderr
