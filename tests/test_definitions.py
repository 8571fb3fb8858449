"""Stretch definition files: the built-in library loads, malformed files fail with one
clear line naming the file and the field, defaults merge without mutation, and adding a
stretch is adding one file."""

from __future__ import annotations

import copy
import string
from pathlib import Path

import pytest

from exercises.definition import (
    DEFAULT_TUNING,
    LIBRARY_DIR,
    DefinitionError,
    StretchDefinition,
    load_definition,
    load_library,
)
from exercises.engine import StretchTracker
from exercises.measures import get_measure, measure_names

LIBRARY_FILES = sorted(LIBRARY_DIR.glob("*.toml"))
PLACEHOLDERS = {"side", "other_side", "target", "hold_s"}
DEFAULTS_AT_IMPORT = dict(DEFAULT_TUNING)


# ---------------------------------------------------------------- a tiny TOML writer

def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r}")


def to_toml(data: dict) -> str:
    """Enough TOML for definition files: scalars, arrays, tables, arrays of tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v
                                                 and isinstance(v[0], dict))]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in v.items())
    for k, v in data.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in item.items())
    return "\n".join(lines) + "\n"


BASE: dict = {
    "id": "demo_tilt",
    "name": "Demo tilt",
    "summary": "A small neck stretch used by the tests.",
    "targets_area": "side of the neck",
    "view": "front",
    "sides": ["left", "right"],
    "required": ["shoulders", "ears", "nose"],
    "steps": ["Sit tall facing the camera.",
              "Tilt your {side} ear toward your {side} shoulder and hold {hold_s} s."],
    "safety": "Move slowly and stop if anything hurts.",
    "camera": {"setup": "Face the camera at eye level, 1.5 m away.", "distance_m": 1.5},
    "prescription": {"reps": 3, "hold_s": 5},
    "primary": {"measure": "neck_lateral_tilt", "label": "Neck tilt", "rest": 8, "start": 15,
                "target": [22, 50], "cue_more": "Let your {side} ear drop a little more"},
    "checks": [{"id": "shoulders_level", "measure": "shoulder_level_difference",
                "absolute": True, "max": 7, "during": "rep",
                "cue": "Keep both shoulders down and level"}],
}


def write(folder: Path, data: dict, name: str | None = None) -> Path:
    path = folder / f"{name or data['id']}.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def test_base_definition_is_valid(tmp_path: Path) -> None:
    """The malformed cases below are one change away from this valid file."""
    d = load_definition(write(tmp_path, BASE))
    assert d.id == "demo_tilt"
    assert d.primary.target == (22.0, 50.0)
    assert d.checks[0].id == "shoulders_level"
    assert d.sides == ("left", "right")


# ---------------------------------------------------------------- the built-in library

def test_library_is_not_empty() -> None:
    assert LIBRARY_FILES, f"no definitions in {LIBRARY_DIR}"


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=[p.stem for p in LIBRARY_FILES])
def test_every_library_file_loads(path: Path) -> None:
    d = load_definition(path)
    assert isinstance(d, StretchDefinition)
    assert d.id == path.stem


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=[p.stem for p in LIBRARY_FILES])
def test_library_texts_use_known_placeholders(path: Path) -> None:
    """Steps are shown with the same placeholders as cues; an unknown one would crash the
    page that formats them (steps are not checked by the schema)."""
    d = load_definition(path)
    texts = [*d.steps, d.primary.cue_more, d.primary.cue_less, d.primary.cue_release,
             *(c.cue for c in d.checks)]
    for text in texts:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        assert names <= PLACEHOLDERS, f"{path.name}: {text!r} uses {sorted(names - PLACEHOLDERS)}"
        text.format(side="left", other_side="right", target="22-50", hold_s="5")


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=[p.stem for p in LIBRARY_FILES])
def test_library_definition_is_trackable(path: Path) -> None:
    d = load_definition(path)
    for side in d.run_sides:
        tracker = StretchTracker(d, side)
        assert tracker.side == side
    measure = get_measure(d.primary.measure)
    assert measure.sided == d.is_sided or not measure.sided
    if measure.unit == "deg":
        assert all(-180 <= v <= 180 for v in (d.primary.rest, d.primary.start, *d.primary.target))


def test_load_library_matches_the_files() -> None:
    lib = load_library()
    assert list(lib) == sorted(p.stem for p in LIBRARY_FILES)


# ---------------------------------------------------------------- malformed definitions

def _set(path: str, value: object):
    """A mutation of BASE setting ``a.b.0.c`` to ``value`` (``...`` deletes the key)."""
    def apply(data: dict) -> None:
        keys = path.split(".")
        node = data
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        if value is ...:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return apply


def _dupe_check(data: dict) -> None:
    data["checks"].append(dict(data["checks"][0], max=9))


ALL_MEASURES = measure_names()

# (case, mutation, expected substrings of the message)
MALFORMED = [
    ("unknown top-level field", _set("colour", "red"),
     ["colour", "unknown field", "summary", "primary"]),
    ("unknown field in a table", _set("primary.colour", "red"),
     ["primary.colour", "unknown field", "measure", "target"]),
    ("unknown field in a check", _set("checks.0.maximum", 3),
     ["checks.0.maximum", "unknown field", "max", "during"]),
    ("unknown measure", _set("primary.measure", "neck_tlt"),
     ["primary.measure", "neck_tlt", *ALL_MEASURES]),
    ("unknown check measure", _set("checks.0.measure", "shoulder_lvl"),
     ["checks.0.measure", "shoulder_lvl", "shoulder_level_difference"]),
    ("target low above high", _set("primary.target", [50, 22]),
     ["primary", "target", "low < high"]),
    ("target low equals high", _set("primary.target", [30, 30]), ["primary", "target"]),
    ("rest equals start (increase)", _set("primary.rest", 15),
     ["primary", "rest", "start", "increase"]),
    ("rest above start (increase)", _set("primary.rest", 20),
     ["primary", "rest", "start", "increase"]),
    ("start beyond target low (increase)", _set("primary.start", 25),
     ["primary", "start", "target"]),
    ("thresholds contradictory for decrease", _set("primary.direction", "decrease"),
     ["primary", "decrease", "rest > start >= target high"]),
    ("bad direction", _set("primary.direction", "up"),
     ["primary.direction", "increase", "decrease"]),
    ("check with neither min nor max", _set("checks.0.max", ...),
     ["checks.0", "shoulders_level", "min", "max"]),
    ("check min above max", _set("checks.0.min", 9), ["checks.0", "min", "max"]),
    ("duplicate check ids", _dupe_check, ["check ids", "shoulders_level"]),
    ("bad check phase", _set("checks.0.during", "hold"),
     ["checks.0.during", "rep", "position", "always"]),
    ("unknown landmark group", _set("required", ["shoulders", "elbowz"]),
     ["required", "elbowz", "shoulders", "left_ear"]),
    ("unknown cue placeholder", _set("primary.cue_more", "Tilt toward your {sidee}"),
     ["primary.cue_more", "sidee", "{side}", "{other_side}"]),
    ("unknown check cue placeholder", _set("checks.0.cue", "Keep your {shoulder} down"),
     ["checks.0.cue", "shoulder", "{side}"]),
    ("sided measure with no sides", _set("sides", []), ["sides", "left", "right"]),
    ("a side twice", _set("sides", ["left", "left"]), ["sides", "twice"]),
    ("bad side name", _set("sides", ["up"]), ["sides", "left", "right"]),
    ("unknown tuning key", _set("tuning", {"settle": 1.0}),
     ["tuning", "settle", "settle_s", "min_dwell_s"]),
    ("tuning value out of range", _set("tuning", {"visibility": 1.5}), ["tuning.visibility"]),
    ("bad view", _set("view", "top"), ["view", "front", "side"]),
    ("missing primary", _set("primary", ...), ["primary", "missing"]),
    ("missing camera setup", _set("camera.setup", ...), ["camera.setup", "missing"]),
    ("wrong type", _set("prescription.reps", "three"), ["prescription.reps"]),
    ("too many reps", _set("prescription.reps", 500), ["prescription.reps", "50"]),
    ("bad id", _set("id", "Demo Tilt"), ["id"]),
    # probed defects: they used to load, then run a whole video and fail or never fire
    ("NaN in a target", _set("primary.target", [20, float("nan")]),
     ["primary.target", "finite"]),
    ("NaN check bound", _set("checks.0.max", float("nan")), ["checks.0.max", "finite"]),
    ("infinite weight", _set("tuning", {"weight_rom": float("inf")}),
     ["tuning.weight_rom", "finite"]),
    ("all weights zero", _set("tuning", {"weight_rom": 0, "weight_hold": 0, "weight_form": 0}),
     ["tuning", "all 0"]),
    ("placeholder with a format spec", _set("primary.cue_more", "Tilt {side:>1000000000}"),
     ["primary.cue_more", "no format options", "{side}"]),
    ("placeholder with a conversion", _set("checks.0.cue", "Keep your {side!r} down"),
     ["checks.0.cue", "no format options"]),
    ("broken placeholder", _set("primary.cue_more", "Tilt {side"),
     ["primary.cue_more", "broken placeholder"]),
]


@pytest.mark.parametrize(("case", "mutate", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_definition(tmp_path: Path, case: str, mutate, expected: list[str]) -> None:
    data = copy.deepcopy(BASE)
    mutate(data)
    path = write(tmp_path, data, name="demo_tilt")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    msg = str(info.value)
    assert "\n" not in msg, f"{case}: message is not one line: {msg!r}"
    assert msg.startswith("demo_tilt.toml: "), f"{case}: file not named first: {msg}"
    for part in expected:
        assert part in msg, f"{case}: {part!r} not in {msg!r}"


def test_malformed_file_in_a_library_folder_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    bad = copy.deepcopy(BASE)
    bad["id"] = "zz_bad"
    bad["primary"]["measure"] = "nope"
    write(tmp_path, bad)
    with pytest.raises(DefinitionError, match=r"^zz_bad\.toml: primary\.measure: "):
        load_library(tmp_path)


@pytest.mark.parametrize(("case", "content", "expected"), [
    ("not TOML", "id = \n", ["demo_tilt.toml", "not valid TOML", "line 1"]),
    ("unclosed table", "[camera\nsetup = 'x'\n", ["demo_tilt.toml", "not valid TOML"]),
    ("not UTF-8", b"id = \"d\xe9mo\"\n", ["demo_tilt.toml", "UTF-8"]),
    ("nested too deeply", "x = " + "[" * 5000 + "]" * 5000 + "\n",
     ["demo_tilt.toml", "nested too deeply"]),
    ("empty file", "", ["demo_tilt.toml", "missing"]),
])
def test_unreadable_definition(tmp_path: Path, case: str, content, expected: list[str]) -> None:
    path = tmp_path / "demo_tilt.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    msg = str(info.value)
    assert "\n" not in msg, case
    for part in expected:
        assert part in msg, f"{case}: {part!r} not in {msg!r}"


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, BASE, name="neck_tilt_demo")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    msg = str(info.value)
    assert msg.startswith("neck_tilt_demo.toml: id: ")
    assert "demo_tilt" in msg and "\n" not in msg


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"nope\.toml.*not found"):
        load_definition(tmp_path / "nope.toml")
    with pytest.raises(DefinitionError, match="not found"):
        load_library(tmp_path / "no_such_folder")
    with pytest.raises(DefinitionError, match=r"no \*\.toml"):
        load_library(tmp_path)  # exists but empty


# ---------------------------------------------------------------- defaults

def test_defaults_merge_does_not_mutate_the_defaults(tmp_path: Path) -> None:
    tuned = copy.deepcopy(BASE)
    tuned["id"] = "tuned"
    tuned["tuning"] = {"settle_s": 2.5, "max_break_s": 4.0}
    d_tuned = load_definition(write(tmp_path, tuned))
    d_plain = load_definition(write(tmp_path, BASE))
    assert d_tuned.tuning.settle_s == 2.5
    assert d_tuned.tuning.max_break_s == 4.0
    # everything not overridden comes from the defaults
    for key, value in DEFAULTS_AT_IMPORT.items():
        if key not in ("settle_s", "max_break_s"):
            assert getattr(d_tuned.tuning, key) == value, key
        assert getattr(d_plain.tuning, key) == value, key
    assert dict(DEFAULT_TUNING) == DEFAULTS_AT_IMPORT
    with pytest.raises(TypeError):
        DEFAULT_TUNING["settle_s"] = 9.0  # type: ignore[index]


def test_prescription_defaults_apply(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    del data["prescription"]
    d = load_definition(write(tmp_path, data))
    assert d.prescription.reps >= 1 and d.prescription.hold_s == 0.0


def test_definition_is_immutable(tmp_path: Path) -> None:
    d = load_definition(write(tmp_path, BASE))
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        d.primary.rest = 0.0  # type: ignore[misc]


# ---------------------------------------------------------------- adding a stretch

def test_adding_a_stretch_is_adding_one_file(tmp_path: Path) -> None:
    """A new stretch for an arm measure, written only as data, loads next to another one
    and can be tracked with no code change."""
    new = {
        "id": "side_arm_raise",
        "name": "Side arm raise",
        "summary": "Raise the arm out to the side to open the shoulder.",
        "targets_area": "shoulder",
        "view": "front",
        "sides": ["left"],
        "required": ["shoulders", "hips", "elbows"],
        "steps": ["Stand facing the camera.", "Raise your {side} arm out to the side."],
        "safety": "Stop if you feel pinching in the shoulder.",
        "camera": {"setup": "Face the camera so your whole upper body is in view."},
        "primary": {"measure": "shoulder_abduction", "label": "Arm raise", "rest": 30,
                    "start": 50, "target": [80, 110], "cue_more": "Raise the arm a little more"},
        "tuning": {"settle_s": 0.5},
    }
    write(tmp_path, BASE)
    write(tmp_path, new)
    lib = load_library(tmp_path)
    assert list(lib) == ["demo_tilt", "side_arm_raise"]
    d = lib["side_arm_raise"]
    assert d.primary.measure == "shoulder_abduction" and d.tuning.settle_s == 0.5
    assert StretchTracker(d, "left").side == "left"
    with pytest.raises(ValueError, match="side must be one of"):
        StretchTracker(d, "right")


def test_every_library_target_cites_its_clinical_source() -> None:
    """Targets come from clinical range-of-motion norms, named in the file, not from clips."""
    for d in load_library().values():
        assert len(d.source) > 60, d.id
        assert any(word in d.source for word in ("Norm", "Position")), d.id
        assert any(ref in d.source for ref in ("AAOS", "Norkin", "Kapandji", "Ordway")), d.id


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "demo_tilt.toml"
    path.write_bytes(b"\xef\xbb\xbf" + to_toml(BASE).encode("utf-8"))
    assert load_definition(path).id == "demo_tilt"


def test_an_extra_folder_adds_to_and_overrides_the_library(tmp_path: Path) -> None:
    from exercises.definition import load_library_with

    write(tmp_path, BASE)                                  # a new stretch: added
    override = copy.deepcopy(BASE)
    override.update(id="neck_side_tilt", name="My neck tilt")
    write(tmp_path, override)                              # a built-in id: overridden
    bad = copy.deepcopy(BASE)
    bad["id"] = "zz_bad"
    bad["primary"]["measure"] = "nope"
    write(tmp_path, bad)                                   # a bad file: left out, reported
    lib, errors = load_library_with(tmp_path)
    builtin = load_library()
    assert set(builtin) < set(lib) and "demo_tilt" in lib and "zz_bad" not in lib
    assert lib["neck_side_tilt"].name == "My neck tilt"
    assert len(errors) == 1 and errors[0].startswith("zz_bad.toml: primary.measure")
    assert load_library_with(None) == (builtin, [])
