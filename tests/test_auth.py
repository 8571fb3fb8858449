"""Accounts and logins on SQLite and PostgreSQL: passwords, lockout, expiry, roles."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, LargeBinary, String, Text, func, inspect, select, text

from sessions.auth import (
    AccessDenied,
    Accounts,
    AuthError,
    PasswordPolicyError,
    Principal,
)
from sessions.models import Base, LoginSession, LoginThrottle, User
from sessions.screening import SCREENING_QUESTIONS
from sessions.service import Clinic, ProgramItemIn
from tests import clinic_support
from tests.clinic_support import (
    FAST_HASHER,
    PASSWORD,
    TRICKY,
    FakeClock,
    World,
    make_world,
    neck_report,
    screened,
)

# the shared fixtures: every test here runs on SQLite and on PostgreSQL
db_url, engine, world = clinic_support.db_url, clinic_support.engine, clinic_support.world


def _accounts(engine: Engine, **kw) -> Accounts:
    kw.setdefault("hasher", FAST_HASHER)
    return Accounts(engine, **kw)


def _admin(acc: Accounts) -> Principal:
    acc.create_admin("root admin", PASSWORD)
    return acc.login("root admin", PASSWORD)


# --------------------------------------------------------------------------- bootstrap


def test_first_admin_then_no_second_bootstrap(engine: Engine) -> None:
    acc = _accounts(engine)
    assert not acc.any_accounts()
    admin_id = acc.create_admin("boss", PASSWORD)
    assert acc.any_accounts()
    with pytest.raises(AccessDenied, match="already exists"):
        acc.create_admin("boss2", PASSWORD)
    me = acc.login("boss", PASSWORD)
    assert (me.user_id, me.role, me.username) == (admin_id, "admin", "boss")
    # admins create further admins
    acc.create_user(me, "boss2", PASSWORD, "admin")
    assert acc.login("boss2", PASSWORD).role == "admin"


@pytest.mark.parametrize(("password", "why"), [
    ("short", "too short"),
    ("123456789", "too short"),
    ("x" * 1025, "too long"),
    ("Alice Smith", "not be the username"),
])
def test_password_policy(engine: Engine, password: str, why: str) -> None:
    acc = _accounts(engine)
    with pytest.raises(PasswordPolicyError, match=why):
        acc.create_admin("alice smith", password)
    assert not acc.any_accounts()


def test_ten_characters_is_enough(engine: Engine) -> None:
    acc = _accounts(engine)
    acc.create_admin("a", "lamp 7 rain")
    assert acc.login("a", "lamp 7 rain").username == "a"


@pytest.mark.parametrize(("password", "why"), [
    ("1234567890", "too simple"),
    ("0123456789012", "too simple"),
    ("password12", "too common"),
    ("Password123!", "too common"),
    ("P@ssw0rd2024", "too common"),
    ("qwertyuiop1", "too common"),
    (" " * 10, "only spaces"),
    ("aaaaaaaaaa", "repetitive"),
    ("abababab12", "repetitive"),
    ("abcdefghijkl", "too simple"),
])
def test_weak_passwords_are_refused_with_the_reason(engine: Engine, password: str,
                                                    why: str) -> None:
    from sessions.auth import PASSWORD_RULES

    acc = _accounts(engine)
    with pytest.raises(PasswordPolicyError, match=why):
        acc.create_admin("boss", password)
    assert not acc.any_accounts()
    assert "at least 10 characters" in PASSWORD_RULES and "common" in PASSWORD_RULES


def _db_bytes(engine: Engine) -> int:
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as c:
        return c.execute(text("SELECT pg_database_size(current_database())")).scalar_one()


def test_overlong_usernames_never_reach_the_database(engine: Engine,
                                                     caplog: pytest.LogCaptureFixture
                                                     ) -> None:
    acc = _accounts(engine)
    admin = _admin(acc)
    with engine.begin() as c:
        c.execute(text("CHECKPOINT" if engine.dialect.name == "postgresql" else
                       "PRAGMA wal_checkpoint(TRUNCATE)"))
    size = _db_bytes(engine)
    for name in ("x" * 151, "y" * 2_000_000, "z" * 2_000_000, "\uFDFA" * 10):
        with pytest.raises(AuthError, match=r"^wrong username or password$"):
            acc.login(name, PASSWORD)
        with pytest.raises(AccessDenied) as e:
            acc.user_id(admin, name)
        assert len(str(e.value)) < 120
        with pytest.raises(ValueError, match="too long"):
            acc.create_user(admin, name, PASSWORD, "therapist")
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(LoginThrottle)).scalar_one() == 0
    assert _db_bytes(engine) - size < 256 * 1024       # not megabytes of usernames
    assert all(len(r.getMessage()) < 500 for r in caplog.records)
    acc.create_user(admin, "n" * 150, PASSWORD, "therapist")   # the limit itself is fine
    assert acc.login("N" * 150, PASSWORD).username == "n" * 150


@pytest.mark.parametrize("name", [
    "admin\u202e", "\u202enimda", "ad\u200bmin", "ad\u200dmin", "\u2066admin\u2069",
    "admin\ufeff", "adm\u00adin", "admin\ue000", "admin\u2028x",
])
def test_usernames_that_could_pass_for_someone_else_are_refused(engine: Engine,
                                                                name: str) -> None:
    acc = _accounts(engine)
    admin = _admin(acc)
    with pytest.raises(ValueError, match="invisible or direction-changing"):
        acc.create_user(admin, name, PASSWORD, "therapist")
    with pytest.raises(ValueError, match="invisible or direction-changing"):
        acc.create_user(admin, "fine name", PASSWORD, "therapist", display_name=name)
    with pytest.raises(AuthError, match=r"^wrong username or password$"):
        acc.login(name, PASSWORD)


def test_usernames_are_nfkc_normalised(engine: Engine) -> None:
    acc = _accounts(engine)
    admin = _admin(acc)
    uid = acc.create_user(admin, "\uff42\uff4f\uff53\uff53", PASSWORD, "therapist")  # full width
    assert {u.username for u in acc.list_users(admin) if u.id == uid} == {"boss"}
    with pytest.raises(ValueError, match="taken"):
        acc.create_user(admin, "BOSS", PASSWORD, "therapist")
    assert acc.login("boss", PASSWORD).user_id == uid


@pytest.mark.parametrize("name", ["", "   ", "bad\nname", "tab\there", "esc\x1b[31m"])
def test_bad_usernames_are_refused(engine: Engine, name: str) -> None:
    with pytest.raises(ValueError, match="username"):
        _accounts(engine).create_admin(name, PASSWORD)


def test_default_hasher_is_argon2id(engine: Engine) -> None:
    acc = Accounts(engine)   # the production parameters
    uid = acc.create_admin("argon", PASSWORD)
    with engine.connect() as c:
        stored = c.execute(select(User.password_hash).where(User.id == uid)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert acc.login("argon", PASSWORD).user_id == uid


# --------------------------------------------------------------------------- login


def test_wrong_password_and_unknown_user_look_the_same(engine: Engine) -> None:
    acc = _accounts(engine)
    _admin(acc)
    with pytest.raises(AuthError) as wrong:
        acc.login("root admin", PASSWORD + "!")
    with pytest.raises(AuthError) as unknown:
        acc.login("nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "wrong username or password"
    with pytest.raises(AuthError):
        acc.login("root admin", "")


def test_usernames_are_case_insensitive_and_unique(engine: Engine) -> None:
    acc = _accounts(engine)
    admin = _admin(acc)
    acc.create_user(admin, "Alice", PASSWORD, "therapist")
    with pytest.raises(ValueError, match="taken"):
        acc.create_user(admin, "alice", PASSWORD, "therapist")
    me = acc.login("ALICE", PASSWORD)
    assert me.username == "Alice"


def test_lockout_after_five_failures_for_fifteen_minutes(engine: Engine) -> None:
    clock = FakeClock()
    acc = _accounts(engine, clock=clock)
    _admin(acc)
    acc.create_user(acc.login("root admin", PASSWORD), "t1", PASSWORD, "therapist")
    for i in range(4):
        with pytest.raises(AuthError, match=r"^wrong username or password$"):
            acc.login("t1", f"wrong password {i}")
        clock.advance(seconds=10)
    with pytest.raises(AuthError, match="locked until") as fifth:
        acc.login("t1", "wrong password 5")
    until = (clock.now + timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M UTC")
    assert until in str(fifth.value)
    # the right password does not help while locked
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(AuthError, match=f"locked until {until}"):
        acc.login("t1", PASSWORD)
    # an admin sees the lock
    admin = acc.login("root admin", PASSWORD)
    locked = {u.username: u.locked_until for u in acc.list_users(admin)}
    assert locked["t1"] is not None and locked["root admin"] is None
    clock.advance(seconds=2)
    assert acc.login("t1", PASSWORD).username == "t1"
    # a success clears the count: four more failures do not lock
    for _ in range(4):
        with pytest.raises(AuthError, match=r"^wrong username or password$"):
            acc.login("t1", "nope nope nope")
    assert acc.login("t1", PASSWORD).username == "t1"


def test_unknown_usernames_lock_too(engine: Engine) -> None:
    acc = _accounts(engine)
    for _ in range(5):
        with pytest.raises(AuthError):
            acc.login("ghost", PASSWORD)
    with pytest.raises(AuthError, match="locked until"):
        acc.login("ghost", PASSWORD)


def test_old_failures_are_forgotten(engine: Engine) -> None:
    clock = FakeClock()
    acc = _accounts(engine, clock=clock)
    _admin(acc)
    for _ in range(4):
        with pytest.raises(AuthError, match=r"^wrong"):
            acc.login("root admin", "bad password")
    clock.advance(minutes=16)
    for _ in range(4):
        with pytest.raises(AuthError, match=r"^wrong"):
            acc.login("root admin", "bad password")
    assert acc.login("root admin", PASSWORD).role == "admin"


# --------------------------------------------------------------------------- tokens


def test_token_is_random_stored_hashed_and_hidden_from_repr(engine: Engine) -> None:
    acc = _accounts(engine)
    a = _admin(acc)
    b = acc.login("root admin", PASSWORD)
    assert a.token != b.token and len(a.token) >= 40
    assert a.token not in repr(a)
    with engine.connect() as c:
        hashes = c.execute(select(LoginSession.token_hash)).scalars().all()
    assert len(hashes) == 2 and a.token not in hashes and all(len(h) == 64 for h in hashes)
    assert acc.resume(a.token) == a


def test_login_expires_after_eight_hours_idle(engine: Engine) -> None:
    clock = FakeClock()
    acc = _accounts(engine, clock=clock)
    me = _admin(acc)
    clock.advance(hours=7, minutes=59)
    assert acc.resume(me.token).user_id == me.user_id   # use keeps it alive
    clock.advance(hours=7, minutes=59)
    assert acc.resume(me.token).user_id == me.user_id
    clock.advance(hours=8, seconds=1)
    with pytest.raises(AuthError, match="expired after 8 h"):
        acc.resume(me.token)
    with pytest.raises(AuthError, match="expired"):
        Clinic(me, engine, clock=clock)
    with pytest.raises(AuthError, match="expired"):
        acc.list_users(me)


def test_expiry_mid_session_stops_the_service(world: World) -> None:
    clock = FakeClock()
    acc = _accounts(world.engine, clock=clock)
    me = acc.login("ther_a", PASSWORD)
    clinic = Clinic(me, world.engine, clock=clock)
    assert [p.username for p in clinic.patients()] == ["pat_a", "pat_a2"]
    clock.advance(hours=8, seconds=1)
    with pytest.raises(AuthError, match="expired"):
        clinic.patients()


def test_idle_timeout_is_configurable(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    acc = _accounts(engine, clock=clock, idle_timeout=timedelta(minutes=30))
    me = _admin(acc)
    clock.advance(minutes=31)
    with pytest.raises(AuthError, match="expired after 30 min"):
        acc.resume(me.token)
    monkeypatch.setenv("STRETCH_COACH_LOGIN_IDLE_MINUTES", "90")
    acc2 = _accounts(engine, clock=clock)
    assert acc2.idle_timeout == timedelta(minutes=90)
    monkeypatch.setenv("STRETCH_COACH_LOGIN_IDLE_MINUTES", "soon")
    with pytest.raises(ValueError, match="STRETCH_COACH_LOGIN_IDLE_MINUTES"):
        _accounts(engine)


def test_logout_ends_the_login(engine: Engine) -> None:
    acc = _accounts(engine)
    me = _admin(acc)
    acc.logout(me.token)
    with pytest.raises(AuthError, match="not signed in"):
        acc.resume(me.token)
    acc.logout(me.token)   # idempotent


def test_a_forged_principal_grants_nothing(world: World) -> None:
    # a made-up token
    fake = Principal(world.ther_a.user_id, "ther_a", "therapist", "A", "made-up-token")
    with pytest.raises(AuthError):
        Clinic(fake, world.engine)
    with pytest.raises(AuthError):
        world.accounts.list_users(Principal(world.admin.user_id, "admin", "admin", "", "x"))
    # a patient's real token with a claimed therapist role: the role comes from the database
    claimed = Principal(world.pat_a.user_id, "pat_a", "therapist", "", world.pat_a.token)
    clinic = Clinic(claimed, world.engine)
    assert clinic.principal.role == "patient"
    with pytest.raises(AccessDenied):
        clinic.patients()
    with pytest.raises(AuthError):
        Clinic("not a principal", world.engine)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- roles


def test_who_may_create_which_accounts(world: World) -> None:
    acc = world.accounts
    # a therapist creates patients, assigned to themselves
    pid = acc.create_user(world.ther_a, "new patient", PASSWORD, "patient", "N P")
    assert Clinic(world.ther_a, world.engine).patient(pid).therapist_id == world.ther_a.user_id
    with pytest.raises(AccessDenied):
        acc.create_user(world.ther_a, "t3", PASSWORD, "therapist")
    with pytest.raises(AccessDenied):
        acc.create_user(world.ther_a, "p3", PASSWORD, "patient",
                        therapist_id=world.ther_b.user_id)
    with pytest.raises(AccessDenied):
        acc.create_user(world.pat_a, "p4", PASSWORD, "patient")
    with pytest.raises(ValueError, match="role"):
        acc.create_user(world.admin, "x", PASSWORD, "superuser")
    with pytest.raises(ValueError, match="therapist"):
        acc.create_user(world.admin, "p5", PASSWORD, "patient", therapist_id=world.pat_b.user_id)
    with pytest.raises(ValueError, match="only patient"):
        acc.create_user(world.admin, "t5", PASSWORD, "therapist",
                        therapist_id=world.ther_a.user_id)


def test_only_admins_list_and_assign(world: World) -> None:
    acc = world.accounts
    for who in (world.ther_a, world.pat_a):
        with pytest.raises(AccessDenied):
            acc.list_users(who)
        with pytest.raises(AccessDenied):
            acc.set_therapist(who, world.pat_b.user_id, world.ther_a.user_id)
        with pytest.raises(AccessDenied):
            acc.set_active(who, world.pat_b.user_id, False)
    users = {u.username: u for u in acc.list_users(world.admin)}
    assert users["pat_b"].therapist_username == "ther_b"
    assert not any(hasattr(u, "password_hash") for u in users.values())
    acc.set_therapist(world.admin, world.pat_b.user_id, world.ther_a.user_id)
    assert "pat_b" in [p.username for p in Clinic(world.ther_a, world.engine).patients()]
    assert Clinic(world.ther_b, world.engine).patients() == []
    acc.set_therapist(world.admin, world.pat_b.user_id, None)
    assert "pat_b" not in [p.username for p in Clinic(world.ther_a, world.engine).patients()]


def test_user_id_lookup_is_scoped(world: World) -> None:
    acc = world.accounts
    assert acc.user_id(world.ther_a, "pat_a") == world.pat_a.user_id
    assert acc.user_id(world.pat_a, "PAT_A") == world.pat_a.user_id
    for who, name in ((world.ther_a, "pat_b"), (world.ther_a, "nobody"),
                      (world.pat_a, "pat_a2"), (world.ther_a, "ther_b")):
        with pytest.raises(AccessDenied, match="that you can access"):
            acc.user_id(who, name)


def test_admin_reads_no_clinical_data(world: World) -> None:
    ca = Clinic(world.ther_a, world.engine)
    pa = world.pat_a.user_id
    ca.set_program(pa, [ProgramItemIn("neck_side_tilt")])
    sid = screened(Clinic(world.pat_a, world.engine)).save_session(neck_report(), pain_before=1,
                                                          pain_after=4)
    flag = ca.flags()[0].id
    admin = Clinic(world.admin, world.engine)
    calls = {
        "patients": lambda: admin.patients(),
        "patient": lambda: admin.patient(pa),
        "set_video_opt_in": lambda: admin.set_video_opt_in(True),
        "set_program": lambda: admin.set_program(pa, []),
        "program": lambda: admin.program(pa),
        "program_info": lambda: admin.program_info(pa),
        "adherence": lambda: admin.adherence(pa),
        "todays_program": lambda: admin.todays_program(),
        "record_screening": lambda: admin.record_screening(
            dict.fromkeys(SCREENING_QUESTIONS, False), 0, patient_id=pa),
        "screening_today": lambda: admin.screening_today(pa),
        "save_session": lambda: admin.save_session(neck_report(), patient_id=pa),
        "sessions": lambda: admin.sessions(pa),
        "session": lambda: admin.session(sid),
        "add_note": lambda: admin.add_note(sid, "hi"),
        "flags": lambda: admin.flags(),
        "resolve_flag": lambda: admin.resolve_flag(flag, "called the patient"),
        "trends": lambda: admin.trends(pa),
        "export_csv": lambda: admin.export_csv(pa, None, None),
        "export_pdf": lambda: admin.export_pdf(pa, None, None),
        "export_handout": lambda: admin.export_handout(pa),
    }
    public = {n for n in dir(Clinic) if not n.startswith("_") and callable(getattr(Clinic, n))}
    assert set(calls) == public, "a new Clinic method needs a row here"
    for name, call in calls.items():
        with pytest.raises(AccessDenied):
            call()
            pytest.fail(f"admin could call {name}")


def test_disabled_account_cannot_log_in_and_loses_its_logins(world: World) -> None:
    acc = world.accounts
    acc.set_active(world.admin, world.pat_a.user_id, False)
    with pytest.raises(AuthError):
        acc.resume(world.pat_a.token)
    with pytest.raises(AuthError):
        acc.login("pat_a", PASSWORD)
    with pytest.raises(ValueError, match="own account"):
        acc.set_active(world.admin, world.admin.user_id, False)
    acc.set_active(world.admin, world.pat_a.user_id, True)
    assert acc.login("pat_a", PASSWORD).role == "patient"


def test_change_password_ends_other_logins(world: World) -> None:
    acc = world.accounts
    other = acc.login("pat_a", PASSWORD)
    with pytest.raises(AuthError, match="current password"):
        acc.change_password(world.pat_a, "not it at all", "a brand new secret")
    with pytest.raises(PasswordPolicyError):
        acc.change_password(world.pat_a, PASSWORD, "short")
    acc.change_password(world.pat_a, PASSWORD, "a brand new secret")
    assert acc.resume(world.pat_a.token).username == "pat_a"
    with pytest.raises(AuthError):
        acc.resume(other.token)
    with pytest.raises(AuthError):
        acc.login("pat_a", PASSWORD)
    assert acc.login("pat_a", "a brand new secret").role == "patient"


# --------------------------------------------------------------------------- secrets and text


def _all_text(engine: Engine) -> list[str]:
    """Every text and binary value in every table."""
    out: list[str] = []
    with engine.connect() as c:
        for table in Base.metadata.sorted_tables:
            cols = [col.name for col in table.columns
                    if isinstance(col.type, String | Text | LargeBinary)
                    or col.type.__class__.__name__ == "JSON"]
            if not cols:
                continue
            for row in c.execute(select(*(table.c[n] for n in cols))):
                out += [v.decode("latin-1") if isinstance(v, bytes) else str(v)
                        for v in row if v is not None]
        # and whatever else lives in the database (alembic_version...)
        for name in inspect(c).get_table_names():
            if name not in Base.metadata.tables:
                out += [str(v) for row in c.execute(text(f'SELECT * FROM "{name}"'))
                        for v in row]
    return out


def test_no_plaintext_password_anywhere(engine: Engine, caplog: pytest.LogCaptureFixture
                                        ) -> None:
    secret = "Tr0ub4dor&3-unique-secret"
    caplog.set_level(logging.DEBUG)
    w = make_world(engine)
    acc = w.accounts
    uid = acc.create_user(w.admin, "secretive", secret, "patient", "S",
                          therapist_id=w.ther_a.user_id)
    me = acc.login("secretive", secret)
    for attempt in (secret + "x", secret.upper(), secret):
        with contextlib.suppress(AuthError):
            acc.login("secretive", attempt)
    acc.change_password(me, secret, secret + "-2")
    acc.login("secretive", secret + "-2")
    screened(Clinic(me, engine)).save_session(neck_report(), comment="feeling fine")
    assert uid
    values = _all_text(engine)
    assert values, "nothing was read"
    assert not [v for v in values if secret in v]
    assert not [v for v in values if me.token in v]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert secret not in logged
    assert me.token not in logged
    assert "failed login" in logged   # the log was captured at all


@pytest.mark.parametrize("name", TRICKY)
def test_names_with_markup_and_sql_are_stored_verbatim(engine: Engine, name: str) -> None:
    acc = _accounts(engine)
    admin = _admin(acc)
    uid = acc.create_user(admin, name, PASSWORD, "therapist", display_name=name + " (display)")
    users = {u.id: u for u in acc.list_users(admin)}
    assert users[uid].username == name
    assert users[uid].display_name == name + " (display)"
    me = acc.login(name, PASSWORD)
    assert me.username == name
    assert set(inspect(engine).get_table_names()) >= {"users", "sessions"}
    assert Clinic(me, engine).patients() == []


def test_admin_resets_a_forgotten_password_and_lifts_the_lock(world: World) -> None:
    acc = world.accounts
    for _ in range(5):
        with pytest.raises(AuthError):
            acc.login("pat_a", "forgotten it")
    with pytest.raises(AccessDenied):
        acc.reset_password(world.ther_a, world.pat_a.user_id, "a fresh password")
    with pytest.raises(PasswordPolicyError):
        acc.reset_password(world.admin, world.pat_a.user_id, "short")
    acc.reset_password(world.admin, world.pat_a.user_id, "a fresh password")
    with pytest.raises(AuthError):
        acc.resume(world.pat_a.token)
    assert acc.login("pat_a", "a fresh password").role == "patient"
