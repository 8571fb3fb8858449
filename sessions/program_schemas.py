"""Program schemas: the frozen values the program service takes and returns.

``Days`` (local days for one request), ``ProgramItemIn`` (a stretch as the
therapist enters it), ``ProgramItem``, ``TodayItem``, ``ProgramInfo`` and
``Adherence``. No database here: ``sessions.programs`` validates, stores and
counts, and re-exports these names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from exercises.definition import Prescription, StretchDefinition
from sessions.wording import frequency_text, period_text

__all__ = [
    "DEFAULT_REST_BETWEEN_SETS_S",
    "Adherence",
    "Days",
    "ProgramInfo",
    "ProgramItem",
    "ProgramItemIn",
    "TodayItem",
]

#: rest between sets when the therapist gives none (seconds); the live coach has no
#: pause between sets of its own to copy (it counts sets x reps in one run)
DEFAULT_REST_BETWEEN_SETS_S = 30


# --------------------------------------------------------------------------- days


@dataclass(frozen=True)
class Days:
    """Local days for one request: the time zone (None = the machine's) and now (UTC)."""

    tz: tzinfo | None
    now: datetime

    def local(self, t: datetime) -> datetime:
        """``t`` in the local time zone."""
        return t.astimezone(self.tz) if self.tz is not None else t.astimezone()

    @property
    def today(self) -> date:
        """Today's local date."""
        return self.local(self.now).date()

    def start(self, d: date) -> datetime:
        """The UTC instant local day ``d`` starts."""
        if self.tz is not None:
            return datetime.combine(d, time(), tzinfo=self.tz).astimezone(timezone.utc)
        return datetime.combine(d, time()).astimezone().astimezone(timezone.utc)

    @property
    def monday(self) -> date:
        """The Monday of this week (weeks start on Monday)."""
        return self.today - timedelta(days=self.today.weekday())


# --------------------------------------------------------------------------- schemas


@dataclass(frozen=True)
class ProgramItemIn:
    """One prescribed stretch, as the therapist enters it.

    Attributes:
        exercise: stretch id from the library.
        sides: sides to do (``("left", "right")``, ``("left",)``...); empty = the
            stretch's own sides (``("both",)`` for symmetric stretches). A
            comma-separated string is accepted.
        sets, reps, hold_s: the dose; None = the stretch's default prescription.
        times_per_week: on how many days of a week (1..7); with ``times_per_day`` 1,
            up to 28 (sessions a week, as programs said before ``times_per_day``).
        target_low, target_high: optional override of the primary measure's target
            band (both or neither), in the measure's unit.
        notes: free text for the patient.
        times_per_day: sessions on each of those days (1..6).
        rest_between_sets_s: rest between two sets, seconds (0..600).
    """

    exercise: str
    sides: Sequence[str] | str = ()
    sets: int | None = None
    reps: int | None = None
    hold_s: float | None = None
    times_per_week: int = 7
    target_low: float | None = None
    target_high: float | None = None
    notes: str = ""
    times_per_day: int = 1
    rest_between_sets_s: int = DEFAULT_REST_BETWEEN_SETS_S


@dataclass(frozen=True)
class ProgramItem:
    """One stretch of a patient's program."""

    id: int
    position: int
    exercise: str
    exercise_name: str
    sides: tuple[str, ...]
    sets: int
    reps: int
    hold_s: float
    times_per_week: int
    target_low: float | None
    target_high: float | None
    notes: str
    times_per_day: int = 1
    rest_between_sets_s: int = DEFAULT_REST_BETWEEN_SETS_S

    @property
    def target(self) -> tuple[float, float] | None:
        """The target override, or None."""
        if self.target_low is None or self.target_high is None:
            return None
        return (self.target_low, self.target_high)

    @property
    def per_week(self) -> int:
        """Sessions a week."""
        return self.times_per_week * self.times_per_day

    @property
    def per_day(self) -> int:
        """Sessions on a day it is done (a legacy 14 a week: 2)."""
        return self.times_per_day * max(1, math.ceil(self.times_per_week / 7))

    @property
    def frequency(self) -> str:
        """How often, in words: ``"twice a day, 5 days a week"``."""
        return frequency_text(self.times_per_week, self.times_per_day)

    def owed(self, days: int) -> int:
        """Sessions owed over ``days`` consecutive days of the program (0 for none)."""
        if days <= 0:
            return 0
        return math.ceil(days * self.times_per_week / 7) * self.times_per_day

    def prescription(self, base: Prescription | None = None) -> Prescription:
        """The dose as a ``Prescription`` (rest time from ``base``)."""
        base = base or Prescription()
        return base.model_copy(update={"sets": self.sets, "reps": self.reps,
                                       "hold_s": self.hold_s})

    def apply(self, definition: StretchDefinition) -> StretchDefinition:
        """``definition`` with this item's dose and target override (validated).

        Raises:
            ValueError: the override contradicts the definition's thresholds.
        """
        data = definition.model_dump()
        data["prescription"] = self.prescription(definition.prescription).model_dump()
        if self.target is not None:
            data["primary"]["target"] = self.target
        return type(definition).model_validate(data)


@dataclass(frozen=True)
class TodayItem:
    """A program item with how often it was done (completed sessions, since the program
    started)."""

    item: ProgramItem
    done_today: int
    done_this_week: int

    @property
    def remaining_this_week(self) -> int:
        """Sessions still due this week (never negative)."""
        return max(0, self.item.per_week - self.done_this_week)

    @property
    def done_for_today(self) -> bool:
        """Today's dose is done (``times_per_day`` sessions; one for a once-a-day item)."""
        return self.done_today >= self.item.per_day


@dataclass(frozen=True)
class ProgramInfo:
    """A patient's active program: its dates, notes and items.

    ``status`` is ``"upcoming"`` (starts after today), ``"running"`` or ``"ended"``
    (its end date is before today).
    """

    id: int
    starts_on: date
    ends_on: date | None
    notes: str
    created_at: datetime
    items: tuple[ProgramItem, ...]
    status: str
    today: date

    @property
    def period(self) -> str:
        """``"from 1 Dec to 31 Dec"`` or ``"from 1 Dec, no end date"``."""
        return period_text(self.starts_on, self.ends_on, self.today)


@dataclass(frozen=True)
class Adherence:
    """Sessions done of those prescribed over a window of local days (``adherence``).

    Attributes:
        done: completed sessions that count (capped per item per day and per item).
        prescribed: sessions owed in the window.
        start, end: the window (inclusive); None without a program; ``start > end``
            when nothing was owed yet or any more.
        since, until: the period asked for (None = open).
        starts_on, ends_on: the program's dates (None without a program).
        today: the local date the count was made.
    """

    done: int
    prescribed: int
    start: date | None
    end: date | None
    since: date | None
    until: date | None
    starts_on: date | None
    ends_on: date | None
    today: date

    @property
    def share(self) -> float | None:
        """done / prescribed (0..1), None when nothing was owed."""
        return self.done / self.prescribed if self.prescribed else None
