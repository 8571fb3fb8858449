"""Private files: folders 0700 and files 0600, whatever the umask.

What the coach writes about a person (reports, per-frame CSVs, uploaded videos)
is health data: readable by its owner only. Standard library only, so any layer
may use it (``sessions.files`` builds the clinic's folders on it).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO, Any

__all__ = ["DIR_MODE", "FILE_MODE", "open_private", "private_dir", "private_file",
           "write_private"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) if missing and make it 0700.

    Raises:
        NotADirectoryError: ``path`` (or a parent) exists and is not a folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(path))
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if (path.stat().st_mode & 0o777) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: str | Path) -> Path:
    """Make an existing file 0600 (no-op when it does not exist)."""
    path = Path(path)
    if path.is_file() and (path.stat().st_mode & 0o777) != FILE_MODE:
        os.chmod(path, FILE_MODE)
    return path


def _open_private(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)   # an existing file keeps its old mode otherwise
    except OSError:
        os.close(fd)
        raise
    return fd


def open_private(path: str | Path, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing (created or emptied) as a 0600 file.

    Args:
        path: the file.
        mode: ``"wb"`` or ``"w"`` (text; ``kwargs`` as for ``open``, e.g.
            ``encoding="utf-8", newline=""``).

    Raises:
        ValueError: ``mode`` is not a write mode.
        OSError: the file could not be opened (``filename`` is set).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"open_private writes only ('w' or 'wb'), not {mode!r}")
    return os.fdopen(_open_private(Path(path)), mode, **kwargs)


def write_private(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` as a 0600 file (text as UTF-8, newlines kept).

    Raises:
        OSError: the file could not be written (the message names it).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open_private(path) as fh:
            fh.write(raw)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror or e}", str(path)) from None
    return path
