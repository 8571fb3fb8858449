"""Keyframe choreography: rest -> move in -> hold -> move out -> rest, with noise.

A :class:`Timeline` holds keyframes (time in seconds, pose dict). Between two
keyframes every control moves with a cosine ease in/out; a keyframe equal to the
previous one is a hold. :func:`rep_timeline` builds the usual stretch routine
and returns the rep timings that go into the truth sidecar; :func:`overlay`
holds some controls at set values for a while (e.g. a shrug during one hold). :class:`Sway` adds
small seeded breathing/sway noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .rig import NEUTRAL

__all__ = ["Rep", "Sway", "Timeline", "ease", "overlay", "rep_timeline"]


def ease(t: np.ndarray | float) -> np.ndarray | float:
    """Cosine ease in/out on [0, 1] (zero velocity at both ends)."""
    t = np.clip(t, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


@dataclass
class Timeline:
    """Keyframed controls. ``keys`` is a list of (seconds, {control: degrees})."""

    keys: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    #: (start, ramp_in, end, ramp_out, {control: degrees}) overlays: the controls are
    #: held at these values from start to end, blended in and out over the ramps.
    overlays: list[tuple[float, float, float, float, dict[str, float]]] = field(
        default_factory=list
    )

    @property
    def duration(self) -> float:
        return self.keys[-1][0] if self.keys else 0.0

    def controls(self) -> list[str]:
        """Controls that change over time (keyframes or overlays), sorted."""
        names: set[str] = set()
        for _, p in self.keys:
            names |= set(p)
        for *_, d in self.overlays:
            names |= set(d)
        return sorted(n for n in names if len({self._key_value(k, n) for k in self.keys}) > 1
                      or any(n in d for *_, d in self.overlays))

    @staticmethod
    def _key_value(key: tuple[float, dict[str, float]], name: str) -> float:
        return float(key[1].get(name, NEUTRAL.get(name, 0.0)))

    def at(self, t: float) -> dict[str, float]:
        """The pose at ``t`` seconds (every keyed control; others stay neutral)."""
        keys = self.keys
        names: set[str] = set()
        for _, p in keys:
            names |= set(p)
        for *_, d in self.overlays:
            names |= set(d)
        times = [k[0] for k in keys]
        i = int(np.searchsorted(times, t, side="right"))
        out: dict[str, float] = {}
        for n in names:
            if i <= 0:
                out[n] = self._key_value(keys[0], n)
            elif i >= len(keys):
                out[n] = self._key_value(keys[-1], n)
            else:
                t0, t1 = times[i - 1], times[i]
                a = self._key_value(keys[i - 1], n)
                b = self._key_value(keys[i], n)
                out[n] = a + (b - a) * float(ease((t - t0) / max(t1 - t0, 1e-9)))
        for start, ramp_in, end, ramp_out, deltas in self.overlays:
            if start - ramp_in <= t <= end + ramp_out:
                if t < start:
                    w = float(ease((t - (start - ramp_in)) / ramp_in))
                elif t > end:
                    w = float(ease(((end + ramp_out) - t) / ramp_out))
                else:
                    w = 1.0
                for n, target in deltas.items():
                    base = out.get(n, NEUTRAL.get(n, 0.0))
                    out[n] = base + w * (target - base)
        return out


@dataclass(frozen=True)
class Rep:
    """Timing of one repetition (seconds) and its peak controls."""

    start_s: float
    in_position_s: float
    hold_end_s: float
    end_s: float
    peak: dict[str, float]

    def as_json(self) -> dict:
        return {
            "start_s": round(self.start_s, 3),
            "in_position_s": round(self.in_position_s, 3),
            "hold_end_s": round(self.hold_end_s, 3),
            "end_s": round(self.end_s, 3),
            "peak": {k: round(v, 1) for k, v in sorted(self.peak.items())},
        }


def rep_timeline(rest: dict[str, float], peaks: list[dict[str, float]], holds: list[float],
                 *, move_s: float = 1.2, rest_s: float = 1.5, lead_s: float = 2.0,
                 tail_s: float = 2.0, outer: dict[str, float] | None = None,
                 ) -> tuple[Timeline, list[Rep]]:
    """Build rest -> move in -> hold -> move out -> rest, once per peak.

    Args:
        rest: the resting pose (controls not given are neutral).
        peaks: the pose at the top of each rep (merged over ``rest``).
        holds: hold duration per rep, seconds.
        move_s: time to move in and to move out.
        rest_s: rest between reps.
        lead_s, tail_s: rest at the start and at the end (>= 1.5 s).
        outer: a pose held at the very start and end, if different from ``rest``
            (e.g. arms relaxed before moving into the "W" a wall angel starts from).

    Returns:
        The timeline and the reps' timings.
    """
    if len(peaks) != len(holds):
        raise ValueError(f"expected one hold per peak, got {len(peaks)} peaks, {len(holds)} holds")
    tl = Timeline()
    t = 0.0
    if outer is not None:
        tl.keys.append((t, dict(outer)))
        t = lead_s
        tl.keys.append((t, dict(outer)))
        t += move_s
        tl.keys.append((t, dict(rest)))
        t += rest_s
    else:
        tl.keys.append((t, dict(rest)))
        t = lead_s
    reps: list[Rep] = []
    for i, (peak, hold) in enumerate(zip(peaks, holds, strict=True)):
        top = {**rest, **peak}
        start = t
        tl.keys.append((t, dict(rest)))
        t += move_s
        tl.keys.append((t, top))
        in_pos = t
        t += hold
        tl.keys.append((t, top))
        hold_end = t
        t += move_s
        tl.keys.append((t, dict(rest)))
        reps.append(Rep(start, in_pos, hold_end, t, dict(peak)))
        t += rest_s if i < len(peaks) - 1 or outer is not None else tail_s
    tl.keys.append((t, dict(rest)))
    if outer is not None:
        t += move_s
        tl.keys.append((t, dict(outer)))
        t += tail_s
        tl.keys.append((t, dict(outer)))
    return tl, reps


def overlay(tl: Timeline, start: float, end: float, values: dict[str, float],
            ramp: float = 0.4) -> None:
    """Hold controls at ``values`` (degrees) from ``start`` to ``end``, eased over ``ramp`` s."""
    tl.overlays.append((start, ramp, end, ramp, dict(values)))


@dataclass
class Sway:
    """Seeded, smooth breathing and postural sway added to every frame.

    Each control gets a sum of three slow sinusoids (0.07-0.45 Hz) with random
    phases, scaled to the given amplitude (degrees, or cm for sway_x/z).
    """

    seed: int
    amplitudes: dict[str, float] = field(default_factory=lambda: {
        "sway_x": 0.5,
        "sway_z": 0.4,
        "trunk_lateral_bend": 0.5,
        "trunk_rotation": 0.8,
        "neck_lateral_tilt": 0.7,
        "neck_rotation": 1.0,
        "neck_flexion": 0.8,
        "left_shoulder_abduction": 0.8,
        "right_shoulder_abduction": 0.8,
        "left_elbow_flexion": 1.0,
        "right_elbow_flexion": 1.0,
    })
    breathing: float = 0.7  # degrees of shoulder elevation, both sides, ~0.25 Hz

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self._terms = {
            name: (rng.uniform(0.07, 0.45, 3), rng.uniform(0, 2 * np.pi, 3), rng.uniform(0.5, 1, 3))
            for name in sorted(self.amplitudes)
        }
        self._breath = (rng.uniform(0.2, 0.3), rng.uniform(0, 2 * np.pi))

    def at(self, t: float) -> dict[str, float]:
        out = {}
        for name, (f, ph, w) in self._terms.items():
            s = float(np.sum(w * np.sin(2 * np.pi * f * t + ph)) / np.sum(w))
            out[name] = self.amplitudes[name] * s
        f, ph = self._breath
        b = self.breathing * 0.5 * (1 + np.sin(2 * np.pi * f * t + ph))
        out["left_shoulder_elevation"] = b
        out["right_shoulder_elevation"] = b
        return out

    def apply(self, pose: dict[str, float], t: float) -> dict[str, float]:
        """``pose`` plus the noise at ``t`` (controls absent from ``pose`` start neutral)."""
        out = dict(pose)
        for name, d in self.at(t).items():
            out[name] = out.get(name, NEUTRAL.get(name, 0.0)) + d
        return out
