"""Spark's stages as graphdetect's progress bars (:func:`graphdetect._progress.progress_bar`,
on stderr, silenced by ``--quiet``): the tasks done of the stages a block's jobs ran.

Spark's own console bar is off (``spark.ui.showConsoleProgress``). The block's jobs are
put in a job group of their own (the detectors' steps run in threads side by side, each
with its bar); a daemon thread asks Spark's status tracker for the group's stages a few
times a second while the block runs, and the bar is closed when the block ends, however
it ends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from ..._progress import progress_bar

__all__ = ["stage_progress"]

#: Seconds between two looks at Spark's stages.
INTERVAL = 0.2
#: The local property that puts a thread's jobs in a group (``SparkContext.setJobGroup``).
GROUP = "spark.jobGroup.id"


@contextmanager
def stage_progress(spark, show: bool, desc: str = "spark") -> Iterator[None]:
    """A bar of the tasks of the Spark stages this block's jobs run (``desc: 12/40
    tasks, stages 3-5``), shown from the first task on; nothing when ``show`` is false."""
    if not show:
        yield
        return
    from py4j.protocol import Py4JError

    sc = spark.sparkContext
    group = f"graphdetect-{uuid.uuid4().hex}"
    before = sc.getLocalProperty(GROUP)
    sc.setLocalProperty(GROUP, group)
    bars: list = []
    done = threading.Event()
    follow = threading.Thread(target=_follow, args=(sc.statusTracker(), group, desc, bars, done),
                              daemon=True, name="graphdetect-spark-progress")
    follow.start()
    try:
        yield
    finally:
        done.set()
        follow.join()
        for bar in bars:
            bar.close()
        with suppress(Py4JError, OSError):  # a JVM that died: the job's own error says why
            sc.setLocalProperty(GROUP, before)


def _follow(tracker, group: str, desc: str, bars: list, done: threading.Event) -> None:
    """Show the group's stages' tasks on a bar (made at the first task, put in ``bars``)
    until ``done``, and once more then."""
    from py4j.protocol import Py4JError

    stages_of: dict[int, list[int]] = {}  # finished jobs' stages
    seen: dict[int, tuple[int, int]] = {}  # stages begun: (tasks done, tasks)
    while True:
        last = done.wait(INTERVAL)
        try:
            stages = set()
            for job in tracker.getJobIdsForGroup(group):
                if job in stages_of:
                    stages.update(stages_of[job])
                    continue
                info = tracker.getJobInfo(job)
                if info is not None:
                    stages.update(info.stageIds)
                    if info.status != "RUNNING":
                        stages_of[job] = list(info.stageIds)
            for stage in stages:
                if stage in seen and seen[stage][0] >= seen[stage][1]:
                    continue
                info = tracker.getStageInfo(stage)
                # a stage begun; one whose output was already there is skipped, never begun
                if info is not None and (info.numActiveTasks or info.numCompletedTasks):
                    seen[stage] = (info.numCompletedTasks, info.numTasks)
        except (Py4JError, OSError):  # the JVM is gone: the job's own error says why
            return
        if seen:
            _show(bars, desc, seen)
        if last:
            return


def _show(bars: list, desc: str, seen: dict[int, tuple[int, int]]) -> None:
    total = sum(n for _, n in seen.values())
    finished = sum(k for k, _ in seen.values())
    if not bars:
        bars.append(progress_bar(True, desc=desc, unit="tasks", total=total))
    bar = bars[0]
    if (total, finished) != (bar.total, bar.n):
        bar.total, bar.n = total, finished
        ids = sorted(seen)
        bar.set_postfix_str(f"stage {ids[0]}" if len(ids) == 1
                            else f"stages {ids[0]}-{ids[-1]}", refresh=False)
        bar.refresh()
