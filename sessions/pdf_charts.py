"""The charts of the progress report, drawn on matplotlib axes (no database, no Streamlit).

Every chart's x axis is time, over the span of what it shows (the first to the
last point, padded by a twentieth on each side, at least a day wide), with dates
written as "08 Apr" (and the hour when the span is under four days), so points
are never squashed against one edge of a long export period. One line per
stretch: points of different stretches are never joined. Every string is drawn
with math-text parsing off, so a stretch named ``$x$`` shows as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

__all__ = ["PAIN_COLOURS", "pain_chart", "rom_chart", "score_chart", "time_axis", "time_span",
           "unit_words"]

#: (pain before stretching, pain after the session)
PAIN_COLOURS = ("tab:orange", "tab:purple")
_MIN_SPAN = timedelta(days=1)
_PAD = 0.05


def time_span(times: Sequence[datetime], fallback: datetime | None = None
              ) -> tuple[datetime, datetime]:
    """(left, right) limits of a time axis showing ``times`` (naive local datetimes).

    The first to the last time, padded by 5 % of the span on each side; a span under
    a day is widened to a day around its middle. Without times: the day of
    ``fallback`` (or today).
    """
    if not times:
        mid = fallback or datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
        return mid - _MIN_SPAN / 2, mid + _MIN_SPAN / 2
    lo, hi = min(times), max(times)
    span = hi - lo
    if span < _MIN_SPAN:
        mid = lo + span / 2
        return mid - _MIN_SPAN / 2, mid + _MIN_SPAN / 2
    return lo - span * _PAD, hi + span * _PAD


def time_axis(ax: Any, times: Sequence[datetime], *, fallback: datetime | None = None,
              max_ticks: int = 7) -> tuple[datetime, datetime]:
    """Limit ``ax``'s x axis to :func:`time_span` of ``times`` and label it with dates."""
    from matplotlib.dates import AutoDateLocator, DateFormatter

    x0, x1 = time_span(times, fallback)
    ax.set_xlim(x0, x1)
    loc = AutoDateLocator(minticks=3 if max_ticks >= 6 else 2, maxticks=max_ticks)
    ax.xaxis.set_major_locator(loc)
    short = x1 - x0 <= timedelta(days=4)
    ax.xaxis.set_major_formatter(DateFormatter("%d %b %H:%M" if short else "%d %b"))
    for label in ax.get_xticklabels():
        label.set_parse_math(False)
    return x0, x1


def _legend(ax: Any, **kw: Any) -> None:
    leg = ax.legend(frameon=False, **kw)
    for t in leg.get_texts():
        t.set_parse_math(False)


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            parse_math=False, color="0.3")


def score_chart(ax: Any, series: Sequence[tuple[str, Sequence[datetime], Sequence[float]]],
                *, fallback: datetime | None = None) -> list[datetime]:
    """Session score (0-100) over time, one line per stretch.

    Args:
        series: (stretch name, local times, scores) per stretch, oldest first.

    Returns:
        every plotted time.
    """
    times = [t for _, ts, _ in series for t in ts]
    for name, ts, scores in series:
        ax.plot(ts, scores, marker="o", ms=3.5, lw=1.2, label=_clip(name, 40))
    ax.set_ylim(0, 105)
    _finish(ax, "score (0-100)", times, fallback, bool(series), "lower left", 3,
            "No scored sessions in this period")
    return times


def pain_chart(ax: Any, before: Sequence[tuple[datetime, int]],
               after: Sequence[tuple[datetime, int]], *, fallback: datetime | None = None
               ) -> list[datetime]:
    """Pain (0 = none, 10 = worst imaginable) over time: before stretching (the safety
    check) and after each session, as points.

    Returns:
        every plotted time.
    """
    times = [t for t, _ in before] + [t for t, _ in after]
    for pts, colour, label, marker in ((before, PAIN_COLOURS[0], "before stretching", "o"),
                                       (after, PAIN_COLOURS[1], "after the session", "s")):
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, ls="none", marker=marker, ms=4, color=colour, label=label)
    ax.set_ylim(-0.5, 10.5)
    ax.set_yticks([0, 2, 4, 6, 8, 10])
    _finish(ax, "pain (0-10)", times, fallback, bool(times), "upper left", 2,
            "No pain scores recorded in this period")
    return times


def _finish(ax: Any, ylabel: str, times: list[datetime], fallback: datetime | None,
            has_data: bool, legend_loc: str, ncol: int, empty: str) -> None:
    """The parts every time chart shares: y label, grid, time axis, and a legend or a
    plain "nothing here" message."""
    ax.set_ylabel(ylabel, parse_math=False)
    ax.grid(alpha=0.3)
    time_axis(ax, times, fallback=fallback)
    if has_data:
        _legend(ax, loc=legend_loc, ncol=ncol)
    else:
        _empty(ax, empty)


def rom_chart(ax: Any, name: str, label: str, unit: str, times: Sequence[datetime],
              values: Sequence[float], target: tuple[float, float] | None, *,
              max_ticks: int = 4) -> None:
    """One stretch's best repetition per session against its target band (green)."""
    if target:
        ax.axhspan(target[0], target[1], color="tab:green", alpha=0.15, lw=0)
    ax.plot(times, values, marker="o", ms=3, lw=1.2, color="tab:blue")
    ax.set_title(_clip(name, 34), loc="left", parse_math=False)
    ax.set_ylabel(_clip(f"{label} ({unit_words(unit)})", 40), parse_math=False)
    time_axis(ax, times, max_ticks=max_ticks)
    ax.grid(alpha=0.3)


def unit_words(unit: str) -> str:
    """A measure's unit in words: ``deg`` -> ``degrees``."""
    return {"deg": "degrees", "sw": "shoulder widths", "ratio": "shoulder widths"}.get(
        unit, unit)


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
