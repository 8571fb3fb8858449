"""Tests for pose.model: provisioning the PoseLandmarker bundle.

Everything here is real: the wheel is downloaded once per session from the
machine's package index with pip, bundles are built from it, and the built
bundle is loaded and run by the installed mediapipe. Other tests copy the
session's wheel into their own empty cache so the suite downloads it only once.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pose import model as pm

REPO_ROOT = Path(__file__).resolve().parents[1]
WHEEL_GLOB = "mediapipe-0.10.21-*.whl"
MEMBERS = {pm.DETECTOR_MEMBER, pm.LANDMARKS_MEMBER}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecar(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".json")


def leftovers(directory: Path) -> list[Path]:
    """Temporary files or download dirs a build must not leave behind."""
    return [p for p in directory.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


@dataclass(frozen=True)
class Provisioned:
    cache: Path
    bundle: Path
    wheel: Path
    seconds: float


@pytest.fixture(scope="session")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Provisioned:
    """Provision from a clean cache exactly as a fresh machine would: real pip download."""
    cache = tmp_path_factory.mktemp("clean-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(pm.CACHE_ENV_VAR, str(cache))
        mp.delenv(pm.MODEL_ENV_VAR, raising=False)
        started = time.monotonic()
        bundle = pm.resolve_model()
        seconds = time.monotonic() - started
    wheels = sorted((cache / "wheels").glob(WHEEL_GLOB))
    assert len(wheels) == 1, f"expected one downloaded wheel in {cache}, got {wheels}"
    return Provisioned(cache=cache, bundle=bundle, wheel=wheels[0], seconds=seconds)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory, with no user model configured."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(pm.CACHE_ENV_VAR, str(directory))
    monkeypatch.delenv(pm.MODEL_ENV_VAR, raising=False)
    return directory


@pytest.fixture
def warm_cache(cache: Path, provisioned: Provisioned) -> Path:
    """An empty cache except for the session's wheel, so building needs no network."""
    (cache / "wheels").mkdir(parents=True)
    shutil.copy2(provisioned.wheel, cache / "wheels" / provisioned.wheel.name)
    return cache


@pytest.fixture
def offline_pip(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point pip at a closed local port and strip every other source of packages."""
    with socket.socket() as probe:  # a port that is free now, so nothing answers on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    index = f"http://127.0.0.1:{port}/simple"
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # ignore find-links/extra indexes in pip.conf
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_TRUSTED_HOST"):
        monkeypatch.delenv(name, raising=False)
    return f"127.0.0.1:{port}"


def local_header_data_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Offset of a member's data: after its local header (which may differ from the central)."""
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
    assert header[:4] == b"PK\x03\x04"
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def tflite_metadata(model_bytes: bytes) -> object:
    """The ``ModelMetadataT`` stored in a TFLite model's ``TFLITE_METADATA`` buffer."""
    schema = importlib.import_module("mediapipe.tasks.metadata.schema_py_generated")
    metadata = importlib.import_module("mediapipe.tasks.metadata.metadata_schema_py_generated")
    model = schema.Model.GetRootAs(model_bytes, 0)
    assert model_bytes[4:8] == b"TFL3"
    entries = [model.Metadata(i) for i in range(model.MetadataLength())]
    found = [e for e in entries if e.Name() == b"TFLITE_METADATA"]
    assert len(found) == 1, "expected exactly one TFLITE_METADATA entry"
    data = model.Buffers(found[0].Buffer()).DataAsNumpy().tobytes()
    assert data[4:8] == b"M001"
    return metadata.ModelMetadataT.InitFromPackedBuf(data, 0)


# --------------------------------------------------------------------- clean cache


def test_clean_cache_downloads_the_wheel_and_builds_a_verified_bundle(
    provisioned: Provisioned,
) -> None:
    bundle = provisioned.bundle
    assert bundle == (provisioned.cache / pm.BUNDLE_FILENAME).resolve()
    record = json.loads(sidecar(bundle).read_text())
    assert record["sha256"] == sha256(bundle)
    assert record["size"] == bundle.stat().st_size
    assert record["wheel"] == provisioned.wheel.name
    with zipfile.ZipFile(bundle) as archive:
        infos = archive.infolist()
        assert {i.filename for i in infos} == MEMBERS
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        for info in infos:
            offset = local_header_data_offset(bundle, info)
            assert offset % 64 == 0, f"{info.filename} data at offset {offset}"
    assert leftovers(provisioned.cache) == []
    assert provisioned.seconds < 300


@pytest.mark.parametrize(
    ("member", "mean", "std", "n_outputs"),
    [(pm.DETECTOR_MEMBER, 127.5, 127.5, 2), (pm.LANDMARKS_MEMBER, 0.0, 255.0, 5)],
)
def test_bundle_members_carry_rgb_normalisation_metadata(
    provisioned: Provisioned, member: str, mean: float, std: float, n_outputs: int
) -> None:
    metadata_schema = importlib.import_module(
        "mediapipe.tasks.metadata.metadata_schema_py_generated"
    )
    with zipfile.ZipFile(provisioned.bundle) as archive:
        meta = tflite_metadata(archive.read(member))
    (subgraph,) = meta.subgraphMetadata
    (image,) = subgraph.inputTensorMetadata
    assert image.content.contentProperties.colorSpace == metadata_schema.ColorSpaceType.RGB
    (unit,) = image.processUnits
    assert list(unit.options.mean) == [mean]
    assert list(unit.options.std) == [std]
    assert len(subgraph.outputTensorMetadata) == n_outputs


# Landmark positions read by hand off matplotlib's grace_hopper.jpg (512x600), pixels.
HOPPER_POINTS = {
    "nose": (0, (268, 225)),
    "left_eye": (2, (302, 190)),
    "right_eye": (5, (226, 193)),
    "mouth_left": (9, (298, 266)),
    "mouth_right": (10, (244, 268)),
}


def test_built_bundle_loads_in_mediapipe_and_finds_the_person_in_a_real_photo(
    provisioned: Provisioned, capfd: pytest.CaptureFixture[str]
) -> None:
    import matplotlib
    import matplotlib.image
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    # grace_hopper.jpg ships with matplotlib, a dependency of mediapipe itself.
    photo_path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    photo = np.ascontiguousarray(matplotlib.image.imread(photo_path))
    assert photo.shape == (600, 512, 3)
    height, width = photo.shape[:2]

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(provisioned.bundle)),
        running_mode=vision.RunningMode.IMAGE,
    )
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        person = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=photo))
        blank = np.zeros((480, 640, 3), dtype=np.uint8)
        nobody = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=blank))

    assert len(nobody.pose_landmarks) == 0
    assert len(person.pose_landmarks) == 1
    landmarks = person.pose_landmarks[0]
    assert len(landmarks) == 33
    assert len(person.pose_world_landmarks[0]) == 33
    for name, (index, (x_px, y_px)) in HOPPER_POINTS.items():
        got = (landmarks[index].x * width, landmarks[index].y * height)
        error = float(np.hypot(got[0] - x_px, got[1] - y_px))
        assert error < 20, f"{name}: got {got}, labelled ({x_px}, {y_px})"
    left, right = landmarks[11], landmarks[12]  # she faces the camera: her left is image right
    assert left.x * width > 380 and right.x * width < 130
    assert 330 < left.y * height < 480 and 330 < right.y * height < 480
    assert min(left.visibility, right.visibility) > 0.9
    # Buffers are aligned, so TFLite uses the weights in place without this warning.
    assert "unaligned buffer" not in capfd.readouterr().err


# --------------------------------------------------------------------- cache reuse


def test_cached_bundle_is_reused_without_rebuilding(
    warm_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pose.model")
    first = pm.resolve_model()
    before = first.stat()
    second = pm.resolve_model(build=False)
    third = pm.resolve_model()
    after = third.stat()
    assert first == second == third
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    builds = [r for r in caplog.records if r.getMessage().startswith("built pose model")]
    assert len(builds) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def flip_a_byte(bundle: Path) -> None:
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))


def truncate(bundle: Path) -> None:
    bundle.write_bytes(bundle.read_bytes()[:1000])


def drop_sidecar(bundle: Path) -> None:
    sidecar(bundle).unlink()


def garble_sidecar(bundle: Path) -> None:
    sidecar(bundle).write_text("{not json")


def old_recipe(bundle: Path) -> None:
    record = json.loads(sidecar(bundle).read_text())
    record["recipe"] = -1
    sidecar(bundle).write_text(json.dumps(record))


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (flip_a_byte, "SHA-256"),
        (truncate, "size"),
        (drop_sidecar, "missing"),
        (garble_sidecar, "unreadable"),
        (old_recipe, "another version"),
    ],
)
def test_tampered_cache_is_detected_and_rebuilt(
    warm_cache: Path,
    provisioned: Provisioned,
    caplog: pytest.LogCaptureFixture,
    tamper: object,
    reason: str,
) -> None:
    bundle = pm.resolve_model()
    tamper(bundle)  # type: ignore[operator]
    with pytest.raises(pm.ModelUnavailableError, match="no pose model"):
        pm.resolve_model(build=False)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="pose.model")
    rebuilt = pm.resolve_model()
    assert rebuilt == bundle
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0] and pm.BUNDLE_FILENAME in warnings[0]
    assert any(r.getMessage().startswith("built pose model") for r in caplog.records)
    # Builds are reproducible: the rebuilt bundle is byte-identical to the first one.
    assert sha256(rebuilt) == sha256(provisioned.bundle)
    assert json.loads(sidecar(rebuilt).read_text())["sha256"] == sha256(rebuilt)
    assert leftovers(warm_cache) == []


def test_build_false_with_an_empty_cache_raises_without_touching_the_network(
    cache: Path, offline_pip: str
) -> None:
    with pytest.raises(pm.ModelUnavailableError) as caught:
        pm.resolve_model(build=False)
    message = str(caught.value)
    assert "\n" not in message
    assert str(cache) in message and "--model" in message and pm.MODEL_ENV_VAR in message
    assert not cache.exists()


def test_a_bad_wheel_outside_the_cache_is_ignored_and_kept(
    warm_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "my-wheels"
    elsewhere.mkdir()
    bad = elsewhere / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    bad.write_bytes(b"not a wheel")
    built = pm.build_model_bundle(tmp_path / "out" / "pose.task", wheel_dir=elsewhere)
    assert bad.read_bytes() == b"not a wheel"
    assert any("ignoring unusable wheel" in r.getMessage() for r in caplog.records)
    assert json.loads(sidecar(built).read_text())["sha256"] == sha256(built)


# --------------------------------------------------------------------- user paths


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def make_missing(tmp: Path) -> Path:
    return tmp / "nowhere" / "pose_landmarker_full.task"


def make_directory(tmp: Path) -> Path:
    (tmp / "a_dir.task").mkdir()
    return tmp / "a_dir.task"


def make_text_file(tmp: Path) -> Path:
    path = tmp / "notes.task"
    path.write_text("this is not a model\n")
    return path


def make_zip_without_members(tmp: Path) -> Path:
    return write_zip(tmp / "hand_landmarker.task", {"hand_detector.tflite": b"x" * 64})


def make_zip_with_one_member(tmp: Path) -> Path:
    return write_zip(tmp / "half.task", {pm.DETECTOR_MEMBER: b"\x1c\0\0\0TFL3" + b"\0" * 64})


def make_zip_with_non_tflite_members(tmp: Path) -> Path:
    members = {pm.DETECTOR_MEMBER: b"hello world", pm.LANDMARKS_MEMBER: b"hello world"}
    return write_zip(tmp / "fake.task", members)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (make_missing, "does not exist"),
        (make_directory, "is not a file"),
        (make_text_file, "not a zip"),
        (make_zip_without_members, "without pose_detector.tflite and pose_landmarks_detector"),
        (make_zip_with_one_member, "without pose_landmarks_detector.tflite"),
        (make_zip_with_non_tflite_members, "is not a TFLite model"),
    ],
)
@pytest.mark.parametrize("via", ["argument", "env"])
def test_unusable_user_model_raises_naming_the_path_and_the_fix(
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: object,
    why: str,
    via: str,
) -> None:
    bad = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(pm.ModelUnavailableError) as caught:
        if via == "argument":
            pm.resolve_model(bad)
        else:
            monkeypatch.setenv(pm.MODEL_ENV_VAR, str(bad))
            pm.resolve_model()
    message = str(caught.value)
    assert "\n" not in message
    assert str(bad) in message and why in message
    assert ("--model" if via == "argument" else pm.MODEL_ENV_VAR) in message
    assert "pose_landmarker_*.task" in message
    assert not cache.exists(), "a bad user model must not fall back to building"


def test_a_valid_user_bundle_is_used_from_the_argument_or_the_env(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provisioned: Provisioned
) -> None:
    mine = tmp_path / "pose_landmarker_mine.task"
    shutil.copyfile(provisioned.bundle, mine)  # no sidecar: a user's file

    assert pm.resolve_model(mine, build=False) == mine.resolve()
    assert pm.resolve_model(str(mine), build=False) == mine.resolve()
    monkeypatch.setenv(pm.MODEL_ENV_VAR, str(mine))
    assert pm.resolve_model(build=False) == mine.resolve()
    # The argument wins over the env var, even a broken one.
    monkeypatch.setenv(pm.MODEL_ENV_VAR, str(tmp_path / "missing.task"))
    assert pm.resolve_model(mine, build=False) == mine.resolve()
    assert not cache.exists()

    described = pm.describe_model(mine)
    assert "\n" not in described and str(mine) in described and "user-supplied" in described
    built = pm.describe_model(provisioned.bundle)
    assert "\n" not in built and "built from the mediapipe==0.10.21 wheel" in built
    assert "MB" in built
    assert "missing" in pm.describe_model(tmp_path / "gone.task")


# --------------------------------------------------------------------- no network


@pytest.mark.parametrize("cached_wheel", [None, b"corrupt download"])
def test_no_network_and_no_usable_wheel_gives_a_one_line_actionable_error(
    cache: Path, offline_pip: str, cached_wheel: bytes | None
) -> None:
    if cached_wheel is not None:
        (cache / "wheels").mkdir(parents=True)
        stale = cache / "wheels" / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
        stale.write_bytes(cached_wheel)
    started = time.monotonic()
    with pytest.raises(pm.ModelUnavailableError) as caught:
        pm.resolve_model()
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert elapsed < 60, f"took {elapsed:.0f} s"
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("could not download mediapipe==0.10.21")
    assert offline_pip in message  # pip's reason names the unreachable index
    assert "connect to a package index" in message
    assert "--model PATH" in message and pm.MODEL_ENV_VAR in message
    # Nothing half-made is left; a corrupt cached wheel was deleted (it is in the cache).
    assert list(cache.rglob("*.whl")) == []
    assert not (cache / pm.BUNDLE_FILENAME).exists()
    assert leftovers(cache) == []


# --------------------------------------------------------------------- paths & imports


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STRETCH_COACH_CACHE": "/srv/sc", "XDG_CACHE_HOME": "/xdg"}, "/srv/sc"),
        ({"STRETCH_COACH_CACHE": "~/sc"}, "{home}/sc"),
        ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/stretch-coach"),
        ({"XDG_CACHE_HOME": "relative/ignored"}, "{home}/.cache/stretch-coach"),
        ({"STRETCH_COACH_CACHE": "", "XDG_CACHE_HOME": ""}, "{home}/.cache/stretch-coach"),
        ({}, "{home}/.cache/stretch-coach"),
    ],
)
def test_cache_dir_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("STRETCH_COACH_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert pm.cache_dir() == Path(expected.format(home=tmp_path))


def test_importing_pose_model_does_not_import_mediapipe_or_numpy() -> None:
    code = (
        "import sys, pose.model\n"
        "heavy = sorted({'mediapipe', 'numpy', 'cv2', 'flatbuffers'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------- the face model


def test_face_model_is_extracted_verified_from_the_same_wheel_and_then_reused(
        warm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pose import face as pf

    monkeypatch.delenv(pf.FACE_MODEL_ENV_VAR, raising=False)
    path = pf.resolve_face_model()
    assert path == (warm_cache / pf.FACE_MODEL_FILENAME).resolve()
    assert sha256(path) == pf._FACE_SOURCE.sha256
    assert not leftovers(warm_cache)
    first = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert pf.resolve_face_model() == path
    assert path.stat().st_mtime_ns == first  # a verified cache hit, not a rewrite
    est = pf.FaceEstimator(path)  # loads in OpenCV's TFLite importer: mesh + face flag
    assert len(est._outputs) == 2


def test_tampered_face_model_is_extracted_again(warm_cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from pose import face as pf

    monkeypatch.delenv(pf.FACE_MODEL_ENV_VAR, raising=False)
    path = pf.resolve_face_model()
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    assert sha256(pf.resolve_face_model()) == pf._FACE_SOURCE.sha256


def test_face_model_without_cache_or_build_raises_one_actionable_line(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pose import face as pf

    monkeypatch.delenv(pf.FACE_MODEL_ENV_VAR, raising=False)
    with pytest.raises(pm.ModelUnavailableError) as err:
        pf.resolve_face_model(build=False)
    message = str(err.value)
    assert "\n" not in message and pf.FACE_MODEL_ENV_VAR in message
    assert not cache.exists() or not any(cache.rglob("*.whl"))


def test_unusable_user_face_model_names_the_path(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from pose import face as pf

    bad = tmp_path / "face.tflite"
    bad.write_bytes(b"not a model at all")
    monkeypatch.setenv(pf.FACE_MODEL_ENV_VAR, str(bad))
    with pytest.raises(pm.ModelUnavailableError, match="is not a TFLite model"):
        pf.resolve_face_model()
    monkeypatch.setenv(pf.FACE_MODEL_ENV_VAR, str(tmp_path / "missing.tflite"))
    with pytest.raises(pm.ModelUnavailableError, match="cannot be read"):
        pf.resolve_face_model()
