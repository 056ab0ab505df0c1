"""``graphdetect users``: the review UI's accounts, changed by whoever holds the database.

Each change is recorded in the database's audit log as the operating-system user with
the role ``cli``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["users_group"]


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
