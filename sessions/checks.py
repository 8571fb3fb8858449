"""Values checked before they reach the database, shared by the clinic's services.

Each check raises ``ValueError`` (or the subclass the caller names, e.g. a program's
``ProgramError``) with a message a person can act on; none of them touches the
database, so a bad value never reaches SQL.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

__all__ = ["MAX_ID", "as_date", "as_id", "as_utc", "clean_text", "finite", "flush",
           "one_line", "sides_of"]

#: Ids are 32-bit INTEGER columns on every backend.
MAX_ID = 2**31 - 1


def clean_text(text: str | None, what: str, max_len: int,
               error: type[ValueError] = ValueError) -> str:
    """Free text (a note, a comment) trimmed; None is ""; not text or too long: ``error``."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise error(f"{what} must be text")
    if len(text) > max_len:
        raise error(f"{what} is too long: {len(text)} characters, at most {max_len}")
    return text.strip()


def sides_of(text: str) -> tuple[str, ...]:
    """The sides stored as "left,right" as a tuple (empty parts dropped)."""
    return tuple(s for s in text.split(",") if s)


def as_utc(t: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite gives naive UTC times back)."""
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def as_id(x: Any, what: str = "") -> int:
    """``x`` as a row id, checked before any SQL (a 70-digit id never reaches the driver).

    ``what`` names the row in the messages ("account": "expected an account id", "no
    account with id ..."); without it they speak of "an id".
    """
    kind = f"{what} id" if what else "id"
    if isinstance(x, bool):
        raise ValueError(f"expected an {kind}, got {x!r}")
    try:
        value = int(x)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected an {kind}, got {str(x)[:40]!r}") from None
    if not -MAX_ID <= value <= MAX_ID:
        if what:
            raise ValueError(f"no {what} with id {str(value)[:40]}")
        raise ValueError(f"id out of range: {str(value)[:40]} (at most {MAX_ID})")
    return value


def as_date(x: Any, what: str = "the date", error: type[ValueError] = ValueError) -> date:
    """A date (a datetime gives its date); anything else: ``error``."""
    if isinstance(x, datetime):
        return x.date()
    if isinstance(x, date):
        return x
    raise error(f"{what} must be a date, got {x!r}")


def finite(x: Any) -> float | None:
    """``x`` as a float, or None when missing, NaN or infinite (never stored)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def one_line(e: BaseException) -> str:
    """The first line of a database error (its driver's message, never the SQL)."""
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(e).__name__


def flush(s: Session, what: str, error: type[ValueError] = ValueError) -> None:
    """Flush ``s``; a write the database refuses is an ``error`` naming ``what``."""
    try:
        s.flush()
    except IntegrityError as e:
        raise error(f"could not save the {what}: {one_line(e)}") from None
