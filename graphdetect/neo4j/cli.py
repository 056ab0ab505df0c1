"""``graphdetect neo4j``: check the server, load a data folder, push a run's cases.

The connection comes from ``GRAPHDETECT_NEO4J_URI``, ``_USER``, ``_PASSWORD`` and
``_DATABASE``; ``--uri``, ``--user`` and ``--database`` override them. The driver is
imported when a command runs, not when the CLI starts. The password is
read from the environment only, never from the command line, and never printed.
User errors end as one line on stderr and exit code 2; an interrupted load or push
says how many batches were written (exit 130 after Ctrl-C).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import GraphdetectError

__all__ = ["neo4j_group"]


class _Group(click.Group):
    """Turns :class:`GraphdetectError` into one line; an interruption into its own line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraphdetectError as exc:
            from .connection import LoadInterrupted

            if isinstance(exc, LoadInterrupted):  # say how far it got
                click.echo(f"Interrupted: {exc}", err=True)
                ctx.exit(130 if exc.keyboard else 2)
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


@click.group("neo4j", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--uri", help="Bolt URI (default: $GRAPHDETECT_NEO4J_URI or bolt://localhost:7687).")
@click.option("--user", help="User name (default: $GRAPHDETECT_NEO4J_USER or neo4j).")
@click.option("--database", help="Database (default: $GRAPHDETECT_NEO4J_DATABASE or neo4j).")
@click.pass_context
def neo4j_group(ctx: click.Context, uri: str | None, user: str | None,
                database: str | None) -> None:
    """Load claims into Neo4j and write cases back (investigation graph).

    The password is read from $GRAPHDETECT_NEO4J_PASSWORD only.
    """
    from .connection import Neo4jConfig

    ctx.obj = Neo4jConfig.from_env(uri=uri, user=user, database=database)


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@neo4j_group.command()
@click.pass_obj
def check(config) -> None:
    """Check the connection; print the server and what the database holds."""
    from .connection import connect
    from .load import graph_counts

    with connect(config) as conn:
        info = conn.verify()
        counts = graph_counts(conn)
    click.echo(f"Neo4j at {config.safe_uri}: {info['agent']} (Bolt {info['protocol']}), "
               f"database {config.database!r}, user {config.user!r}")
    click.echo(f"nodes: {counts['nodes']:,}" + _breakdown(counts["by_label"]))
    click.echo(f"relationships: {counts['relationships']:,}" + _breakdown(counts["by_type"]))


def _breakdown(counts: dict[str, int]) -> str:
    parts = [f"{k} {v:,}" for k, v in counts.items() if v]
    return f" ({', '.join(parts)})" if parts else ""


@neo4j_group.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--batch-size", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Rows per transaction.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no printed report.")
@click.option("--time-zone", "time_zone", metavar="ZONE", default="Asia/Shanghai",
              show_default=True, help="The local time zone (IANA name) that times written "
              "with a UTC offset are converted to, as for 'graphdetect detect'.")
@click.pass_obj
def load(config, data: Path, batch_size: int, quiet: bool, time_zone: str) -> None:
    """Read the data folder DATA and load it into Neo4j (MERGE: safe to run again).

    Rows are checked and rejected exactly as 'graphdetect detect' does.
    """
    from .connection import connect
    from .load import load_folder

    with connect(config) as conn:
        report = load_folder(conn, data, batch_size=batch_size, progress=_progress(quiet),
                             time_zone=time_zone)
    if quiet:
        return
    rows = report["rows"]
    click.echo(f"{rows['read']:,} rows read, {rows['accepted']:,} accepted, "
               f"{rows['rejected']:,} rejected")
    for reason, n in report["rejected_by_reason"].items():
        click.echo(f"  rejected  {n:>8,}  {reason}")
    loaded = ", ".join(f"{n:,} {name}" for name, n in report["loaded"].items())
    rate = report["claims_per_second"]
    click.echo(f"loaded {loaded} in {report['batches']:,} batches, {report['seconds']:.1f}s"
               + (f" ({rate:,.0f} claims/s)" if rate else ""))
    graph = report["graph"]
    click.echo(f"graph: {graph['nodes']:,} nodes, {graph['relationships']:,} relationships"
               f" in database {config.database!r} at {config.safe_uri}")


@neo4j_group.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Cases per transaction.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no printed report.")
@click.pass_obj
def push(config, run: Path, batch_size: int, quiet: bool) -> None:
    """Write the cases of the run folder RUN to Neo4j as :Case nodes.

    Load the run's data folder first: members and evidence claims are linked only
    when they are in the graph.
    """
    from .connection import connect
    from .push import push_run

    with connect(config) as conn:
        report = push_run(conn, run, batch_size=batch_size, progress=_progress(quiet))
    if quiet:
        return
    m, e = report["members"], report["evidence"]
    click.echo(f"pushed {report['cases']:,} cases of {report['run_id']} in "
               f"{report['seconds']:.1f}s: {m['linked']:,} IN_CASE links, "
               f"{e['linked']:,} EVIDENCE links")
    missing = (m["given"] - m["linked"], e["given"] - e["linked"])
    if any(missing):
        click.echo(f"not in the graph: {missing[0]:,} members, {missing[1]:,} evidence claims "
                   f"(load the run's data folder first)")
