"""Why a set counted nothing, in one plain sentence: never a silent zero.

Called at the end of a set with what one tracker (``exercises.engine.StretchTracker``)
saw: whether the body was ever assessable, whether counting ever started, how far the
movements went. Seen from the wrong side a movement reads smaller than it is, so the
sentence for a movement that fell short says where the camera goes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from exercises.assessable import setup_text
from exercises.definition import StretchDefinition
from exercises.measures import get_measure
from exercises.origin import origin_words
from exercises.records import RepRecord

__all__ = ["camera_hint", "diagnose"]


def diagnose(definition: StretchDefinition, reps: Sequence[RepRecord], counting: bool,
             frames_assessable: int, setup_counts: Mapping[str, int],
             max_fraction: float) -> tuple[str, str] | None:
    """Why nothing was counted, as (code, one plain sentence); None when reps counted.

    Codes: the most frequent setup problem (``nobody``, ``several_people``,
    ``not_visible``, ``wrong_view``, ``back_view``, ``too_small``, ``upside_down``,
    ``no_face``, ``not_measurable``) when the body was never assessable; ``never_at_rest``,
    ``never_reached_target`` (partial reps only), ``no_movement`` otherwise.

    Args:
        definition: the stretch.
        reps: the repetitions recorded (counted or not).
        counting: whether counting ever started (the person was seen at rest).
        frames_assessable: frames that could be judged.
        setup_counts: frames that could not, per setup problem code.
        max_fraction: the furthest reach seen while counting, as a share of the way
            from rest to the target.
    """
    if any(r.counted for r in reps):
        return None
    p = definition.primary
    unit = "°" if get_measure(p.measure).unit == "deg" else " shoulder widths"
    if frames_assessable == 0:
        if not setup_counts:
            return ("no_frames", "No video frames were judged")
        code = max(setup_counts, key=setup_counts.get)  # type: ignore[arg-type]
        needs = get_measure(p.measure).needs
        why = needs[0] if code == "not_measurable" and needs else setup_text(code)
        return (code, f"No part of the video could be judged: {why}")
    if not counting:
        return ("never_at_rest", f"I never saw you in the starting position "
                f"({p.label.lower()} at {_shown(definition, p.rest):g}{unit} or less"
                f"{origin_words(p.baseline)}), so I could not start counting. Start each "
                "repetition from the starting position")
    partial = [r for r in reps if r.complete and not r.full]
    if partial:
        best = max(r.range_fraction for r in partial)
        return ("never_reached_target", f"{len(partial)} movement(s) seen, but none went "
                f"far enough to count: {_reached(definition, best, unit)}. If you went "
                f"further, {camera_hint(definition)}")
    if reps:
        return ("not_completed", "A repetition started but did not come back to the "
                "starting position before the video ended")
    how = ("never passed the start of a repetition"
           if max_fraction < _fraction(definition, p.start) else
           "passed the start of a repetition only for a moment")
    return ("no_movement", f"No repetition seen: the movement {how} "
            f"({_shown(definition, p.start):g}{unit}); {_reached(definition, max_fraction, unit)}"
            f". If you did move, {camera_hint(definition)}")


def _edge(definition: StretchDefinition) -> float:
    """The target band's edge nearer rest (where a rep's range ends)."""
    p = definition.primary
    return min(p.target, key=lambda x: abs(x - p.rest))


def _fraction(definition: StretchDefinition, value: float) -> float:
    """How far ``value`` is from rest (0) to the target's near edge (1)."""
    p = definition.primary
    span = _edge(definition) - p.rest
    return (value - p.rest) / span if span else 1.0


def _shown(definition: StretchDefinition, value: float) -> float:
    """A value as people are shown it: a band below zero (the head gliding back) reads
    as sizes, as the clinic's target text shows it."""
    return -value if max(definition.primary.target) <= 0 else value


def _reached(definition: StretchDefinition, fraction: float, unit: str) -> str:
    """The furthest reading: in degrees where the measure has them (a share of the way
    from rest to the target turned back into the measure's value), else as a share of
    the way only (a ratio's signed shoulder widths would read oddly to a patient)."""
    p = definition.primary
    share = max(fraction, 0.0) if math.isfinite(fraction) else 0.0
    if unit != "°" or not math.isfinite(fraction):
        return f"at best {share:.0%} of the way to the target"
    value = _shown(definition, p.rest + fraction * (_edge(definition) - p.rest))
    lo, hi = sorted(_shown(definition, x) for x in p.target)
    return (f"your {p.label.lower()} reached {value:.0f}° at best, short of the target "
            f"{lo:g} to {hi:g}°{origin_words(p.baseline)}")


def camera_hint(definition: StretchDefinition) -> str:
    """Seen from the wrong side a movement reads smaller than it is (a front-on squat's
    knee bend, an oblique front raise): say where the camera goes."""
    setup = definition.camera.setup.strip().rstrip(".")
    return f"check the camera: {setup[0].lower()}{setup[1:]}"
