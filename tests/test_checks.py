"""The value checks every clinic service runs before any SQL (``sessions.checks``)."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import pytest

from sessions.checks import MAX_ID, as_date, as_id, as_utc, clean_text, finite, flush, sides_of
from sessions.programs import ProgramError


@pytest.mark.parametrize("bad", [True, "12a", None, 1.5e300, MAX_ID + 1, -(MAX_ID + 1),
                                 "9" * 70])
def test_ids_are_checked_before_any_sql(bad: object) -> None:
    with pytest.raises(ValueError, match="id"):
        as_id(bad)


def test_ids_in_range_pass() -> None:
    assert as_id("42") == 42 and as_id(MAX_ID) == MAX_ID


def test_an_id_named_for_its_row_says_so() -> None:
    """Accounts use the same check, in their own words (the sign-in and admin pages)."""
    with pytest.raises(ValueError, match=r"^expected an account id, got 'x'$"):
        as_id("x", "account")
    with pytest.raises(ValueError, match=r"^no account with id 9{40}$"):
        as_id("9" * 70, "account")
    assert as_id(7, "account") == 7


def test_free_text_is_trimmed_and_bounded() -> None:
    assert clean_text("  a note \n", "note", 20) == "a note"
    assert clean_text(None, "note", 20) == ""
    with pytest.raises(ValueError, match="note is too long: 21 characters, at most 20"):
        clean_text("x" * 21, "note", 20)
    # a program's own error type, still a ValueError for callers that catch those
    with pytest.raises(ProgramError, match="item notes must be text"):
        clean_text(7, "item notes", 20, error=ProgramError)  # type: ignore[arg-type]


def test_dates() -> None:
    assert as_date(datetime(2026, 3, 1, 23, 30)) == date(2026, 3, 1)
    assert as_date(date(2026, 3, 1)) == date(2026, 3, 1)
    with pytest.raises(ProgramError, match="the start date must be a date, got '2026-03-01'"):
        as_date("2026-03-01", "the start date", error=ProgramError)


def test_times_numbers_and_sides() -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    assert as_utc(naive).tzinfo is timezone.utc and as_utc(naive).hour == 12
    assert finite("2.5") == 2.5 and finite(None) is None
    assert finite(math.nan) is None and finite(-math.inf) is None
    assert sides_of("left,,right") == ("left", "right") and sides_of("") == ()



def test_a_refused_write_is_one_line_in_the_callers_error_type() -> None:
    """A write the database refuses (a duplicate key on a real SQLite database) comes
    back from ``flush`` as the caller's error naming what was saved, with the driver's
    first line and no SQL."""
    from sqlalchemy import Integer, create_engine
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = "t"
        id = mapped_column(Integer, primary_key=True)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Row(id=1))
        flush(s, "row")   # accepted: no error
        s.expunge_all()
        s.add(Row(id=1))
        with pytest.raises(ProgramError, match=r"^could not save the program: UNIQUE "
                                               r"constraint failed: t\.id$") as e:
            flush(s, "program", error=ProgramError)
    assert "INSERT" not in str(e.value)
