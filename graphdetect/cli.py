"""The ``graphdetect`` command line.

User errors end as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import GraphdetectError
from .messages import command_language, language, text


class _Group(click.Group):
    """Turns every :class:`GraphdetectError` into ``Error: ...`` (``错误：…``) and exit code 2,
    in the language of ``--lang``, ``GRAPHDETECT_LANG`` or the locale."""

    def invoke(self, ctx):
        lang = language(ctx.params.get("lang"))
        try:
            return super().invoke(ctx)
        except GraphdetectError as exc:
            click.echo(text("cli.error", lang, message=exc.text(lang)), err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo(text("cli.interrupted", lang), err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="graphdetect")
@click.option("--lang", type=click.Choice(["zh", "en"]),
              help="Language of messages (default: GRAPHDETECT_LANG, else zh when the "
                   "locale is Chinese, else en).")
def main(lang: str | None) -> None:
    """Find collusion fraud in medical-insurance claims.

    Typical use: ``graphdetect detect DATA --out RUN``, then review the run's cases.
    """


@main.command()
@click.argument("data")  # text, not a Path: a URI's "//" (hdfs:///x) must survive
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Run folder to write (replaced whole if it is an earlier run).")
@click.option("--config", "-c", type=click.Path(path_type=Path, dir_okay=False),
              help="TOML file of settings ([collusion_ring] min_occasions = 4 ...).")
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override one setting, e.g. --set split_stay.max_gap_days=3 (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no printed summary.")
@click.option("--previous", type=click.Path(path_type=Path, file_okay=False),
              help="Earlier run folder (or folder of runs: its newest) whose cases these "
                   "continue; cases keep their keys across runs.")
@click.option("--since", metavar="DATE", help="Read only claims that start on or after this "
              "day (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Read only claims that start on or before this "
              "day (YYYY-MM-DD).")
@click.option("--time-zone", "time_zone", metavar="ZONE", default="Asia/Shanghai",
              show_default=True, help="The local time zone (IANA name) that times written "
              "with a UTC offset (2024-03-01T07:30:00Z) are converted to.")
@click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded",
              show_default=True, help="What reads and checks the data: this process, or Spark "
              "(pip install 'graphdetect[spark]', Java 17). The outputs are the same bytes.")
@click.option("--master", default="local[*]", show_default=True, metavar="URL",
              help="Spark's master with --engine spark: local[N], spark://HOST:PORT, yarn, "
                   "k8s://HOST:PORT.")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="A Spark setting with --engine spark, e.g. --spark-conf "
                   "spark.executor.memory=4g (repeatable).")
def detect(data: str, out: Path, config: Path | None, overrides: tuple[str, ...],
           quiet: bool, previous: Path | None, since: str | None, until: str | None,
           time_zone: str, engine: str, master: str, spark_conf: tuple[str, ...]) -> None:
    """Read the data folder DATA, detect fraud patterns, write the run folder.

    'graphdetect settings' lists every setting with its default.
    """
    if engine == "embedded":
        from ._memory import keep_freed_memory

        keep_freed_memory()     # first: before numpy starts its threads
    from .io import check_time_zone
    from .run import detect_folder
    from .settings import resolve

    check_time_zone(time_zone, "detect")
    values = resolve(config, overrides)
    conf = None
    if engine == "spark":
        from .engines.spark import parse_conf

        conf = parse_conf(spark_conf)
    summary = detect_folder(data, out, settings=values, previous=previous,
                            since=since, until=until, time_zone=time_zone,
                            progress=not quiet and sys.stderr.isatty(),
                            engine=engine, master=master, spark_conf=conf)
    if not quiet:
        _print_summary(summary, out)


def _print_summary(s: dict, out: Path, lang: str | None = None) -> None:
    """Print a run's summary in ``lang`` (default: the command's language); reject reasons
    stay English in rejects.csv and summary.json and are translated here."""
    from .detectors import PATTERNS
    from .messages import join, reason

    lang = lang or command_language()

    def say(key: str, **args) -> None:
        click.echo(text(key, lang, **args))

    rows = s["rows"]
    say("summary.rows", version=s["graphdetect_version"], read=rows["read"],
        accepted=rows["accepted"], rejected=rows["rejected"])
    for why, n in s["rejected_by_reason"].items():
        say("summary.rejected", n=n, reason=reason(why, lang))
    for name, f in s["inputs"].items():
        if f.get("unclosed_quote"):
            say("summary.unclosed_quote", file=name, **f["unclosed_quote"])
    window = s.get("window") or {}
    if window.get("since") or window.get("until"):
        say("summary.window", n=rows.get("outside_window", 0), since=window["since"] or "…",
            until=window["until"] or "…")
    say("summary.graph", entities=join([text("summary.entity", lang, n=n,
                                             kind=text(f"kind.{k}", lang))
                                        for k, n in s["entities"].items() if n], lang))
    names = {p: PATTERNS[p].zh if lang == "zh" and p in PATTERNS else p for p in s["patterns"]}
    say("summary.cases", n=s["cases"],
        patterns="".join(f"  {names[p]}={n}" for p, n in s["patterns"].items()))
    for note in s.get("not_checked", []):
        say("summary.not_checked", note=note)
    say("summary.time", stages=", ".join(f"{k} {v:.1f}s" for k, v in s["timings"].items()))
    if s.get("previous_run"):
        say("summary.continues", run_id=s["previous_run"]["run_id"],
            folder=s["previous_run"]["folder"])
    say("summary.run_folder", folder=out)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write evaluation.json (default: RUN/evaluation.json).")
def evaluate(data: Path, run: Path, out: Path | None) -> None:
    """Score the run folder RUN against DATA/truth.json (planted data)."""
    from .evaluate import evaluate as score
    from .evaluate import format_table
    from .run import strict_json

    result = score(data, run)
    click.echo(format_table(result))
    target = out or Path(run) / "evaluation.json"
    target.write_text(strict_json(result, target, indent=2) + "\n", encoding="utf-8")
    click.echo(f"wrote {target}")


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--db", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Review database (SQLite; created if missing).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
def serve(runs: tuple[Path, ...], db: Path, host: str, port: int, threads: int) -> None:
    """Serve the review UI for RUNS: run folders and/or folders of run folders.

    Each user picks the run to show (the newest until they do); a case's status and
    notes follow its case key from run to run.
    """
    from waitress import serve as waitress_serve

    from .review import create_app
    from .review.store import ReviewStore

    app = create_app({"RUNS": [str(r) for r in runs], "DB": str(db)})
    served = app.extensions["runs"]
    click.echo(f"graphdetect review UI for {len(served)} run(s) on http://{host}:{port}/")
    for run in reversed(served.runs):
        claims = run.summary.get("claims") or {}
        click.echo(f"  {run.run_id}  {claims.get('first_day') or '?'} to "
                   f"{claims.get('last_day') or '?'}  {run.summary.get('cases', 0):>5} cases  "
                   f"{run.folder}" + ("  (newest, shown first)" if run is served.newest else ""))
    users = ReviewStore(db).users()
    if users:
        click.echo("log in as: " + ", ".join(f"{u['name']} ({u['role']})" for u in users))
    else:
        click.echo(f"no users yet: graphdetect users add NAME --role admin --db {db}")
    waitress_serve(app, host=host, port=port, threads=threads, ident="graphdetect")


@main.command()
def settings() -> None:
    """List every setting with its default and meaning."""
    from .settings import registry

    for s in registry().values():
        click.echo(f"{s.name:<38} {s.default!s:<8} {s.help}")


@main.command()
@click.argument("old", type=click.Path(path_type=Path, file_okay=False))
@click.argument("new", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--min-overlap", type=click.FloatRange(0, 1, min_open=True),
              help="Core-member overlap at which cases match (default: NEW's setting).")
def diff(old: Path, new: Path, as_json: bool, min_overlap: float | None) -> None:
    """Compare two run folders: new, grown, shrunk, recurring, merged, split, vanished cases."""
    import json

    from .lineage import diff as compare
    from .lineage import format_diff
    from .runs import Run
    from .settings import registry

    a, b = Run(old), Run(new)
    if min_overlap is None:
        min_overlap = b.summary.get("parameters", {}).get(
            "lineage.min_overlap", registry()["lineage.min_overlap"].default)
    result = compare(a.cases, b.cases, old_run_id=a.run_id, new_run_id=b.run_id,
                     min_overlap=min_overlap)
    result = {"old": {"run_id": a.run_id, "folder": str(old)},
              "new": {"run_id": b.run_id, "folder": str(new)}, "min_overlap": min_overlap,
              **result}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{a.run_id} ({old}) -> {b.run_id} ({new})")
        click.echo(format_diff(result))


@main.command("verify-chain")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
def verify_chain(runs: tuple[Path, ...]) -> None:
    """Check the hash chain of run folders (or folders of runs): exit 1 if a link is broken.

    Each run records the SHA-256 of its previous run's cases.jsonl; every link is checked
    against the file here. A previous run not among RUNS is reported and fails the check.
    """
    from .runs import Runs

    chain = Runs(runs)
    problems = chain.verify_chain()
    for line in problems:
        click.echo(line)
    links = sum(1 for r in chain if r.previous)
    if problems:
        click.echo(f"chain NOT verified: {len(problems)} problem(s) in {len(chain)} runs")
        sys.exit(1)
    click.echo(f"chain holds: {len(chain)} runs, {links} links checked")


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--patients", default=5000, show_default=True, type=int,
              help="Number of insured people in the generated city.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--days", default=365, show_default=True, type=int, help="Days of claims.")
@click.option("--format", "fmt", default="csv", show_default=True,
              type=click.Choice(["csv", "parquet"]), help="Table file format.")
def generate(out: Path, patients: int, seed: int, days: int, fmt: str) -> None:
    """Write a planted-data folder to OUT: tables with fraud planted, and truth.json."""
    from graphdetect.synth import generate as make

    try:
        info = make(out, patients=patients, seed=seed, days=days, fmt=fmt, progress=True)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {out}: " + ", ".join(f"{k}={v}" for k, v in info.items()
                                              if isinstance(v, int)))


from ._clihelp import plain_help  # noqa: E402
from .export.cli import register as _register_export  # noqa: E402
from .ledger.cli import ledger_group  # noqa: E402
from .neo4j.cli import neo4j_group  # noqa: E402
from .review.cli import assign_command, draws_command, users_group  # noqa: E402

_register_export(main)
main.add_command(neo4j_group)
main.add_command(users_group)
main.add_command(ledger_group)
main.add_command(assign_command)
main.add_command(draws_command)
plain_help(main)  # click prints docstrings as they are: no ``RST`` markup in --help

if __name__ == "__main__":  # pragma: no cover
    main()
