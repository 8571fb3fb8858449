"""Where a session's video came from: bundled samples are never clinical data.

The app ships sample clips (an animated person, ``sample_videos/`` or
``$STRETCH_COACH_SAMPLES``) so people can see how the coach judges, and the
library's demonstrations (the same avatar, ``demos/`` or ``$STRETCH_COACH_DEMOS``):
both are "samples" here. A report
made from one of them must never enter a patient's record: the callers mark it
(``media["sample"] = True``) and fingerprint the video they analysed
(``media["sha256"]``); ``is_bundled_sample`` checks both, so a sample uploaded
under another name is still recognised.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_KEY", "SHA_KEY", "demos_dir", "fingerprint", "is_bundled_sample",
           "samples_dir"]

log = logging.getLogger(__name__)

SAMPLE_KEY = "sample"     # report.media key: True for a bundled sample
SHA_KEY = "sha256"        # report.media key: SHA-256 (hex) of the analysed video file
_REPO_ROOT = Path(__file__).resolve().parent.parent


def samples_dir() -> Path:
    """Folder of the bundled sample clips (``$STRETCH_COACH_SAMPLES`` or ``sample_videos/``)."""
    return Path(os.environ.get("STRETCH_COACH_SAMPLES") or _REPO_ROOT / "sample_videos")


def demos_dir() -> Path:
    """Folder of the avatar's stretch demonstrations (``$STRETCH_COACH_DEMOS`` or ``demos/``)."""
    return Path(os.environ.get("STRETCH_COACH_DEMOS") or _REPO_ROOT / "demos")


def fingerprint(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=4)
def _sample_hashes(folder: str) -> frozenset[str]:
    out = set()
    for p in Path(folder).glob("*"):
        if p.is_file() and p.suffix.lower() in {".mp4", ".mov", ".webm", ".avi", ".mkv",
                                                ".m4v"}:
            try:
                out.add(fingerprint(p))
            except OSError:
                log.warning("sample clip %s could not be read", p)
    return frozenset(out)


def is_bundled_sample(media: dict[str, Any] | None) -> bool:
    """Whether a report's ``media`` says it was made from a bundled clip: a sample or one
    of the library's demonstrations (each folder is hashed once per process)."""
    media = media or {}
    if media.get(SAMPLE_KEY):
        return True
    sha = media.get(SHA_KEY)
    return isinstance(sha, str) and any(sha in _sample_hashes(str(folder))
                                        for folder in (samples_dir(), demos_dir()))
