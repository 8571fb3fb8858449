"""Personal-mode session storage: the app without accounts (one local user).

One row per stretch session in the ``sessions`` table, the full report kept as
JSON. The table is the clinic's (``sessions.models.SessionRow``): personal
sessions are the rows with no patient (``patient_id`` NULL), and this store
reads and writes only those, so a database shared with clinic accounts never
shows patients' sessions here, and the clinic service never shows these.

The schema is kept by Alembic (``sessions.db.upgrade``, run once when the store
opens); a database made by the first release is adopted and upgraded in place.
Any SQLAlchemy URL works (``$STRETCH_COACH_DB_URL``, e.g.
``postgresql+psycopg://...``); the default is ``$STRETCH_COACH_DATA/sessions.db``,
or ``~/.local/share/stretch-coach/sessions.db`` (``$XDG_DATA_HOME`` respected).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, insert, select

from coach.report import SessionReport
from sessions.db import database_url, default_data_dir, ensure_schema, get_engine
from sessions.files import private_dir
from sessions.models import SessionRow

__all__ = ["SessionStore", "StoredSession", "default_data_dir", "default_url"]

log = logging.getLogger(__name__)

sessions_table = SessionRow.__table__
_personal = sessions_table.c.patient_id.is_(None)   # personal-mode rows only


def default_url() -> str:
    """SQLAlchemy URL of the default SQLite store (the folder is created if missing)."""
    folder = private_dir(default_data_dir())
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


class SessionStore:
    """Saves and lists session reports.

    Args:
        url: an SQLAlchemy URL; None means ``$STRETCH_COACH_DB_URL`` or the default
            SQLite file (see ``sessions.db.database_url``).

    Thread-safe: the live coach saves from a WebRTC worker thread while the page
    lists sessions from the script thread.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.engine = get_engine(self.url)
        ensure_schema(self.engine)

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
            "completion": "completed" if report.complete else "interrupted",
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(sessions_table).values(**row)).inserted_primary_key[0]
        log.info("saved session %s (%s, %s)", new_id, report.exercise, report.source)
        return int(new_id)

    def list(self, limit: int = 100, exercise: str | None = None) -> list[StoredSession]:
        """The most recent sessions first (at most ``limit``), optionally for one stretch."""
        q = (select(sessions_table).where(_personal)
             .order_by(sessions_table.c.created_at.desc(), sessions_table.c.id.desc())
             .limit(limit))
        if exercise is not None:
            q = q.where(sessions_table.c.exercise == exercise)
        with self.engine.connect() as conn:
            return [_to_stored(r) for r in conn.execute(q).mappings()]

    def get(self, session_id: int) -> StoredSession | None:
        """One session by id, or None."""
        try:
            sid = int(session_id)
        except (TypeError, ValueError, OverflowError):
            return None
        if not 0 < sid <= 2**31 - 1:   # never sends an out-of-range id to the driver
            return None
        q = select(sessions_table).where(_personal, sessions_table.c.id == sid)
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return _to_stored(row) if row is not None else None

    def count(self) -> int:
        """Number of saved sessions."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(sessions_table)
                                    .where(_personal)).scalar_one())


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
