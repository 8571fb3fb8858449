"""Provision the MediaPipe PoseLandmarker ``.task`` bundle with no manual step.

Google's official ``pose_landmarker_*.task`` files live on Google's model storage,
which many machines (CI, offline labs, locked-down clinics) cannot reach. The
same BlazePose networks ship inside the ``mediapipe==0.10.21`` wheel on PyPI,
so on first use this module:

1. asks ``pip`` (the running interpreter's, honouring the machine's own index,
   proxy and certificate settings) to download that one wheel, without
   installing it, into the cache directory;
2. reads the two ``.tflite`` files out of it and checks their SHA-256;
3. adds the TFLite model metadata that the Tasks API needs (input
   normalisation and colour space), written directly as flatbuffers with the
   schema modules that mediapipe itself ships;
4. writes a stored zip with the members ``pose_detector.tflite`` and
   ``pose_landmarks_detector.tflite`` (the layout of the official bundles and
   the names ``libmediapipe`` looks up) atomically, plus a JSON sidecar with
   the bundle's SHA-256 so later runs can trust the cached file.

Resolution order of :func:`resolve_model`: explicit path, then
``$STRETCH_COACH_MODEL``, then the verified cached bundle, then a fresh build.

The steps live by concern: :mod:`pose.model_wheel` (the pinned files, reading
and downloading the wheel), :mod:`pose.model_bundle` (metadata, atomic file
writing) and :mod:`pose.model_common` (the error, environment variables, cache
directory and member names, re-exported here). This module holds
:func:`resolve_model`, :func:`build_model_bundle` and :func:`describe_model`.

Importing this module is cheap: mediapipe is imported only while building.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from pathlib import Path

from pose.model_bundle import (
    _TFLITE_IDENTIFIER,
    _add_metadata,
    _sha256_file,
    _write_zip_atomic,
    write_bytes_atomic,
)
from pose.model_common import (
    CACHE_ENV_VAR,
    DETECTOR_MEMBER,
    LANDMARKS_MEMBER,
    MEDIAPIPE_WHEEL_REQUIREMENT,
    MODEL_ENV_VAR,
    ModelUnavailableError,
    cache_dir,
)
from pose.model_wheel import _SOURCES, read_wheel_files

__all__ = [
    "BUNDLE_FILENAME",
    "CACHE_ENV_VAR",
    "DETECTOR_MEMBER",
    "LANDMARKS_MEMBER",
    "MEDIAPIPE_WHEEL_REQUIREMENT",
    "MODEL_ENV_VAR",
    "ModelUnavailableError",
    "build_model_bundle",
    "cache_dir",
    "describe_model",
    "resolve_model",
]

logger = logging.getLogger(__name__)

BUNDLE_FILENAME = "pose_landmarker_full_from_mediapipe-0.10.21.task"
"""File name of the built bundle inside :func:`cache_dir`."""

_SIDECAR_SUFFIX = ".json"
_BUILDER_ID = "stretch-coach pose.model"
# Bump when the build output changes so that old cached bundles are rebuilt.
_RECIPE_VERSION = 1

_REQUIRED_MEMBERS = (DETECTOR_MEMBER, LANDMARKS_MEMBER)


# --------------------------------------------------------------------------- paths


def _sidecar_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + _SIDECAR_SUFFIX)


# --------------------------------------------------------------------------- resolve


def resolve_model(path: str | os.PathLike[str] | None = None, *, build: bool = True) -> Path:
    """Find (or build) the PoseLandmarker ``.task`` bundle to use.

    Order: ``path`` if given; else ``$STRETCH_COACH_MODEL`` if set; else the
    bundle cached in :func:`cache_dir` if its SHA-256 matches the recorded one
    (a mismatching or corrupt cache file is rebuilt, with a warning); else a
    fresh build with :func:`build_model_bundle`.

    Args:
        path: A user-supplied ``.task`` file (e.g. from ``--model``). It must be
            a zip holding ``pose_detector.tflite`` and
            ``pose_landmarks_detector.tflite``, as Google's
            ``pose_landmarker_lite/full/heavy.task`` files do.
        build: Whether building (and, if no wheel is cached, downloading) is
            allowed when nothing usable is found.

    Returns:
        Absolute path of a bundle that passed the checks.

    Raises:
        ModelUnavailableError: The given/env file is unusable, or nothing is
            cached and ``build`` is False, or the build failed.
    """
    if path is not None and str(path).strip():
        return _check_user_bundle(Path(path), origin="--model")
    env_value = os.environ.get(MODEL_ENV_VAR, "").strip()
    if env_value:
        return _check_user_bundle(Path(env_value), origin=MODEL_ENV_VAR)

    bundle = cache_dir() / BUNDLE_FILENAME
    problem = _cached_bundle_problem(bundle)
    if problem is None:
        logger.debug("using cached pose model %s", bundle)
        return bundle.resolve()
    if build and (bundle.exists() or _sidecar_path(bundle).exists()):
        logger.warning("cached pose model %s is unusable (%s); rebuilding it", bundle, problem)
    if not build:
        raise ModelUnavailableError(
            f"no pose model: no --model PATH, {MODEL_ENV_VAR} is unset and there is no "
            f"valid built bundle in {cache_dir()} ({problem}); allow building it (downloads "
            f"{MEDIAPIPE_WHEEL_REQUIREMENT} from the package index once) or pass --model PATH "
            f"to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        )
    return build_model_bundle(bundle).resolve()


def _check_user_bundle(path: Path, *, origin: str) -> Path:
    """Return ``path`` resolved if it looks like a PoseLandmarker bundle, else raise."""
    path = path.expanduser()
    if origin == MODEL_ENV_VAR:
        fix = (
            f"set {MODEL_ENV_VAR} to a pose_landmarker_*.task file, or unset it to use "
            "the bundle built from PyPI"
        )
    else:
        fix = (
            "pass --model PATH to a pose_landmarker_*.task file, or leave it out to use "
            "the bundle built from PyPI"
        )
    if not path.exists():
        raise ModelUnavailableError(f"pose model {path} (from {origin}) does not exist; {fix}")
    if not path.is_file():
        raise ModelUnavailableError(f"pose model {path} (from {origin}) is not a file; {fix}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [name for name in _REQUIRED_MEMBERS if name not in names]
            if missing:
                raise ModelUnavailableError(
                    f"pose model {path} (from {origin}) is a zip without "
                    f"{' and '.join(missing)}, so it is not a PoseLandmarker .task bundle; {fix}"
                )
            for name in _REQUIRED_MEMBERS:
                with archive.open(name) as member:
                    head = member.read(8)
                if head[4:8] != _TFLITE_IDENTIFIER:
                    raise ModelUnavailableError(
                        f"pose model {path} (from {origin}): member {name} is not a TFLite "
                        f"model; {fix}"
                    )
    except zipfile.BadZipFile as exc:
        raise ModelUnavailableError(
            f"pose model {path} (from {origin}) is not a .task bundle (not a zip: {exc}); {fix}"
        ) from exc
    except OSError as exc:
        raise ModelUnavailableError(
            f"pose model {path} (from {origin}) cannot be read ({exc.strerror or exc}); {fix}"
        ) from exc
    return path.resolve()


def _cached_bundle_problem(bundle: Path) -> str | None:
    """Return why the cached bundle cannot be used, or None if it verifies."""
    if not bundle.is_file():
        return "not built yet"
    sidecar = _sidecar_path(bundle)
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{sidecar.name} is missing"
    except (OSError, ValueError) as exc:
        return f"{sidecar.name} is unreadable: {exc}"
    if not isinstance(record, dict) or record.get("recipe") != _RECIPE_VERSION:
        return "it was built by another version of this code"
    try:
        size = bundle.stat().st_size
        if size != record.get("size"):
            return f"size {size} bytes, recorded {record.get('size')}"
        digest = _sha256_file(bundle)
    except OSError as exc:
        return f"unreadable: {exc}"
    if digest != record.get("sha256"):
        return "SHA-256 does not match the recorded one"
    return None


# --------------------------------------------------------------------------- build


def build_model_bundle(dest: Path, *, wheel_dir: Path | None = None) -> Path:
    """Build the PoseLandmarker bundle from the ``mediapipe==0.10.21`` wheel.

    The wheel is looked for in ``wheel_dir`` (if given, read only) and in
    ``cache_dir()/wheels``; if neither holds a good one it is downloaded with
    ``python -m pip download`` into ``cache_dir()/wheels`` and kept there, so a
    rebuild needs no network. A corrupt wheel in the cache is deleted and
    fetched again; nothing outside :func:`cache_dir` is ever deleted.

    ``dest`` and its JSON sidecar (``dest`` + ``.json``, recording the bundle's
    SHA-256) are written through temporary files and renamed into place, so an
    aborted or concurrent build never leaves a half-written bundle. The output
    is byte-for-byte reproducible from the same inputs.

    Args:
        dest: Path of the ``.task`` file to write; parents are created.
        wheel_dir: Optional extra directory to look in for the wheel first.

    Returns:
        ``dest``.

    Raises:
        ModelUnavailableError: The wheel could not be obtained or verified, or
            the bundle could not be written.
    """
    dest = Path(dest).expanduser()
    started = time.monotonic()
    wheel, sources = read_wheel_files(_SOURCES, wheel_dir=wheel_dir)
    members = [(spec.member, _add_metadata(sources[spec.wheel_path], spec)) for spec in _SOURCES]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _write_zip_atomic(dest, members)
        record = {
            "builder": _BUILDER_ID,
            "recipe": _RECIPE_VERSION,
            "sha256": _sha256_file(dest),
            "size": dest.stat().st_size,
            "source": f"{MEDIAPIPE_WHEEL_REQUIREMENT} wheel from the package index",
            "wheel": wheel.name,
            "members": {
                spec.member: {"from": spec.wheel_path, "source_sha256": spec.sha256}
                for spec in _SOURCES
            },
            "license": "Apache-2.0 (MediaPipe BlazePose models by Google)",
            "built_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_bytes_atomic(
            _sidecar_path(dest), (json.dumps(record, indent=2) + "\n").encode("utf-8")
        )
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot write the pose model to {dest} ({exc.strerror or exc}); set "
            f"{CACHE_ENV_VAR} to a writable directory or pass --model PATH to a "
            f"pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        ) from exc
    logger.info(
        "built pose model %s from %s in %.1f s", dest, wheel.name, time.monotonic() - started
    )
    return dest


# --------------------------------------------------------------------------- describe


def describe_model(path: Path) -> str:
    """Describe a bundle in one line, for ``--help`` output and logs.

    Args:
        path: A ``.task`` file, typically the result of :func:`resolve_model`.

    Returns:
        E.g. ``"pose model /home/u/.cache/stretch-coach/pose_landmarker_full_....task
        (9.4 MB, built from the mediapipe==0.10.21 wheel: BlazePose full)"`` or
        ``"... (5.8 MB, user-supplied)"``.
    """
    path = Path(path).expanduser()
    try:
        size_mb = path.stat().st_size / 1e6
    except OSError:
        return f"pose model {path} (missing)"
    try:
        record = json.loads(_sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and record.get("builder") == _BUILDER_ID:
        return (
            f"pose model {path} ({size_mb:.1f} MB, built from the "
            f"{MEDIAPIPE_WHEEL_REQUIREMENT} wheel: BlazePose full)"
        )
    return f"pose model {path} ({size_mb:.1f} MB, user-supplied)"
