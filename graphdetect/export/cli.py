"""``graphdetect export`` and ``graphdetect verify``.

Registered on the main command group by :func:`register`; each command also runs on its
own (tests call them through click's ``CliRunner``). User errors end as one line on
stderr and exit code 2; a package that fails verification exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..errors import GraphdetectError
from ..messages import command_language, text

__all__ = ["export_command", "verify_command", "register"]


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except GraphdetectError as exc:  # in the language of the graphdetect command line
        lang = command_language()
        click.echo(text("cli.error", lang, message=exc.text(lang)), err=True)
        raise click.exceptions.Exit(2) from None


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("case_id")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder to write the package folder and its .zip into.")
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False),
              help="Review database: --user must be one of its users; their role sets "
                   "permission (reviewers never export), and the export is written to its "
                   "audit log.")
@click.option("--user", "-u", help="Exporting user (default: the operating-system user, as an "
                                   "investigator, when no --db is given).")
@click.option("--data", type=click.Path(path_type=Path, file_okay=False),
              help="Where the run's data folder lies now, if it moved since the run.")
@click.option("--mask-ids", is_flag=True,
              help="Mask patient and card ids in every file, for a reader who must not see "
                   "patient identities.")
@click.option("--runs", "runs", multiple=True, type=click.Path(path_type=Path),
              help="Run folder, or folder of run folders, where the case's earlier runs lie "
                   "(repeatable; default: the folders each run recorded as its previous).")
def export_command(run: Path, case_id: str, out: Path, db: Path | None, user: str | None,
                   data: Path | None, mask_ids: bool, runs: tuple[Path, ...]) -> None:
    """Export case CASE_ID of the run folder RUN as an evidence package (folder and zip).

    The package holds report.pdf (Chinese), claims.csv, members.csv, network.graphml and
    network.json, figures, the case across runs (history.json) and the hash chain of those
    runs (chain.json), and manifest.json with every file's SHA-256; it is signed
    (manifest.sig) when GRAPHDETECT_SIGNING_KEY is set. Reviewers do not export: blind
    review happens on screen, and a package carries the real identities of a referral.
    """
    from . import export_case, zip_path

    with _one_line_errors():
        folder = export_case(run, case_id, out, db=db, user=user, data=data, mask_ids=mask_ids,
                             runs=list(runs) or None)
    import json

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    who = manifest["exported_by"]
    signed = manifest.get("signature")
    click.echo(f"exported case {manifest['case_id']} of {manifest['run_id']} as {who['user']} "
               f"({who['role']}): {len(manifest['files'])} files"
               + (", ids masked" if manifest.get("masked_ids") else "")
               + _history_said(folder)
               + (f", signed (key id {signed['key_id']})" if signed else ", not signed"))
    click.echo(f"package: {folder}")
    click.echo(f"zip:     {zip_path(folder)}")


def _history_said(folder: Path) -> str:
    """", its history over N runs" for a package with run history."""
    import json

    path = folder / "history.json"
    if not path.is_file():
        return ""
    rows = json.loads(path.read_text(encoding="utf-8"))["runs"]
    return f", its history over {len(rows)} run(s)"


@click.command("verify")
@click.argument("package", type=click.Path(path_type=Path))
@click.option("--runs", "runs", multiple=True, type=click.Path(path_type=Path),
              help="Run folder, or folder of run folders: each run of the package's hash "
                   "chain found there must have the cases.jsonl the package recorded "
                   "(repeatable).")
def verify_command(package: Path, runs: tuple[Path, ...]) -> None:
    """Check an evidence PACKAGE (folder or .zip): every file's SHA-256, its signature,
    and the hash chain of the runs the case came from.

    Exits 0 when all hold; 1 naming each file that changed, is missing or is extra, when
    the signature is wrong or cannot be checked (signed package, no
    GRAPHDETECT_SIGNING_KEY), when the chain inside the package does not hold, or when a
    run given with --runs has another cases.jsonl than the package recorded (a run not
    found there is reported "not checked").
    """
    from . import verify_package

    with _one_line_errors():
        result = verify_package(package, runs=list(runs) or None)
    for line in result.lines():
        click.echo(line)
    if not result.ok:
        raise click.exceptions.Exit(1)


def register(group: click.Group) -> None:
    """Add ``export`` and ``verify`` to a click group (``graphdetect``'s main group)."""
    group.add_command(export_command, "export")
    group.add_command(verify_command, "verify")
