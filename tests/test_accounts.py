"""Accounts of the review UI: revocable sessions, login throttling, password and name policy,
the ``graphdetect users`` commands and the modes of the files the UI writes."""

from __future__ import annotations

import getpass
import stat
import time

import pytest
from click.testing import CliRunner
from conftest import PASSWORDS, login

from graphdetect.cli import main
from graphdetect.review.accounts import AccountError, LoginLimits, LoginRefused
from graphdetect.review.store import ReviewStore

REFUSED = "Too many failed attempts; try again later or ask an admin"


@pytest.fixture
def app(make_app):
    return make_app()


def users(db, command: str, *args, password: str | None = None):
    """Run ``graphdetect users COMMAND --db DB ARGS``; the password comes from the environment."""
    env = {"GRAPHDETECT_PASSWORD": password} if password else {}
    return CliRunner().invoke(main, ["users", command, "--db", str(db), *args], env=env)


def saved_cookie(app, name: str) -> str:
    client = app.test_client()
    login(client, name)
    assert client.get("/api/me").status_code == 200
    return client.get_cookie("session").value


def replay(app, cookie: str) -> int:
    """The status of /api/me for a fresh browser that presents a saved session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/api/me").status_code


def attempt(client, name: str, password: str, ip: str = "127.0.0.1"):
    return client.post("/login?lang=en", data={"username": name, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def actions(db) -> list[dict]:
    rows, _ = ReviewStore(db).audit_log(limit=1000)
    return rows


# -- sessions ------------------------------------------------------------------------------
def test_saved_cookie_stops_working_after_logout(app):
    client = app.test_client()
    login(client, "li")
    cookie = client.get_cookie("session").value
    assert replay(app, cookie) == 200
    assert client.post("/logout").status_code == 302
    assert replay(app, cookie) == 401
    assert client.get("/api/me").status_code == 401


def test_password_change_ends_every_session_of_the_user(app, review_db):
    first, second = saved_cookie(app, "li"), saved_cookie(app, "li")
    other = saved_cookie(app, "rev")
    res = users(review_db, "passwd", "li", password="a new passphrase 42")
    assert res.exit_code == 0, res.output
    assert replay(app, first) == 401 and replay(app, second) == 401
    assert replay(app, other) == 200, "another user's session is not touched"
    client = app.test_client()
    assert attempt(client, "li", PASSWORDS["li"]).status_code == 401
    assert attempt(client, "li", "a new passphrase 42").status_code == 302


def test_disable_ends_sessions_and_refuses_login_until_enabled(app, review_db):
    cookie = saved_cookie(app, "li")
    assert users(review_db, "disable", "li").exit_code == 0
    assert replay(app, cookie) == 401
    res = attempt(app.test_client(), "li", PASSWORDS["li"])
    assert res.status_code == 401 and "Wrong user name or password" in res.get_data(as_text=True)
    assert users(review_db, "enable", "li").exit_code == 0
    assert replay(app, cookie) == 401, "enabling does not bring old sessions back"
    assert attempt(app.test_client(), "li", PASSWORDS["li"]).status_code == 302


def test_a_disabled_user_is_not_assigned_and_does_not_export(app, review_db, planted_run,
                                                            tmp_path):
    from graphdetect.export import ExportError, export_case

    assert users(review_db, "disable", "li").exit_code == 0
    client = app.test_client()
    login(client, "admin")
    case = client.get("/api/cases").json["cases"][0]["case_id"]
    assert 'value="li"' not in client.get(f"/cases/{case}").get_data(as_text=True)
    res = client.post(f"/api/cases/{case}/decision", json={"assignee": "li", "body": "take it"})
    assert res.status_code == 409 and "disabled" in res.json["error"]["message"]
    with pytest.raises(ExportError, match="disabled"):
        export_case(planted_run, case, tmp_path, db=review_db, user="li")


def test_sessions_are_stored_hashed_and_expire(make_app, review_db):
    app = make_app()
    cookie = saved_cookie(app, "li")
    with app.test_request_context():
        token = app.session_interface.get_signing_serializer(app).loads(cookie)["_user_id"]
    assert len(token) >= 43  # 32 random bytes
    stored = b"".join(p.read_bytes() for p in review_db.parent.glob(review_db.name + "*"))
    assert b"li" in stored and token.encode() not in stored
    assert ReviewStore(review_db).session_user(token, max_age=3600)["name"] == "li"
    assert ReviewStore(review_db).session_user(token, max_age=0) is None
    assert replay(make_app(PERMANENT_SESSION_LIFETIME=0), cookie) == 401


def test_remove_keeps_notes_and_ends_sessions(app, review_db):
    store = ReviewStore(review_db)
    store.decide("run-R-1", run_id="run", case_id="R-1", user="li", status="in_review",
                 reason="start", body="seen")
    cookie = saved_cookie(app, "li")
    res = users(review_db, "remove", "li")
    assert res.exit_code == 0, res.output
    assert store.user("li") is None and "li" not in {u["name"] for u in store.users()}
    assert [h["author"] for h in store.history("run-R-1")] == ["li"]
    assert replay(app, cookie) == 401
    assert attempt(app.test_client(), "li", PASSWORDS["li"]).status_code == 401
    assert users(review_db, "remove", "li").exit_code == 2


# -- throttling ----------------------------------------------------------------------------
def test_lockout_refuses_even_the_right_password_until_unlocked(app, review_db):
    client = app.test_client()
    for _ in range(6):
        assert attempt(client, "li", "wrong password").status_code in (401, 429)
    res = attempt(client, "li", PASSWORDS["li"])
    assert res.status_code == 429 and REFUSED in res.get_data(as_text=True)
    assert "login refused" in {r["action"] for r in actions(review_db)}
    listing = users(review_db, "list").output
    assert "locked until" in next(line for line in listing.splitlines() if line.startswith("li "))
    res = users(review_db, "unlock", "li")
    assert res.exit_code == 0, res.output
    assert attempt(client, "li", PASSWORDS["li"]).status_code == 302
    row = next(r for r in actions(review_db) if r["action"] == "user unlocked")
    assert (row["user"], row["role"], row["target"]) == (getpass.getuser(), "cli", "li")


def test_unknown_names_lock_the_same_way(app):
    client = app.test_client()
    codes = [attempt(client, "nobody", "wrong password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    codes = [attempt(client, "li", "wrong password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_a_success_resets_the_count(app):
    client = app.test_client()
    for _ in range(3):
        for _ in range(4):
            assert attempt(client, "li", "wrong password").status_code == 401
        assert attempt(client, "li", PASSWORDS["li"]).status_code == 302


def test_per_address_limit(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_IP=4)
    client = app.test_client()
    for name in ("a1", "b2", "c3", "d4"):
        assert attempt(client, name, "wrong password", ip="10.0.0.9").status_code == 401
    res = attempt(client, "li", PASSWORDS["li"], ip="10.0.0.9")
    assert res.status_code == 429 and REFUSED in res.get_data(as_text=True)
    assert attempt(client, "li", PASSWORDS["li"], ip="10.0.0.10").status_code == 302


def test_limits_end_when_the_window_and_lockout_pass(review_db):
    store = ReviewStore(review_db)
    limits = LoginLimits(max_failures=2, max_per_ip=3, window=0.5, lockout=0.5)
    for name in ("x1", "x2"):
        for _ in range(2 if name == "x1" else 1):
            store.end_login(store.start_login(name, "10.1.1.1", limits), name, False, limits)
    with pytest.raises(LoginRefused, match="name"):
        store.start_login("x1", "10.2.2.2", limits)
    with pytest.raises(LoginRefused, match="address"):
        store.start_login("x3", "10.1.1.1", limits)
    time.sleep(0.6)
    store.start_login("x1", "10.1.1.1", limits)


def test_unknown_user_costs_as_much_as_a_real_one(app):
    client = app.test_client()

    def cost(name: str) -> float:
        start = time.perf_counter()
        assert attempt(client, name, "wrong password").status_code == 401
        return time.perf_counter() - start

    real = min(cost("li") for _ in range(3))
    unknown = min(cost("nobody-at-all") for _ in range(3))
    assert 1 / 3 < unknown / real < 3, (real, unknown)


# -- policy --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "password", "message"), [
    ("wang", "short-pw1", "at least 10 characters"),
    ("wangxiao", "WangXiao", "at least 10 characters"),
    ("wangxiao01", "WANGXIAO01", "the user name"),
    ("wang", "my-wang-password", "the user name"),
    ("wang", "Password123", "common"),
    ("wang", "woaini1314", "common"),
    ("wang", "1QAZ2WSX3EDC", "common"),
])
def test_password_policy(review_db, name, password, message):
    store = ReviewStore(review_db)
    with pytest.raises(AccountError, match=message):
        store.add_user(name, "investigator", password)
    store.add_user(name, "investigator", "a long passphrase 7")
    with pytest.raises(AccountError, match=message):
        store.set_password(name, password)
    res = users(review_db, "passwd", name, password=password)
    assert res.exit_code == 2 and message in res.output


def test_short_names_may_appear_in_a_password(review_db):
    ReviewStore(review_db).add_user("yu", "reviewer", "bayou-dweller")


@pytest.mark.parametrize("name", ["", "x", "a" * 33, "../x", "a/b", "a b", "名字", "-lead",
                                  ".hidden", "=cmd", "wang\u202e", "li\n"])
def test_bad_user_names_are_refused(review_db, name):
    with pytest.raises(AccountError, match="user name"):
        ReviewStore(review_db).add_user(name, "investigator", "a long passphrase 7")
    res = users(review_db, "add", "--role", "reviewer", "--", name, password="a long passphrase 7")
    assert res.exit_code == 2 and "user name" in res.output


def test_good_names_and_no_duplicates(review_db):
    store = ReviewStore(review_db)
    store.add_user("wang.li_2-x", "reviewer", "a long passphrase 7")
    store.add_user("a" * 32, "reviewer", "a long passphrase 7")
    with pytest.raises(AccountError, match="exists"):
        store.add_user("Wang.Li_2-X", "admin", "a long passphrase 7")
    res = users(review_db, "add", "li", "--role", "admin", password="a long passphrase 7")
    assert res.exit_code == 2 and "exists" in res.output
    assert store.user("li")["role"] == "investigator"


# -- the users commands --------------------------------------------------------------------
def test_users_commands_are_audited_and_listed(review_db):
    assert users(review_db, "add", "zhao", "--role", "reviewer",
                 password="a long passphrase 7").exit_code == 0
    assert users(review_db, "disable", "zhao").exit_code == 0
    listing = users(review_db, "list").output.splitlines()
    zhao = next(line for line in listing if line.startswith("zhao "))
    assert "reviewer" in zhao and "disabled" in zhao
    assert "enabled" in next(line for line in listing if line.startswith("li "))
    assert users(review_db, "enable", "zhao").exit_code == 0
    assert users(review_db, "passwd", "zhao", password="another passphrase 8").exit_code == 0
    assert users(review_db, "remove", "zhao").exit_code == 0
    rows = [r for r in actions(review_db) if r["target"] == "zhao"]
    assert [r["action"] for r in reversed(rows)] == [
        "user added", "user disabled", "user enabled", "password changed", "user removed"]
    assert {(r["user"], r["role"]) for r in rows} == {(getpass.getuser(), "cli")}
    assert users(review_db, "disable", "nobody").exit_code == 2


# -- file modes ----------------------------------------------------------------------------
def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_review_files_are_private(planted_run, tmp_path):
    from graphdetect.review import create_app

    db = tmp_path / "site" / "review.sqlite"
    store = ReviewStore(db)
    store.add_user("li", "investigator", PASSWORDS["li"])
    for suffix in ("", "-wal", "-shm"):
        assert mode(db.with_name(db.name + suffix)) == 0o600, suffix
    app = create_app({"RUN": str(planted_run), "DB": str(db)})
    instance = tmp_path / "site" / "graphdetect-instance"
    assert app.instance_path == str(instance.resolve())
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600


def test_an_older_database_gains_the_new_tables(tmp_path):
    import sqlite3

    from werkzeug.security import generate_password_hash

    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "password_hash TEXT NOT NULL, created_at TEXT NOT NULL)")
    con.execute("INSERT INTO users VALUES ('li', 'investigator', ?, '2024-01-01T00:00:00+00:00')",
                (generate_password_hash("old-pw"),))
    con.commit()
    con.close()
    store = ReviewStore(db)
    assert store.user("li")["enabled"] is True
    assert store.check_password("li", "old-pw")["role"] == "investigator"
    token = store.open_session("li", "127.0.0.1", max_age=60)
    assert store.session_user(token, max_age=60) == {"name": "li", "role": "investigator"}
