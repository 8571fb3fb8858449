"""Scores for repetitions and sessions, 0-100, with their breakdown.

Per repetition: range of motion reached against the target, hold achieved
against the prescription, and form (share of the repetition free of form
faults). Per session: the mean repetition score scaled by completion (reps done
out of prescribed), plus left/right symmetry of range of motion when both sides
were done. Every number that goes into a score is in the breakdown, so a
physiotherapist can see why a score is what it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from exercises.definition import Prescription, StretchDefinition
from exercises.engine import RepRecord

__all__ = ["RepScore", "SessionScore", "score_rep", "score_session"]


@dataclass(frozen=True)
class RepScore:
    """Score of one repetition.

    Attributes:
        rom: range of motion reached, 0..1 (1 = reached the target band).
        hold: hold achieved, 0..1 (1 = held as long as prescribed).
        form: share of the repetition without form faults, 0..1.
        score: weighted total, 0..100.
        fault_share: share of the rep's duration per fault id.
    """

    rom: float
    hold: float
    form: float
    score: float
    fault_share: dict[str, float]


@dataclass(frozen=True)
class SessionScore:
    """Score of a session (one stretch, one or both sides).

    Attributes:
        score: 0..100.
        rep_mean: mean repetition score, 0..100.
        completion: reps completed / reps prescribed (all sides), 0..1.
        rom: mean range-of-motion component, 0..1.
        hold: mean hold component, 0..1.
        form: mean form component, 0..1.
        symmetry: 1 - |ROM left - ROM right| / max(ROM) when both sides were done, else None.
        reps_done: completed repetitions.
        reps_prescribed: prescribed repetitions over all sides and sets.
    """

    score: float
    rep_mean: float
    completion: float
    rom: float
    hold: float
    form: float
    symmetry: float | None
    reps_done: int
    reps_prescribed: int
    weights: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form, rounded."""
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _rom_ratio(rep: RepRecord, definition: StretchDefinition) -> float:
    p = definition.primary
    if not math.isfinite(rep.peak):
        return 0.0
    sign = 1.0 if p.direction == "increase" else -1.0
    rest, lo = sign * p.rest, sign * (p.target[0] if sign > 0 else p.target[1])
    reached = sign * rep.peak
    if reached >= lo:
        return 1.0
    return max(0.0, min(1.0, (reached - rest) / (lo - rest)))


def score_rep(rep: RepRecord, definition: StretchDefinition) -> RepScore:
    """Score one repetition against its definition (hold requirement from the record)."""
    t = definition.tuning
    rom = _rom_ratio(rep, definition)
    if rep.hold_required_s > 0:
        hold = min(1.0, rep.hold_s / rep.hold_required_s)
    else:
        hold = 1.0 if rep.reached_target else 0.0
    duration = rep.end_s - rep.start_s if math.isfinite(rep.end_s) else 0.0
    shares = {k: (min(1.0, v / duration) if duration > 0 else 0.0)
              for k, v in rep.fault_seconds.items()}
    form = max(0.0, 1.0 - sum(shares.values()))
    weights = (t.weight_rom, t.weight_hold, t.weight_form)
    total = sum(weights) or 1.0
    score = 100.0 * (t.weight_rom * rom + t.weight_hold * hold + t.weight_form * form) / total
    return RepScore(rom=rom, hold=hold, form=form, score=score, fault_share=shares)


def score_session(reps: Sequence[RepRecord], definition: StretchDefinition,
                  prescription: Prescription | None = None,
                  sides: Sequence[str] | None = None) -> SessionScore:
    """Score a session.

    Args:
        reps: every repetition of the session (all sides); only counted ones (complete,
            full range, not a duplicate of the other side's) are scored and count as done:
            a partial rep lowers the score through completion.
        definition: the stretch.
        prescription: the dose prescribed (default: the definition's).
        sides: sides that were prescribed (default: sides present in ``reps``, or the
            definition's run sides).
    """
    prescription = prescription or definition.prescription
    done = [r for r in reps if r.counted]
    sides = list(sides) if sides else sorted({r.side for r in reps}) or list(definition.run_sides)
    prescribed = prescription.reps * prescription.sets * max(1, len(sides))
    scores = [score_rep(r, definition) for r in done]
    mean = (lambda xs: sum(xs) / len(xs) if xs else 0.0)  # noqa: E731
    rep_mean = mean([s.score for s in scores])
    completion = min(1.0, len(done) / prescribed) if prescribed else 0.0
    symmetry = None
    if len(sides) == 2:
        per_side = {s: mean([sc.rom for r, sc in zip(done, scores, strict=True) if r.side == s])
                    for s in sides}
        a, b = per_side.values()
        if max(a, b) > 0:
            symmetry = 1.0 - abs(a - b) / max(a, b)
    t = definition.tuning
    return SessionScore(
        score=rep_mean * completion, rep_mean=rep_mean, completion=completion,
        rom=mean([s.rom for s in scores]), hold=mean([s.hold for s in scores]),
        form=mean([s.form for s in scores]), symmetry=symmetry, reps_done=len(done),
        reps_prescribed=prescribed,
        weights={"rom": t.weight_rom, "hold": t.weight_hold, "form": t.weight_form},
    )
