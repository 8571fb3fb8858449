"""A prescription in words a patient understands (units named), for reports and handouts."""

from __future__ import annotations

from datetime import date
from typing import Any

__all__ = ["dose_text", "frequency_text", "period_text", "plural", "sides_text", "times_text"]


def plural(n: float, word: str, words: str | None = None) -> str:
    """``"1 set"``, ``"3 sets"``, ``"2.5 seconds"``."""
    text = f"{n:g}"
    return f"{text} {word if n == 1 else (words or word + 's')}"


def sides_text(sides: tuple[str, ...] | list[str]) -> str:
    """``"left and right side"``, ``"left side only"``, or ``""`` for a stretch with no sides."""
    real = [s for s in sides if s in ("left", "right")]
    if not real:
        return ""
    if len(real) == 2:
        return "left and right side"
    return f"{real[0]} side only"


def times_text(n: int) -> str:
    """``"once"``, ``"twice"``, ``"3 times"``."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def frequency_text(times_per_week: int, times_per_day: int = 1) -> str:
    """How often, in words.

    ``times_per_week`` is on how many days of a week; a program item from before
    ``times_per_day`` may say up to 28 sessions a week (once a day).

    Examples: ``"every day"``, ``"3 times a week"``, ``"once a week"``,
    ``"twice a day, 5 days a week"``, ``"3 times a day, every day"``.
    """
    if times_per_week > 7:          # sessions a week, from before times_per_day
        if times_per_week % 7 == 0:
            return f"{times_text(times_per_week // 7)} a day, every day"
        return f"{times_per_week} times a week"
    if times_per_day <= 1:
        return ("every day" if times_per_week == 7 else "once a week" if times_per_week == 1
                else f"{times_per_week} times a week")
    days = "every day" if times_per_week == 7 else (
        f"{plural(times_per_week, 'day')} a week")
    return f"{times_text(times_per_day)} a day, {days}"


def period_text(starts_on: date, ends_on: date | None, today: date | None = None) -> str:
    """``"from 1 Dec to 31 Dec"``, ``"from 1 Dec, no end date"`` (the year is named when
    it is not ``today``'s)."""
    def day(d: date) -> str:
        return f"{d.day} {d:%b}" + ("" if today is not None and d.year == today.year
                                    else f" {d.year}")

    if ends_on is None:
        return f"from {day(starts_on)}, no end date"
    return f"from {day(starts_on)} to {day(ends_on)}"


def dose_text(item: Any, *, weekly: bool = True) -> str:
    """One line of dose: sets, repetitions, hold, sides, how often and rest between sets.

    Args:
        item: a ``sessions.programs.ProgramItem`` (sets, reps, hold_s, sides,
            times_per_week, times_per_day, rest_between_sets_s).
        weekly: add how often.

    Example: ``"2 sets of 5 repetitions, hold each 5 seconds, left and right side,
    twice a day, 3 days a week, rest 30 seconds between sets"``.
    """
    parts = [f"{plural(item.sets, 'set')} of {plural(item.reps, 'repetition')}"]
    if item.hold_s:
        parts.append(f"hold each {plural(round(float(item.hold_s), 1), 'second')}")
    sides = sides_text(tuple(item.sides))
    if sides:
        parts.append(sides)
    if weekly:
        parts.append(frequency_text(item.times_per_week, getattr(item, "times_per_day", 1)))
    rest = getattr(item, "rest_between_sets_s", None)
    if item.sets > 1 and rest is not None:
        parts.append(f"rest {plural(rest, 'second')} between sets")
    return ", ".join(parts)
