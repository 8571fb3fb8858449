"""Stretch definitions: the schema of a definition file, loading, validation and defaults.

A stretch is one TOML file in ``exercises/library/`` (or any folder passed to
``load_library``). Adding a stretch is adding a file: no code changes. The file
is written for one working side; the other side is the same definition
evaluated with the measures' side flipped (see ``exercises.measures``).

Every error names the file, the field and, where there is a fixed set of
choices, the valid ones: ``DefinitionError("neck_tilt.toml: primary.measure:
unknown measure 'neck_tlt'; valid measures: ...")``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exercises.measures import UnknownMeasureError, get_measure
from pose.landmarks import group_landmarks

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "DEFAULT_TUNING",
    "LIBRARY_DIR",
    "Check",
    "DefinitionError",
    "Prescription",
    "Primary",
    "StretchDefinition",
    "Tuning",
    "load_definition",
    "load_library",
    "load_library_with",
]

LIBRARY_DIR = Path(__file__).parent / "library"

#: The one source of engine defaults. A definition may override any of them in a
#: ``[tuning]`` table; the merge builds a new object and never mutates this one.
DEFAULT_TUNING: Mapping[str, float] = MappingProxyType({
    "min_dwell_s": 0.25,        # past start this long before a rep begins (ends: 0.1 s at most)
    "settle_s": 0.1,            # at rest this long (and visible) before counting starts: short,
                                # because real people start their first rep without pausing
                                # (continuous push-ups spend ~0.25 s at the top)
    "visibility": 0.5,          # landmark visibility below this = not seen
    "max_break_s": 2.0,         # out of position this long mid-hold ends that hold
    "lost_s": 1.0,              # can't-assess this long shows the setup message
    "fault_min_s": 0.4,         # a form fault shorter than this is ignored
    "cue_min_show_s": 2.0,      # a cue stays at least this long (no flicker)
    "stall_s": 1.5,             # below target this long while in a rep -> "a little further"
    "band_hysteresis": 0.1,     # the target band is left only this far outside it, as a share
                                # of the rest -> target distance (so it scales with any unit)
    "return_fraction": 0.5,     # a rep has ended when back below rest + this share of the
                                # rest -> start distance (reps need not return all the way)
    "full_rep_fraction": 0.8,   # a rep counts only if it reached this share of the rest ->
                                # target distance (a 60 % rep is recorded, not counted)
    "weight_rom": 0.4,          # rep score weights (normalised when used)
    "weight_hold": 0.3,
    "weight_form": 0.3,
})

_PLACEHOLDERS = {"side", "other_side", "target", "hold_s"}


class DefinitionError(ValueError):
    """A definition file is missing, unreadable or invalid. The message is one line."""


class _Model(BaseModel):
    # allow_inf_nan=False: a NaN or infinite threshold would load, then never fire or
    # break the run at its end; it is refused when the file is read instead.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              allow_inf_nan=False)


def _check_cue(text: str) -> str:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as e:
        raise ValueError(f"broken placeholder in {text!r} ({e}); write e.g. {{side}}") from None
    for _, name, spec, conversion in parts:
        if name is not None and (spec or conversion):
            # "{side:>1000000000}" would pass and then build a gigabyte string per frame
            raise ValueError(f"placeholders take no format options: write {{{name}}} in "
                             f"{text!r}")
    names = {f for _, f, _, _ in parts if f}
    unknown = names - _PLACEHOLDERS
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in cue {text!r}; "
                         f"valid: {{{'}, {'.join(sorted(_PLACEHOLDERS))}}}")
    return text


def _known_measure(name: str) -> str:
    try:
        get_measure(name)
    except UnknownMeasureError as e:
        raise ValueError(str(e)) from None
    return name


class Camera(_Model):
    """Where to put the camera and how to stand."""

    setup: str = Field(min_length=10)
    distance_m: float = Field(default=2.0, gt=0.3, le=6.0)
    #: how far (degrees) the body may be turned from the view the stretch needs (front:
    #: from facing the camera; side: from side-on) before the view is refused. 45 keeps
    #: oblique home cameras usable; a definition whose measure needs a square view can
    #: narrow it.
    view_tolerance_deg: float = Field(default=45.0, ge=5.0, le=60.0)


class Prescription(_Model):
    """Default dose; a therapist's program or the command line can override it."""

    reps: int = Field(default=3, ge=1, le=50)
    hold_s: float = Field(default=0.0, ge=0.0, le=300.0)
    sets: int = Field(default=1, ge=1, le=10)
    rest_s: float = Field(default=3.0, ge=0.0, le=300.0)


class Primary(_Model):
    """The measure that defines the movement: at rest, moving into position, in position.

    For ``direction = "increase"`` the value rises from ``rest`` (at or below: at
    rest) through ``start`` (a rep has started: hysteresis with ``rest``) into the
    ``target`` band. For ``"decrease"`` everything is mirrored.
    """

    measure: str
    side: Literal["same", "opposite"] = "same"
    direction: Literal["increase", "decrease"] = "increase"
    rest: float
    start: float
    target: tuple[float, float]
    baseline: Literal["none", "rest", "low_point"] = "none"
    label: str = Field(min_length=2)
    cue_more: str = Field(min_length=3)
    cue_less: str = "Ease off a little: a gentle stretch is enough"
    cue_release: str = "Well done. Slowly come back to the start"

    _cue_more = field_validator("cue_more", "cue_less", "cue_release")(_check_cue)
    _measure = field_validator("measure")(_known_measure)

    @model_validator(mode="after")
    def _ordered(self) -> Primary:
        lo, hi = self.target
        if lo >= hi:
            raise ValueError(f"target must be [low, high] with low < high, got [{lo}, {hi}]")
        inc = self.direction == "increase"
        ok = self.rest < self.start <= lo if inc else self.rest > self.start >= hi
        if not ok:
            order = "rest < start <= target low" if inc else "rest > start >= target high"
            raise ValueError(f"thresholds contradict each other for direction "
                             f"{self.direction!r}: need {order}, got rest={self.rest}, "
                             f"start={self.start}, target=[{lo}, {hi}]")
        if self.baseline == "low_point" and (self.rest < 0 if inc else self.rest > 0):
            # read from the rest's own low point, a resting person reads 0 or just past it
            raise ValueError(f"with baseline = \"low_point\" the rest zone starts at the low "
                             f"point (0): rest must be {'>=' if inc else '<='} 0, got {self.rest}")
        return self


class Check(_Model):
    """A form check: a measure that must stay within [min, max] during a phase."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    measure: str
    side: Literal["same", "opposite"] = "same"
    absolute: bool = False
    min: float | None = None
    max: float | None = None
    during: Literal["rep", "position", "always"] = "position"
    cue: str = Field(min_length=3)
    priority: int = Field(default=2, ge=1, le=9)
    #: While this check's fault is open the hold does not count, and a fault lasting
    #: ``max_break_s`` ends the hold (a compensation that takes the stretch away, such
    #: as hiking the shoulder up to meet a tilted head).
    blocks_hold: bool = False

    _cue = field_validator("cue")(_check_cue)
    _measure = field_validator("measure")(_known_measure)

    @model_validator(mode="after")
    def _bounds(self) -> Check:
        if self.min is None and self.max is None:
            raise ValueError(f"check {self.id!r} needs min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"check {self.id!r}: min ({self.min}) must be below max "
                             f"({self.max})")
        return self

    def violated(self, value: float) -> bool:
        """Whether ``value`` breaks this check (NaN never does: it is "can't assess")."""
        if value != value:  # NaN
            return False
        v = abs(value) if self.absolute else value
        return (self.min is not None and v < self.min) or (self.max is not None and v > self.max)


class Tuning(_Model):
    """Engine timing and scoring parameters (see ``DEFAULT_TUNING``)."""

    min_dwell_s: float = Field(ge=0, le=5)
    settle_s: float = Field(ge=0, le=10)
    visibility: float = Field(gt=0, lt=1)
    max_break_s: float = Field(gt=0, le=30)
    lost_s: float = Field(ge=0, le=10)
    fault_min_s: float = Field(ge=0, le=10)
    cue_min_show_s: float = Field(ge=0, le=10)
    stall_s: float = Field(gt=0, le=30)
    band_hysteresis: float = Field(ge=0, le=0.5)
    return_fraction: float = Field(ge=0, le=1)
    full_rep_fraction: float = Field(gt=0, le=1)
    weight_rom: float = Field(ge=0)
    weight_hold: float = Field(ge=0)
    weight_form: float = Field(ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> Tuning:
        if self.weight_rom + self.weight_hold + self.weight_form <= 0:
            raise ValueError("weight_rom, weight_hold and weight_form are all 0: every rep "
                             "would score 0; give at least one a positive weight")
        return self


class StretchDefinition(_Model):
    """One stretch, as read from its definition file."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=3)
    summary: str = Field(min_length=10)
    targets_area: str = Field(min_length=3, description="What it stretches, in plain words")
    #: the camera view the stretch needs: "front" (facing the camera), "side" (side-on) or
    #: "any" (measures that read the same from any angle, e.g. an elbow angle on the side
    #: nearer the camera: no view check)
    view: Literal["front", "side", "any"]
    sides: tuple[Literal["left", "right"], ...] = ()
    #: the body position the stretch is done in: "standing", "seated", "all_fours",
    #: "prone" (face down, e.g. a push-up's plank) or "any" (sit or stand). The avatar's
    #: demonstrations are performed in it; judging uses it only to refuse a body drawn
    #: head-down for an upright posture (standing, seated, any)
    posture: Literal["standing", "seated", "all_fours", "prone", "any"] = "any"
    required: tuple[str, ...] = ("shoulders",)
    steps: tuple[str, ...] = Field(min_length=1)
    safety: str = Field(min_length=10)
    limitations: str = ""
    camera: Camera
    prescription: Prescription = Prescription()
    primary: Primary
    checks: tuple[Check, ...] = ()
    tuning: Tuning = Field(default_factory=lambda: Tuning(**DEFAULT_TUNING))
    source: str = ""

    @field_validator("required")
    @classmethod
    def _known_landmarks(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            group_landmarks(name)  # raises ValueError listing the valid names
        return v

    @field_validator("tuning", mode="before")
    @classmethod
    def _merge_tuning(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            unknown = set(v) - set(DEFAULT_TUNING)
            if unknown:
                raise ValueError(f"unknown tuning key(s) {sorted(unknown)}; valid: "
                                 f"{', '.join(DEFAULT_TUNING)}")
            return {**DEFAULT_TUNING, **v}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> StretchDefinition:
        if len(set(self.sides)) != len(self.sides):
            raise ValueError(f"sides lists a side twice: {list(self.sides)}")
        # A sided measure needs a working side, except in a check on its absolute value
        # (e.g. "trunk lean either way below 8 degrees" in a symmetric stretch).
        sided = [get_measure(self.primary.measure).sided,
                 *(get_measure(c.measure).sided and not c.absolute for c in self.checks)]
        if any(sided) and not self.sides:
            raise ValueError("a sided measure is used, so 'sides' must list 'left' and/or "
                             "'right' (or give the check absolute = true)")
        for step in self.steps:
            _check_cue(step)
        ids = [c.id for c in self.checks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"check ids must be unique, repeated: {dupes}")
        return self

    @property
    def is_sided(self) -> bool:
        """True when the stretch is done per side."""
        return bool(self.sides)

    @property
    def run_sides(self) -> tuple[str, ...]:
        """Sides to track: the listed sides, or ``("both",)`` for a symmetric stretch."""
        return self.sides or ("both",)


def _format_validation_error(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    msg = re.sub(r"^Value error, ", "", msg)
    if first["type"] == "extra_forbidden":
        model_fields = _fields_at(first["loc"][:-1])
        msg = f"unknown field; valid fields here: {', '.join(model_fields)}"
    elif first["type"] == "missing":
        msg = "required field is missing"
    more = f" (and {len(err.errors()) - 1} more problem(s))" if len(err.errors()) > 1 else ""
    return f"{path.name}: {loc}: {msg}{more}"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = StretchDefinition
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        args = getattr(ann, "__args__", ()) or ()
        nested = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)


def load_definition(path: str | Path) -> StretchDefinition:
    """Load and validate one definition file.

    Raises:
        DefinitionError: one line naming the file, the field and the fix.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DefinitionError(f"{path}: definition file not found") from None
    except OSError as e:
        raise DefinitionError(f"{path}: cannot read definition file ({e.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # a byte-order mark is harmless
    except UnicodeDecodeError:
        raise DefinitionError(f"{path.name}: not UTF-8 text; save it as UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as e:
        raise DefinitionError(f"{path.name}: not valid TOML: {e}") from None
    except RecursionError:
        raise DefinitionError(f"{path.name}: nested too deeply to be a stretch definition "
                              "(tables or arrays inside each other hundreds of levels "
                              "deep)") from None
    try:
        definition = StretchDefinition.model_validate(data)
    except ValidationError as e:
        raise DefinitionError(_format_validation_error(path, e)) from None
    if definition.id != path.stem:
        raise DefinitionError(f"{path.name}: id: {definition.id!r} must match the file name "
                              f"(rename the file to {definition.id}.toml or fix the id)")
    return definition


def load_library(directory: str | Path | None = None) -> dict[str, StretchDefinition]:
    """Load every ``*.toml`` definition in ``directory`` (default: the built-in library).

    Returns:
        Definitions by id, sorted by id.

    Raises:
        DefinitionError: for the first invalid file.
    """
    directory = Path(directory) if directory is not None else LIBRARY_DIR
    if not directory.is_dir():
        raise DefinitionError(f"{directory}: stretch library folder not found")
    out: dict[str, StretchDefinition] = {}
    for path in sorted(directory.glob("*.toml")):
        d = load_definition(path)
        out[d.id] = d
    if not out:
        raise DefinitionError(f"{directory}: no *.toml stretch definitions found")
    return out


def load_library_with(extra: str | Path | None) -> tuple[dict[str, StretchDefinition], list[str]]:
    """The built-in library plus the definitions in folder ``extra``.

    A definition in ``extra`` adds a stretch or overrides the built-in one with the same
    id. A bad file in ``extra`` does not block the others: it is left out and its one-line
    error returned.

    Returns:
        (definitions by id, sorted; one-line errors of the files left out).

    Raises:
        DefinitionError: ``extra`` is not a folder, or the built-in library is broken.
    """
    library = load_library()
    if extra is None:
        return library, []
    folder = Path(extra)
    if not folder.is_dir():
        raise DefinitionError(f"{folder}: stretch definitions folder not found")
    errors: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            d = load_definition(path)
        except DefinitionError as e:
            errors.append(str(e))
            continue
        library[d.id] = d
    return dict(sorted(library.items())), errors
