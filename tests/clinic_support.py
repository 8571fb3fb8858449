"""Shared fixtures and builders for the clinic tests (accounts, service, exports, CLI).

``db_url`` runs a test module on both backends: a temporary SQLite file, and a
fresh PostgreSQL database on the real server (``$STRETCH_COACH_TEST_PG_URL``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), created for
the module and dropped after it. An unreachable server fails the tests loudly.

Import the fixtures into a test module with
``from tests.clinic_support import db_url, engine, world  # noqa: F401``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from coach.pipeline import CoachSession
from coach.report import SessionReport, build_report
from exercises.definition import load_library
from sessions.auth import Accounts, Principal
from sessions.db import dispose_engine, get_engine, upgrade
from sessions.models import Base
from sessions.service import Clinic
from tests.builders import timeline

PG_ADMIN_URL = os.environ.get("STRETCH_COACH_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery staple"
# cheaper argon2id parameters for the many logins of the tests (auth tests use the defaults)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
TRICKY = ["<script>alert('x')</script>", "'; DROP TABLE users; --", "Zoë \"Ω\" $x^2$ & <b>"]


# --------------------------------------------------------------------------- databases


def pg_admin_engine() -> Engine:
    """An AUTOCOMMIT engine on the server's maintenance database; fails if unreachable."""
    eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
    except OperationalError as e:
        eng.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} "
                    f"({str(e.orig).strip().splitlines()[0]}). Start it with "
                    f"'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' "
                    f"or set STRETCH_COACH_TEST_PG_URL.", pytrace=False)
    return eng


def fresh_pg_database(tag: str) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it afterwards."""
    admin = pg_admin_engine()
    name = f"sc_test_{tag}_{uuid.uuid4().hex[:8]}".lower()
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def backend_url(backend: str, tag: str, tmp_dir) -> Iterator[str]:
    """A fresh empty database of ``backend`` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        tmp_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{tmp_dir / 'sessions.db'}"
        yield url
        dispose_engine(url)
    else:
        yield from fresh_pg_database(tag)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """A fresh database for the module on each backend."""
    tag = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    yield from backend_url(request.param, tag, tmp_path_factory.mktemp(request.param))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The migrated database, emptied after each test."""
    eng = get_engine(db_url)
    upgrade(eng)
    yield eng
    with eng.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(table.delete())


# --------------------------------------------------------------------------- clock


class FakeClock:
    """A settable UTC clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


# --------------------------------------------------------------------------- people


@dataclass
class World:
    """Two therapists with one patient each (plus a second patient of A), and an admin."""

    engine: Engine
    accounts: Accounts
    admin: Principal
    ther_a: Principal
    ther_b: Principal
    pat_a: Principal
    pat_a2: Principal
    pat_b: Principal

    def clinic(self, who: Principal, **kw) -> Clinic:
        return Clinic(who, self.engine, **kw)


def make_world(engine: Engine, hasher: PasswordHasher | None = FAST_HASHER) -> World:
    acc = Accounts(engine, hasher=hasher)
    acc.create_admin("admin", PASSWORD)
    admin = acc.login("admin", PASSWORD)
    ta = acc.create_user(admin, "ther_a", PASSWORD, "therapist", "Therapist A")
    tb = acc.create_user(admin, "ther_b", PASSWORD, "therapist", "Therapist B")
    acc.create_user(admin, "pat_a", PASSWORD, "patient", "Patient A", therapist_id=ta)
    acc.create_user(admin, "pat_a2", PASSWORD, "patient", "Patient A2", therapist_id=ta)
    acc.create_user(admin, "pat_b", PASSWORD, "patient", "Patient B", therapist_id=tb)
    return World(engine, acc, admin, *(acc.login(u, PASSWORD) for u in
                                       ("ther_a", "ther_b", "pat_a", "pat_a2", "pat_b")))


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def screened(clinic: Clinic, pain: int = 0, patient_id: int | None = None) -> Clinic:
    """``clinic`` after the safety questions were answered "no" (a session may be saved)."""
    from sessions.screening import SCREENING_QUESTIONS

    clinic.record_screening(dict.fromkeys(SCREENING_QUESTIONS, False), pain,
                            patient_id=patient_id)
    return clinic


# --------------------------------------------------------------------------- reports


@lru_cache(maxsize=32)
def _neck_tilt_dict(reps: int, angle: float, hold: float, stop_mid_rep: bool) -> dict:
    d = load_library()["neck_side_tilt"]
    session = CoachSession(d, ("left",), estimator=None, smoothing=False)
    keys: list[tuple[float, dict]] = [(0.0, {"neck_tilt": 0.0}), (1.5, {"neck_tilt": 0.0})]
    t = 1.5
    for _ in range(reps):
        keys += [(t + 1.0, {"neck_tilt": angle}), (t + 1.0 + hold, {"neck_tilt": angle}),
                 (t + 2.0 + hold, {"neck_tilt": 0.0}), (t + 3.0 + hold, {"neck_tilt": 0.0})]
        t += 3.0 + hold
    if stop_mid_rep:
        keys += [(t + 1.0, {"neck_tilt": angle}), (t + 2.0, {"neck_tilt": angle})]
    frames = 0
    last_t = 0.0
    series_t: list[float] = []
    series_v: list[float | None] = []
    for frame in timeline(keys, fps=10.0):
        res = session.process_pose(frame)
        frames += 1
        last_t = frame.timestamp_s
        series_t.append(round(frame.timestamp_s, 3))
        v = res.feedback[0].value if res.feedback else None
        series_v.append(None if v is None else round(float(v), 2))
    session.finish()
    report = build_report(d, session.trackers.values(), source="live",
                          prescription=d.prescription, duration_s=last_t, frames=frames,
                          complete=not stop_mid_rep,
                          problem="camera stopped before the set was finished"
                          if stop_mid_rep else None,
                          series={"t": series_t, "left": series_v})
    return report.to_dict()


def neck_report(reps: int = 3, angle: float = 35.0, hold: float = 6.0, *,
                stop_mid_rep: bool = False) -> SessionReport:
    """A real neck-side-tilt (left) report from synthetic poses (cached, fresh copy)."""
    import copy

    return SessionReport.from_dict(copy.deepcopy(
        _neck_tilt_dict(reps, angle, hold, stop_mid_rep)))
