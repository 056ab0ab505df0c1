"""``graphdetect users``: the review UI's accounts, changed by whoever holds the database.

Each change is recorded in the database's audit log as the operating-system user with
the role ``cli``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["users_group", "assign_command", "draws_command"]


@click.group("users")
def users_group() -> None:
    """Manage the review UI's accounts; each change is recorded in the database's audit log."""


_existing_db = click.option("--db", required=True, help="Review database (SQLite).",
                            type=click.Path(path_type=Path, dir_okay=False, exists=True))


def _accounts(db: Path):
    from .store import ReviewStore

    return ReviewStore(db)


def _new_password() -> str:
    """The password from GRAPHDETECT_PASSWORD, or asked twice in a terminal."""
    import os

    password = os.environ.get("GRAPHDETECT_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise click.UsageError("set GRAPHDETECT_PASSWORD or run in a terminal to be asked")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _done(store, action: str, name: str, detail: str = "") -> None:
    """Audit an account change as the operating-system user (role 'cli') and say so."""
    import getpass

    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        who = "unknown"
    store.audit(user=who, role="cli", action=action, target=name, detail=detail)
    click.echo(f"{name}: {action}" + (f" ({detail})" if detail else "") + f" in {store.path}")


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["investigator", "reviewer", "admin"]),
              help="What the user may see and do.")
@click.option("--db", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Review database (SQLite; created if missing).")
def users_add(name: str, role: str, db: Path) -> None:
    """Create user NAME; the password comes from GRAPHDETECT_PASSWORD or a prompt.

    NAME is 2-32 ASCII letters, digits, '.', '_' or '-'. A password has 10 or more
    characters, does not hold the name and is not a common one.
    """
    store = _accounts(db)
    store.check_new_user(name, role)  # before a password is asked for
    store.add_user(name, role, _new_password())
    _done(store, "user added", name, role)


@users_group.command("passwd")
@click.argument("name")
@_existing_db
def users_passwd(name: str, db: Path) -> None:
    """Change NAME's password (GRAPHDETECT_PASSWORD or a prompt); their sessions end."""
    store = _accounts(db)
    if store.user(name) is None:
        raise click.UsageError(f"no user {name!r} in {db}")
    store.set_password(name, _new_password())
    _done(store, "password changed", name)


#: Commands that change one user and say so: name -> (method, arguments, action, help).
_CHANGES = {
    "disable": ("set_enabled", (False,), "user disabled",
                "Disable NAME: their sessions end and they cannot log in until enabled."),
    "enable": ("set_enabled", (True,), "user enabled", "Let a disabled NAME log in again."),
    "remove": ("remove_user", (), "user removed",
               "Remove NAME: their sessions end; notes and audit rows keep the name."),
}


def _change_command(command: str, method: str, args: tuple, action: str, text: str):
    def change(name: str, db: Path) -> None:
        store = _accounts(db)
        getattr(store, method)(name, *args)
        _done(store, action, name)

    change.__doc__ = text
    users_group.command(command)(_existing_db(click.argument("name")(change)))


for _command, _spec in _CHANGES.items():
    _change_command(_command, *_spec)


@users_group.command("unlock")
@click.argument("name")
@_existing_db
def users_unlock(name: str, db: Path) -> None:
    """Lift the login lockout of NAME (a user or any name tried) and forget its failures."""
    store = _accounts(db)
    lifted = store.unlock(name)
    _done(store, "user unlocked", name, "" if lifted else "was not locked")


@users_group.command("list")
@_existing_db
def users_list(db: Path) -> None:
    """List the accounts: role, enabled or disabled, since when, and any lockout."""
    store = _accounts(db)
    locks = store.lockouts()
    for u in store.users():
        state = "enabled" if u["enabled"] else "disabled"
        lock = f"  locked until {locks.pop(u['name'])}" if u["name"] in locks else ""
        click.echo(f"{u['name']:<20} {u['role']:<13} {state:<9} {u['created_at']}{lock}")
    for name, until in sorted(locks.items()):  # names tried that are no user's
        click.echo(f"{name:<20} {'(no user)':<13} {'':<9} {'':<25}  locked until {until}")


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@users_group.command("affiliate")
@click.argument("name")
@click.argument("institution")
@click.option("--relation", required=True,
              help="How NAME is tied to it (worked there until 2023, spouse works there …).")
@_existing_db
def users_affiliate(name: str, institution: str, relation: str, db: Path) -> None:
    """Declare that NAME is tied to INSTITUTION: random draws never give NAME a case
    naming it, nor a seat on its committee."""
    from .draw import Draws

    Draws(_accounts(db)).declare(name, institution, relation, by=_operator(), role="cli")
    click.echo(f"{name}: tied to {institution} ({relation}) in {db}")


@users_group.command("unaffiliate")
@click.argument("name")
@click.argument("institution")
@click.option("--reason", required=True, help="Why the tie ended or was declared wrongly.")
@_existing_db
def users_unaffiliate(name: str, institution: str, reason: str, db: Path) -> None:
    """Withdraw NAME's tie to INSTITUTION (the declaration stays on record)."""
    from .draw import Draws

    Draws(_accounts(db)).withdraw(name, institution, by=_operator(), reason=reason, role="cli")
    click.echo(f"{name}: no longer tied to {institution} in {db}")


@users_group.command("affiliations")
@click.argument("name", required=False)
@_existing_db
def users_affiliations(name: str | None, db: Path) -> None:
    """List the declared ties: of NAME, or of every user."""
    from .draw import Draws

    ties = Draws(_accounts(db)).affiliations()
    for user in sorted(ties) if name is None else [name]:
        for institution, relation in sorted(ties.get(user, {}).items()):
            click.echo(f"{user:<20} {institution:<24} {relation}")


@click.command("assign")
@click.argument("run", type=click.Path(path_type=Path))
@_existing_db
@click.option("--user", "-u", required=True, help="The admin making the draw.")
@click.option("--case", "case_ids", multiple=True, metavar="ID",
              help="A case of RUN to assign (repeatable); default: every case of RUN with no "
                   "assignee that is not decided yet.")
@click.option("--seed", help="The draw's seed (default: drawn at random; it is audited "
                             "either way, so the draw replays).")
def assign_command(run: Path, db: Path, user: str, case_ids: tuple[str, ...],
                   seed: str | None) -> None:
    """Assign cases of the run folder RUN to investigators drawn at random (双随机), never
    one tied to an institution of the case (回避). Each draw is stored and audited with
    its seed and candidates; `graphdetect assign` prints them."""
    from ..errors import LedgerError
    from ..ledger.cli import _admin
    from ..runs import Run
    from .alerts import key_of
    from .draw import Draws

    store = _accounts(db)
    _admin(store, user)
    folder = Run(run)
    by_id = {c["case_id"]: c for c in folder.cases}
    if case_ids:
        missing = [c for c in case_ids if c not in by_id]
        if missing:
            raise LedgerError("ledger.no_case", run=run, case_id=missing[0])
        chosen = [by_id[c] for c in case_ids]
    else:
        states = store.states()
        chosen = [c for c in folder.cases
                  if (st := states.get(key_of(c, folder.run_id))) is None
                  or (not st["assignee"] and st["status"] in ("new", "in_review"))]
    draws = Draws(store).assign_at_random([(c, key_of(c, folder.run_id)) for c in chosen],
                                          run_id=folder.run_id, by=user, seed=seed,
                                          role="cli")
    for d in draws:
        excluded = "; ".join(f"{u} ({', '.join(i)})" for u, i in sorted(d["excluded"].items()))
        click.echo(f"{d['case_id']}: {d['picked'][0]}  (draw {d['id']}, seed {d['seed']}, "
                   f"{len(d['candidates'])} candidates"
                   + (f"; recused: {excluded}" if excluded else "") + ")")
    click.echo(f"{len(draws)} cases assigned in {db}")


@click.command("draws")
@_existing_db
@click.option("--case", "case_id", metavar="ID", help="Only the draws of this case id.")
def draws_command(db: Path, case_id: str | None) -> None:
    """List the random draws (case assignments and committees) with their seed, candidates,
    recusals and picks, and replay each: "replays" when its seed and candidates give its
    picks again, "DOES NOT REPLAY" (exit 1) when they do not."""
    import json

    from .draw import Draws, replay


    store = _accounts(db)
    Draws(store)  # its tables, in a database that has made no draw yet
    with store.connect() as con:
        rows = [dict(r) for r in con.execute("SELECT * FROM draws ORDER BY id")]
    bad = 0
    for d in rows:
        if case_id is not None and d["case_id"] != case_id:
            continue
        picked = json.loads(d["picked"])
        ok = replay(d) == picked
        bad += not ok
        click.echo(f"draw {d['id']} {d['at']} {d['purpose']:<9} {d['case_id']:<10} by "
                   f"{d['by']}: {', '.join(picked)}  seed {d['seed']}  candidates "
                   f"{', '.join(json.loads(d['candidates']))}  recused "
                   f"{json.loads(d['excluded']) or '-'}  "
                   + ("replays" if ok else "DOES NOT REPLAY"))
    if bad:
        sys.exit(1)
