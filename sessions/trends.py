"""A patient's progress over time: score, range of motion and pain per stretch, the
adherence calendar, and the up/down/flat trend of their latest scores.

Authorization is the caller's (``sessions.service.Clinic``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exercises.definition import StretchDefinition
from sessions.models import SessionRep, SessionRow
from sessions.program_schemas import Days, ProgramItem
from sessions.session_rows import counts_as_result, within_days
from sessions.summaries import StretchTrend, Trends

__all__ = ["TREND_FLAT", "TREND_WINDOW", "patient_trends", "score_trend"]

TREND_WINDOW = 3          # last 3 scores vs the 3 before
TREND_FLAT = 5.0          # a change of less than 5 points is "flat"


def score_trend(scores: list[float]) -> str | None:
    """'up' / 'down' / 'flat' from the last 3 scores vs the 3 before (fewer: split evenly)."""
    k = min(TREND_WINDOW, len(scores) // 2)
    if k == 0:
        return None
    last = sum(scores[-k:]) / k
    prev = sum(scores[-2 * k:-k]) / k
    if last - prev >= TREND_FLAT:
        return "up"
    if prev - last >= TREND_FLAT:
        return "down"
    return "flat"


def best_peak(peaks: list[tuple[float, bool]], direction: str) -> float | None:
    """A session's best range of motion: over its complete reps, else over every rep."""
    chosen = [p for p, c in peaks if c] or [p for p, _ in peaks]
    if not chosen:
        return None
    return max(chosen) if direction == "increase" else min(chosen)


def patient_trends(s: Session, patient_id: int, days: Days,
                   library: dict[str, StretchDefinition], programmed: list[ProgramItem],
                   since: date | None = None, until: date | None = None,
                   include_incomplete: bool = False) -> Trends:
    """The patient's sessions on local days ``since`` .. ``until`` as series per stretch
    (targets from the program where it sets one, else from the definition)."""
    from exercises.measures import get_measure

    counted = counts_as_result()
    q = within_days(select(SessionRow, counted.label("counted"))
                    .where(SessionRow.patient_id == patient_id),
                    SessionRow.created_at, days, since, until
                    ).order_by(SessionRow.created_at, SessionRow.id)
    if not include_incomplete:
        q = q.where(counted)
    found = s.execute(q).all()
    rows = [r for r, _ in found]
    results = {r.id for r, is_result in found if is_result}
    peaks: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    if rows:
        for sid, peak, complete in s.execute(
                select(SessionRep.session_id, SessionRep.peak, SessionRep.complete)
                .where(SessionRep.session_id.in_([r.id for r in rows]),
                       SessionRep.peak.is_not(None))):
            peaks[sid].append((peak, complete))
    by_exercise = {i.exercise: i for i in programmed}
    stretches: dict[str, StretchTrend] = {}
    calendar: Counter = Counter()
    for r in rows:
        d = library.get(r.exercise)
        if r.exercise not in stretches:
            item = by_exercise.get(r.exercise)
            target = item.target if item is not None and item.target else (
                tuple(d.primary.target) if d is not None else None)
            stretches[r.exercise] = StretchTrend(
                exercise=r.exercise, name=d.name if d is not None else r.exercise,
                label=d.primary.label if d else "", direction=(
                    d.primary.direction if d else "increase"),
                unit=get_measure(d.primary.measure).unit if d else "",
                target=target, session_ids=[], dates=[], scores=[], rom_peak=[],
                pain_before=[], pain_after=[])
        t = stretches[r.exercise]
        t.session_ids.append(r.id)
        t.dates.append(r.created_at)
        t.scores.append(r.score)
        t.rom_peak.append(best_peak(peaks.get(r.id, []), t.direction))
        t.pain_before.append(r.pain_before)
        t.pain_after.append(r.pain_after)
        if r.id in results:
            calendar[days.local(r.created_at).date()] += 1
    return Trends(patient_id=patient_id, stretches=stretches, calendar=dict(calendar),
                  dates=[r.created_at for r in rows], scores=[r.score for r in rows],
                  pain_before=[r.pain_before for r in rows],
                  pain_after=[r.pain_after for r in rows],
                  prescribed_per_week=sum(i.per_week for i in by_exercise.values()))
