"""Clinical files on disk: private folders (0700) and files (0600), kept videos.

Everything the clinic writes (the SQLite database, kept session videos,
exports) is health data: readable by its owner only, whatever the umask (the
private folder and file primitives are ``coach.private_files``', re-exported here).
Kept videos live in one folder per patient under ``<data>/videos`` and are
named by a random token, never by the upload's name or the time, so two
people keeping a same-named file in the same second never share a file and a
name can't be guessed.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from coach.private_files import (
    DIR_MODE,
    FILE_MODE,
    open_private,
    private_dir,
    private_file,
    write_private,
)

__all__ = [
    "DIR_MODE",
    "ENV_JOBS_DIR",
    "FILE_MODE",
    "copy_private",
    "jobs_dir",
    "keep_in",
    "keep_video",
    "new_job_folder",
    "open_private",
    "private_dir",
    "private_file",
    "sweep_job_folders",
    "video_folder",
    "write_private",
]

log = logging.getLogger(__name__)

_VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"}
#: where uploaded videos wait for their analysis job, with the job's outputs (a folder
#: the workers can read too in a clinic deployment, e.g. an NFS mount)
ENV_JOBS_DIR = "STRETCH_COACH_JOBS_DIR"


def copy_private(src: str | Path, dest: str | Path) -> Path:
    """Copy ``src`` to ``dest`` as a 0600 file, in a 0700 folder (made if missing).

    An existing ``dest`` is overwritten and made 0600 (e.g. a kept video's named path).
    """
    dest = Path(dest)
    private_dir(dest.parent)
    with open_private(dest) as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, length=1 << 20)
    return dest


def video_folder(data_dir: str | Path, patient_id: int | None) -> Path:
    """The private folder of one owner's kept videos: ``<data_dir>/videos/<owner>``.

    The owner is ``personal`` (personal mode, ``patient_id`` None) or ``patient-ID``.
    """
    owner = "personal" if patient_id is None else f"patient-{int(patient_id)}"
    return private_dir(private_dir(Path(data_dir) / "videos") / owner)


def keep_in(src: str | Path, folder: str | Path, suffix: str | None = None) -> Path:
    """Copy ``src`` into ``folder`` under an unguessable name, as a 0600 file.

    Args:
        src: the file to copy.
        folder: a folder made by ``video_folder``.
        suffix: file extension (default: ``src``'s, if it is a video one, else ``.mp4``).
    """
    folder = private_dir(folder)
    suffix = (suffix or Path(src).suffix).lower()
    if suffix not in _VIDEO_SUFFIXES:
        suffix = ".mp4"
    while True:
        dest = folder / f"{secrets.token_urlsafe(18)}{suffix}"
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:   # practically impossible (144 random bits): draw again
            continue
        break
    with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, length=1 << 20)
    log.info("kept a video in %s", folder.name)
    return dest


def keep_video(src: str | Path, data_dir: str | Path, patient_id: int | None,
               suffix: str | None = None) -> Path:
    """Copy ``src`` into the patient's private video folder under an unguessable name.

    Args:
        src: the video to keep.
        data_dir: the data folder (``sessions.db.default_data_dir()``).
        patient_id: the patient's account id; None for personal mode.
        suffix: file extension (default: ``src``'s, if it is a video one, else ``.mp4``).

    Returns:
        The kept file: ``<data_dir>/videos/<patient-ID|personal>/<token><suffix>``, 0600.
    """
    return keep_in(src, video_folder(data_dir, patient_id), suffix)


def jobs_dir(data_dir: str | Path) -> Path:
    """The private folder of analysis jobs' files: ``$STRETCH_COACH_JOBS_DIR``, else
    ``<data_dir>/jobs``."""
    configured = os.environ.get(ENV_JOBS_DIR, "").strip()
    return private_dir(Path(configured).expanduser() if configured
                       else Path(data_dir) / "jobs")


def new_job_folder(data_dir: str | Path) -> Path:
    """A new private folder (unguessable name) for one job's upload and outputs."""
    root = jobs_dir(data_dir)
    while True:
        folder = root / secrets.token_urlsafe(12)
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        return private_dir(folder)


def sweep_job_folders(data_dir: str | Path, max_age_s: float,
                      keep: Iterable[str | Path] = ()) -> int:
    """Delete job folders not modified for ``max_age_s`` seconds, except those in ``keep``
    (the folders of jobs not finished yet, however old); returns how many."""
    cutoff = time.time() - max_age_s
    kept = {os.path.abspath(p) for p in keep}
    n = 0
    for folder in jobs_dir(data_dir).iterdir():
        try:
            if folder.is_dir() and os.path.abspath(folder) not in kept \
                    and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                n += 1
        except OSError:
            pass
    return n
