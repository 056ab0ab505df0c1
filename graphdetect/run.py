"""A detection run: read the data folder, build the graph, detect, write the run folder.

The run folder is written to a temporary sibling and renamed into place at the end, so
an interrupted or failed run never leaves a half-written folder behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from . import __version__
from ._memory import one_arena, trim_heap
from ._progress import progress_bar
from .cases import build_cases, entity_scores
from .cells import write_csv
from .detectors import PATTERNS, REGISTRY
from .engines import DEFAULT_MASTER, attach, open_engine
from .engines.spark.paths import uri_of
from .errors import ParameterError
from .graph import KINDS, ClaimsGraph
from .io import DEFAULT_TIME_ZONE, REJECT_COLUMNS
from .lineage import link
from .ranking import peer_features
from .run_folder import (
    RUN_FILES,
    atomic_folder,
    check_target,
    load_summary,
    read_cases,
    strict_json,
    time_zone_of,
    write_cases,
    write_entity_scores,
    write_json,
)
from .settings import for_detector, resolve

# the run folder's files are read and written by .run_folder; its readers are also
# importable from here, where they have always been
__all__ = ["detect_folder", "CAPABILITIES", "capabilities", "limitations", "threads",
           "run_id", "RUN_FILES", "load_summary", "read_cases", "strict_json", "time_zone_of"]


class Timer:
    """Wall-clock seconds per named stage, in the order the stages ran."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - t0, 3)


def detect_folder(data: str | Path, out: str | Path, *, settings: dict | None = None,
                  progress: bool = False, previous: str | Path | None = None,
                  since=None, until=None, time_zone: str = DEFAULT_TIME_ZONE,
                  engine: str = "embedded", master: str = DEFAULT_MASTER,
                  spark_conf: dict[str, str] | None = None) -> dict:
    """Run graphdetect on a data folder and write the run folder; return the summary.

    Parameters
    ----------
    data : str or Path
        The data folder (``contract.md``).
    out : str or Path
        The run folder to write; an existing run folder there is replaced whole.
    settings : dict, optional
        Resolved settings (:func:`graphdetect.settings.resolve`); defaults otherwise.
    progress : bool
        Show progress bars on stderr.
    previous : str or Path, optional
        The earlier run this one continues: a run folder, or a folder of run folders whose
        newest (never ``out``) is taken. Cases are linked to its cases
        (:func:`graphdetect.lineage.link`); without it every case is new.
    since, until : str or datetime.date, optional
        The window: only claims whose ``start_time`` falls on these days or between them
        (ISO dates, inclusive) are read (:func:`graphdetect.read_folder`); the summary
        records it as ``window`` and counts the others in ``rows.outside_window``.
    time_zone : str, default "Asia/Shanghai"
        The bureau's local time zone, which times written with a UTC offset are converted
        to; the summary records it as ``time_zone``.
    engine : {"embedded", "spark"}
        What reads the data folder and runs the detectors' relational steps
        (:mod:`graphdetect.engines`); the outputs are the same bytes either way. The
        summary records it as ``engine`` (and for Spark ``spark``: its master and version).
    master : str, default "local[*]"
        Spark's master URL (``local[2]``, ``spark://host:7077``, ``yarn``); Spark only.
    spark_conf : dict, optional
        Spark settings (``{"spark.executor.memory": "4g"}``); Spark only.

    Raises
    ------
    RunError
        When a number of an output is not finite (NaN or infinity): a bug, never written.
    EngineError
        When the Spark engine cannot run: PySpark or Java missing, a master that is not a
        master URL (checked before anything is read), a Spark job that failed.
    """
    from .runs import newest_run

    out = Path(out)
    if engine == "spark":
        from .engines.spark import check_master, require

        require()
        check_master(master)
    check_target(out)
    workers = threads()
    one_arena()
    before = None if previous is None else newest_run(previous, exclude=out)
    settings = resolve() if settings is None else settings
    timer = Timer()
    # the engine is open from reading to the end of detection: the detectors ask it for
    # their relational steps (a Spark session is stopped when the block ends, however)
    with open_engine(engine, master=master, conf=spark_conf) as running:
        with timer.stage("read"):
            claims_data, about = running.read(data, since=since, until=until,
                                              progress=progress, time_zone=time_zone)
            # Arrow's allocator keeps what reading freed (raw batches, text columns) for
            # reuse; nothing after reading needs it, and a 10M-claim run's peak is lower
            # without it
            pa.default_memory_pool().release_unused()
        # an engine that times the steps of its read (Spark) has them after the stage
        timer.seconds |= {f"read.{step}": s for step, s in about.pop("timings", {}).items()}
        with timer.stage("graph"):
            graph = ClaimsGraph.from_data(claims_data)
        with timer.stage("detect"), attach(graph, running):
            findings = _detect(graph, settings, timer, progress, workers)
    with timer.stage("cases"):
        cases = build_cases(findings, min_score=settings["cases.min_score"],
                            max_cases=settings["cases.max_cases"],
                            name=lambda k, i, lang: graph.label(k, i, en=lang == "en"))
        scores = entity_scores(cases, graph)
    summary = _summary(claims_data, graph, cases, len(findings), settings, data, about)
    with timer.stage("link"):
        if before is not None:
            summary["previous_run"] = {"run_id": before.run_id,
                                       "folder": str(before.folder.resolve()),
                                       "cases_sha256": before.cases_sha256}
            summary["run_id"] = run_id(summary)
        cases = link(cases, None if before is None else before.cases,
                     previous_run_id=None if before is None else before.run_id,
                     run_id=summary["run_id"], min_overlap=settings["lineage.min_overlap"])
    with timer.stage("write"):
        with atomic_folder(out) as tmp:
            write_cases(tmp / "cases.jsonl", cases)
            write_entity_scores(tmp / "entity_scores.csv", scores)
            rejects = claims_data.rejects
            write_csv(tmp / "rejects.csv", REJECT_COLUMNS,
                      rejects[list(REJECT_COLUMNS)].itertuples(index=False, name=None))
            summary["timings"] = dict(timer.seconds)
            write_json(tmp / "summary.json", summary)
    summary["timings"] = dict(timer.seconds)
    return summary


def _detect(graph: ClaimsGraph, settings: dict, timer: Timer, progress: bool,
            workers: int) -> list:
    """Every registered detector's findings, in the detectors' name order.

    The detectors run side by side on ``workers`` threads (:func:`threads`): their work
    is mostly numpy and Arrow kernels that release the GIL. What two of them need alike
    (stays, lockstep groups, side-table codes) is made once, by the first to ask
    (:func:`graphdetect.detectors._arrays.cached`); each detector's own result depends on
    the graph alone, so the findings are the same whichever thread finishes first. Each
    stage's time is its own detector's, so on two cores they add up to more than the wall.
    The ranking's peer features (:func:`graphdetect.ranking.peer_features`), which need
    no findings, are made on the same threads.
    """
    names = sorted(REGISTRY)

    def timed(make, *args, **kwargs) -> tuple[object, float]:
        t0 = time.perf_counter()
        made = make(*args, **kwargs)
        trim_heap()
        return made, round(time.perf_counter() - t0, 3)

    def submit(name: str):
        return pool.submit(timed, REGISTRY[name].func, graph, **for_detector(settings, name))

    findings = []
    with progress_bar(progress, total=len(names), desc="detect") as bar, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detect") as pool:
        # a detector that reuses another's work (Pattern.after) is queued behind the
        # others; the ranking's case-free half goes beside them
        futures = {f"detect.{n}": submit(n) for n in names if not PATTERNS[n].after}
        futures["ranking.peers"] = pool.submit(timed, peer_features, graph)
        futures |= {f"detect.{n}": submit(n) for n in names if PATTERNS[n].after}
        for name in names:
            found, timer.seconds[f"detect.{name}"] = futures[f"detect.{name}"].result()
            findings += found
            bar.update()
        timer.seconds["ranking.peers"] = futures["ranking.peers"].result()[1]
    return findings


def threads() -> int:
    """How many detectors run at once: ``GRAPHDETECT_THREADS``, else the number of cores.

    Raises
    ------
    ParameterError
        When ``GRAPHDETECT_THREADS`` is not a whole number of at least 1.
    """
    value = os.environ.get("GRAPHDETECT_THREADS", "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ParameterError("GRAPHDETECT_THREADS", "detect", "a whole number >= 1", value)
    return int(value)


def _summary(data, graph: ClaimsGraph, cases: list[dict], findings: int, settings: dict,
             folder: str | Path, engine: dict | None = None) -> dict:
    patterns: dict[str, int] = {}
    for c in cases:
        patterns[c["pattern"]] = patterns.get(c["pattern"], 0) + 1
    claims = data.claims
    accepted = sum(f["accepted"] for f in data.files.values())
    summary = {
        "graphdetect_version": __version__,
        **(engine or {"engine": "embedded"}),  # not part of the run id: same bytes either way
        "rows": {"read": data.rows_read, "accepted": accepted, "rejected": data.rows_rejected,
                 **({"outside_window": data.outside_window}
                    if data.since or data.until else {})},
        "window": data.window,
        "time_zone": data.time_zone,
        "rejected_by_reason": data.reject_counts(),
        "inputs": {name: {k: f[k] for k in ("table", "format", "encoding", "sha256", "rows_read",
                                             "accepted", "rejected", "unclosed_quote")
                          if k in f}
                   for name, f in sorted(data.files.items())},
        "entities": {k: graph.n(k) for k in KINDS},
        "claims": {
            "by_visit_type": {str(k): int(v) for k, v in
                              claims["visit_type"].value_counts(sort=False).items()}
            if len(claims) else {},
            "with_time_of_day": int(claims["has_time"].sum()) if len(claims) else 0,
            "first_day": str(claims["start_time"].min().date()) if len(claims) else None,
            "last_day": str(claims["start_time"].max().date()) if len(claims) else None,
        },
        "findings": findings,
        "cases": len(cases),
        "patterns": dict(sorted(patterns.items())),
        "parameters": settings,
        "run_id": None,
        "data_folder": uri_of(folder) or str(Path(folder).resolve()),
        "not_checked": limitations(data, graph),
        "previous_run": None,
        "timings": {},
    }
    summary["run_id"] = run_id(summary)
    return summary


def run_id(summary: dict) -> str:
    """A run's id: a hash of what made it (input files, parameters, version, window,
    time zone).

    The same input and parameters give the same id on any machine. A run linked to an
    earlier run is also made of that run's cases (the SHA-256 of its ``cases.jsonl``).
    The window and the time zone count only when given (a zone other than the default),
    so runs made before either existed keep their ids.
    """
    made_of = {"inputs": {k: v["sha256"] for k, v in summary["inputs"].items()},
               "parameters": summary["parameters"], "version": summary["graphdetect_version"]}
    if summary.get("previous_run"):
        made_of["previous_cases"] = summary["previous_run"]["cases_sha256"]
    window = summary.get("window") or {}
    if window.get("since") or window.get("until"):
        made_of["window"] = window
    if summary.get("time_zone", DEFAULT_TIME_ZONE) != DEFAULT_TIME_ZONE:
        made_of["time_zone"] = summary["time_zone"]
    digest = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode("utf-8")).hexdigest()
    return f"run-{digest[:12]}"


#: What a data folder may or may not let detectors use, and how its absence reads.
CAPABILITIES = {
    "patients": "no patients table",
    "patients.birth": "patients have no birth_date or birth_year",
    "patients.region_code": "patients have no region_code",
    "patients.address_hash": "patients have no address_hash",
    "patients.phone_hash": "patients have no phone_hash",
    "institutions": "no institutions table",
    "institutions.region_code": "institutions have no region_code",
    "claims.time_of_day": "start times carry no time of day",
    "claims.inpatient": "no inpatient claims",
    "claims.terminal_id": "no terminal ids",
    "claims.operator_id": "no operator ids",
    "claims.doctor_id": "no doctor ids",
    "claims.diagnosis_code": "no diagnosis codes",
}


def capabilities(data, graph: ClaimsGraph) -> set[str]:
    """The :data:`CAPABILITIES` this data folder has."""
    def has(table, *cols) -> bool:
        return table is not None and any(c in table and table[c].notna().any() for c in cols)

    c = graph.claims
    out = set()
    for table, frame in (("patients", data.patients), ("institutions", data.institutions)):
        if frame is not None:
            out.add(table)
    for name in ("region_code", "address_hash", "phone_hash"):
        if has(data.patients, name):
            out.add(f"patients.{name}")
    if has(data.patients, "birth_date", "birth_year"):
        out.add("patients.birth")
    if has(data.institutions, "region_code"):
        out.add("institutions.region_code")
    if len(c) and c["has_time"].any():
        out.add("claims.time_of_day")
    if (c["visit_type"] == "inpatient").any():
        out.add("claims.inpatient")
    for kind in ("terminal", "operator", "doctor"):
        if graph.n(kind):
            out.add(f"claims.{kind}_id")
    if c["diagnosis_code"].notna().any():
        out.add("claims.diagnosis_code")
    return out


def limitations(data, graph: ClaimsGraph) -> list[str]:
    """What this data let no detector check, in words for the summary.

    One line per pattern and missing capability, from the patterns' ``needs``.
    """
    have = capabilities(data, graph)
    out = []
    for name in sorted(PATTERNS):
        for need, lost in PATTERNS[name].needs.items():
            if need not in have:
                table = need.split(".")[0]
                why = CAPABILITIES[table if table in CAPABILITIES and table not in have
                                   else need]
                out.append(f"{name}: {why}, so {lost}")
    return out
