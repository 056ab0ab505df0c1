"""``graphdetect ledger``: the scoring table, recording and revoking points, a year's standing
and its report (CSV and PDF).

Recording and revoking are admin commands: ``--user`` must be an enabled admin of the
review database, and each one is written to its audit log with the entries.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["ledger_group"]


@click.group("ledger")
def ledger_group() -> None:
    """The integrity ledger (医保诚信记分): points for confirmed cases, per entity and year."""


_rules_option = click.option(
    "--rules", "rules_file", type=click.Path(path_type=Path, dir_okay=False),
    help="Scoring table (TOML) of the bureau (default: GRAPHDETECT_LEDGER_RULES, else the "
         "table shipped with graphdetect).")
_db_option = click.option("--db", required=True, help="Review database (SQLite).",
                          type=click.Path(path_type=Path, dir_okay=False, exists=True))


def _admin(store, name: str) -> dict:
    """The enabled admin ``name`` of the review database, or a one-line refusal."""
    from ..errors import LedgerError

    user = store.user(name)
    if user is None or not user["enabled"] or user["role"] != "admin":
        raise LedgerError("ledger.not_admin", name=name, db=store.path)
    return user


@ledger_group.command("rules")
@_rules_option
def ledger_rules(rules_file: Path | None) -> None:
    """Print the scoring table: points per pattern or rule category and severity, amount
    bands, and each entity kind's tiers with their sanctions. A table that is wrong is
    refused with one line naming the entry."""
    from ..messages import command_language
    from .rules import load_rules

    for line in load_rules(rules_file).lines(command_language()):
        click.echo(line)


@ledger_group.command("record")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("case_id")
@_db_option
@click.option("--severity", required=True, help="The bureau's finding: a severity of the "
              "table (minor, serious, grave in the shipped one).")
@click.option("--user", "-u", required=True, help="The admin recording the points.")
@click.option("--reason", default="", help="Why (default: the confirming decision's reason).")
@click.option("--pharmacy", "pharmacies", multiple=True, metavar="ID",
              help="An institution of the case that is a designated pharmacy (repeatable).")
@_rules_option
def ledger_record(run: Path, case_id: str, db: Path, severity: str, user: str, reason: str,
                  pharmacies: tuple[str, ...], rules_file: Path | None) -> None:
    """Record the points of case CASE_ID of the run folder RUN, which the review database
    holds as confirmed (or referred): each institution, pharmacy and doctor it names gets
    the table's points for its pattern, rule categories and the severity, in the year of
    the confirming decision. A case not confirmed is refused."""
    from ..errors import LedgerError
    from ..review.store import ReviewStore
    from ..run_folder import time_zone_of
    from ..runs import Run
    from .book import Ledger
    from .rules import load_rules

    rules = load_rules(rules_file)
    store = ReviewStore(db)
    who = _admin(store, user)
    folder = Run(run)
    case = next((c for c in folder.cases if c["case_id"] == case_id), None)
    if case is None:
        raise LedgerError("ledger.no_case", run=run, case_id=case_id)
    ledger = Ledger(store, time_zone=time_zone_of(folder.summary))  # the bureau's year
    rows = ledger.record_confirmation(case, run_id=folder.run_id, severity=severity, user=user,
                                      rules=rules, reason=reason, pharmacies=set(pharmacies),
                                      role=who["role"])
    for r in rows:
        click.echo(f"entry {r['id']}: {r['year']} {r['entity_kind']} {r['entity_id']} "
                   f"+{r['points']} ({r['rule']}, {r['severity']})")
    click.echo(f"{case_id}: {len(rows)} entries recorded in {db}")


@ledger_group.command("revoke")
@click.argument("entry_id", type=int)
@_db_option
@click.option("--user", "-u", required=True, help="The admin revoking the entry.")
@click.option("--reason", required=True, help="Why the points are revoked.")
def ledger_revoke(entry_id: int, db: Path, user: str, reason: str) -> None:
    """Revoke ledger entry ENTRY_ID: a new entry with its negative points and the reason;
    the original stays."""
    from ..review.store import ReviewStore
    from .book import Ledger

    store = ReviewStore(db)
    who = _admin(store, user)
    r = Ledger(store).revoke(entry_id, user=user, reason=reason, role=who["role"])
    click.echo(f"entry {r['id']}: revokes entry {entry_id} ({r['entity_kind']} "
               f"{r['entity_id']} {r['points']}, {r['year']})")


@ledger_group.command("show")
@click.option("--year", required=True, type=int, help="The scoring year.")
@click.option("--kind", help="Only entities of this kind (institution, pharmacy, doctor).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout instead of a table.")
@_db_option
@_rules_option
def ledger_show(year: int, kind: str | None, as_csv: bool, db: Path,
                rules_file: Path | None) -> None:
    """Per entity with points in a year: points net of revocations, entries, tier and the
    sanction due, most points first."""
    from ..cells import csv_bytes
    from ..errors import LedgerError
    from ..messages import command_language
    from ..review.store import ReviewStore
    from .book import COLUMNS, Ledger
    from .rules import load_rules

    rules = load_rules(rules_file)
    if kind is not None and kind not in rules.kinds:
        raise LedgerError("ledger.bad_kind", kind=kind, kinds=", ".join(rules.kinds))
    rows = Ledger(ReviewStore(db)).standing(year, rules, kind)
    if as_csv:
        click.echo(csv_bytes(COLUMNS, ([r[c] for c in COLUMNS] for r in rows),
                             bom=False).decode("utf-8"), nl=False)
        return
    sanction = "sanction_zh" if command_language() == "zh" else "sanction_en"
    for r in rows:
        dates = f" ({r['since']} – {r['until']})" if r["until"] else \
            (f" ({r['since']})" if r["since"] else "")
        click.echo(f"{r['year']}  {r['entity_kind']:<12} {r['entity_id']:<16} "
                   f"{r['points']:>4}  {r['entries']:>3}  {r[sanction]}{dates}")
    if not rows:
        click.echo(f"no ledger entries in {year}")


@ledger_group.command("report")
@click.option("--year", required=True, metavar="YEAR", help="The scoring year (1900-2100).")
@click.option("--db", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Review database (SQLite).")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder to write ledger-YEAR.csv and ledger-YEAR.pdf into.")
@click.option("--kind", help="Only entities of this kind (institution, pharmacy, doctor); the "
                             "files are then named ledger-YEAR-KIND.*.")
@_rules_option
def ledger_report(year: str, db: Path, out: Path, kind: str | None,
                  rules_file: Path | None) -> None:
    """Write the year's ledger report: ledger-YEAR.csv (an entry a row, with its entity's
    points, tier and sanction) and ledger-YEAR.pdf (per entity, most points first: points
    net of revocations, tier, sanction, and the cases behind them), both or neither. The
    PDF is in the command's language; a year without entries gives a report saying so."""
    from ..messages import command_language
    from .report import check_year, open_ledger, words, write_year_report, year_report
    from .rules import load_rules

    lang = command_language()
    number = check_year(year)
    rules = load_rules(rules_file)
    entities = year_report(open_ledger(db), number, rules, kind)
    csv_path, pdf_path = write_year_report(entities, out, year=number, rules=rules, lang=lang,
                                           kind=kind, source=db.name)
    entries = sum(len(e["cases"]) for e in entities)
    click.echo(words("wrote" if entities else "wrote_empty", lang, csv=csv_path, pdf=pdf_path,
                     year=number, entities=len(entities), entries=entries))
