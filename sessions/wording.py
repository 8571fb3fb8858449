"""A prescription in words a patient understands (units named), for reports and handouts."""

from __future__ import annotations

from typing import Any

__all__ = ["dose_text", "plural", "sides_text"]


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


def dose_text(item: Any, *, weekly: bool = True) -> str:
    """One line of dose: sets, repetitions, hold, sides and how often.

    Args:
        item: a ``sessions.service.ProgramItem`` (sets, reps, hold_s, sides,
            times_per_week).
        weekly: add how many times a week.

    Example: ``"2 sets of 5 repetitions, hold each 5 seconds, left and right side,
    3 times a week"``.
    """
    parts = [f"{plural(item.sets, 'set')} of {plural(item.reps, 'repetition')}"]
    if item.hold_s:
        parts.append(f"hold each {plural(round(float(item.hold_s), 1), 'second')}")
    sides = sides_text(tuple(item.sides))
    if sides:
        parts.append(sides)
    if weekly:
        n = item.times_per_week
        parts.append("every day" if n == 7 else "once a week" if n == 1 else (
            f"{n // 7} times a day" if n % 7 == 0 and n > 7 else
            f"{plural(n, 'time')} a week"))
    return ", ".join(parts)
