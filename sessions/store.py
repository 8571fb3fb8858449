"""Session storage: one row per stretch session, the full report kept as JSON.

Small on purpose: SQLAlchemy 2 Core over SQLite by default (any SQLAlchemy URL
works, e.g. ``postgresql+psycopg://...``). Accounts, migrations (Alembic) and a
therapist view come later; the UI talks to ``SessionStore`` only, never to the
database directly.

The default database is ``$STRETCH_COACH_DATA/sessions.db``, or
``~/.local/share/stretch-coach/sessions.db`` (``$XDG_DATA_HOME`` respected).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)

from coach.report import SessionReport

__all__ = ["SessionStore", "StoredSession", "default_data_dir", "default_url"]

log = logging.getLogger(__name__)

_metadata = MetaData()

sessions_table = Table(
    "sessions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("exercise", String(64), nullable=False, index=True),
    Column("sides", String(32), nullable=False),          # "left", "left,right", "both"
    Column("source", String(16), nullable=False),         # "live", "video", "camera"
    Column("score", Float, nullable=True),
    Column("reps", Integer, nullable=False, default=0),
    Column("complete", Boolean, nullable=False),
    Column("problem", Text, nullable=True),
    Column("report", JSON, nullable=False),
)


def default_data_dir() -> Path:
    """Folder holding the user's data: ``$STRETCH_COACH_DATA`` or the XDG data dir."""
    env = os.environ.get("STRETCH_COACH_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stretch-coach"


def default_url() -> str:
    """SQLAlchemy URL of the default SQLite store (the folder is created if missing)."""
    folder = default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'sessions.db'}"


@dataclass(frozen=True)
class StoredSession:
    """One saved session.

    Attributes:
        id: row id.
        created_at: when it was saved (UTC, timezone-aware).
        exercise: stretch id.
        sides: sides tracked.
        source: ``"live"``, ``"video"`` or ``"camera"``.
        score: session score 0..100 (None if the report had none).
        reps: completed repetitions.
        complete: False when the session was interrupted or the video broke.
        problem: why it is incomplete, one line.
        report: the full ``SessionReport``.
    """

    id: int
    created_at: datetime
    exercise: str
    sides: tuple[str, ...]
    source: str
    score: float | None
    reps: int
    complete: bool
    problem: str | None
    report: SessionReport


def _enable_sqlite_fk_and_wal(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")   # readers (UI) never block the writer (live)
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()


class SessionStore:
    """Saves and lists session reports.

    Args:
        url: an SQLAlchemy URL; None means the default SQLite file (see ``default_url``).

    Thread-safe: the live coach saves from a WebRTC worker thread while the page
    lists sessions from the script thread.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.engine = create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            _enable_sqlite_fk_and_wal(self.engine)
        _metadata.create_all(self.engine)

    def __repr__(self) -> str:
        return f"SessionStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def save(self, report: SessionReport) -> int:
        """Save ``report`` in one transaction and return its id."""
        data = report.to_dict()
        # json round trip: plain types only, no NaN (to_dict already maps NaN to None)
        data = json.loads(json.dumps(data, allow_nan=False))
        row = {
            "created_at": datetime.now(timezone.utc),
            "exercise": report.exercise,
            "sides": ",".join(report.sides),
            "source": report.source,
            "score": _score(report),
            "reps": report.reps_done,
            "complete": bool(report.complete),
            "problem": report.problem,
            "report": data,
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(sessions_table).values(**row)).inserted_primary_key[0]
        log.info("saved session %s (%s, %s)", new_id, report.exercise, report.source)
        return int(new_id)

    def list(self, limit: int = 100, exercise: str | None = None) -> list[StoredSession]:
        """The most recent sessions first (at most ``limit``), optionally for one stretch."""
        q = select(sessions_table).order_by(sessions_table.c.created_at.desc(),
                                            sessions_table.c.id.desc()).limit(limit)
        if exercise is not None:
            q = q.where(sessions_table.c.exercise == exercise)
        with self.engine.connect() as conn:
            return [_to_stored(r) for r in conn.execute(q).mappings()]

    def get(self, session_id: int) -> StoredSession | None:
        """One session by id, or None."""
        q = select(sessions_table).where(sessions_table.c.id == int(session_id))
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return _to_stored(row) if row is not None else None

    def count(self) -> int:
        """Number of saved sessions."""
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(sessions_table)).scalar_one())


def _score(report: SessionReport) -> float | None:
    s = report.score.get("score") if report.score else None
    return float(s) if s is not None else None


def _to_stored(row: Any) -> StoredSession:
    created = row["created_at"]
    if created.tzinfo is None:  # SQLite drops the zone; we always store UTC
        created = created.replace(tzinfo=timezone.utc)
    return StoredSession(
        id=int(row["id"]), created_at=created, exercise=row["exercise"],
        sides=tuple(s for s in row["sides"].split(",") if s), source=row["source"],
        score=row["score"], reps=int(row["reps"] or 0), complete=bool(row["complete"]),
        problem=row["problem"], report=SessionReport.from_dict(dict(row["report"])),
    )
