"""Across the trackers of one stretch's two sides."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exercises.engine import StretchTracker


def dedupe_sides(trackers: list[StretchTracker], min_overlap: float = 0.5) -> None:
    """Mark reps of one side that are the same movement as a rep of the other side.

    When both sides of a sided stretch are tracked at once (video analysis without a
    side), one movement can look like a rep on both sides: both arms in a push-up or a
    bilateral raise, the helping hand in a cross-body stretch. Where two complete reps of
    different sides overlap by at least ``min_overlap`` of the shorter one, the one that
    went less far into its range is marked ``duplicate_of`` the other and not counted.
    """
    reps = [r for t in trackers for r in t.reps if r.complete and r.full]
    for a in reps:
        for b in reps:
            if a is b or a.side == b.side or a.duplicate_of or b.duplicate_of:
                continue
            overlap = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
            shorter = min(a.end_s - a.start_s, b.end_s - b.start_s)
            if shorter > 0 and overlap >= min_overlap * shorter:
                loser, winner = (a, b) if a.range_fraction < b.range_fraction else (b, a)
                loser.duplicate_of = f"{winner.side} rep {winner.index}"
