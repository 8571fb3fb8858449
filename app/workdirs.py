"""Temporary folders owned by one browser tab's analysis, removed when it ends.

A ``TabWorkdir`` is a private temporary folder (0700) tied to the object that
holds it: it is removed by ``cleanup()`` (a new analysis replaces the old
one), when the holder is garbage-collected (the browser session ended and
Streamlit dropped its session state), or when the server exits.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from pathlib import Path

__all__ = ["TabWorkdir"]

log = logging.getLogger(__name__)


def _remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    log.debug("removed analysis folder %s", path)


class TabWorkdir:
    """A temporary folder that lives exactly as long as this object (or until ``cleanup``).

    Args:
        prefix: name prefix of the folder under the system temp dir.
    """

    def __init__(self, prefix: str = "stretch-coach-analysis-") -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))   # mkdtemp: mode 0700
        self._finalizer = weakref.finalize(self, _remove, str(self.path))

    def cleanup(self) -> None:
        """Remove the folder now (idempotent)."""
        self._finalizer()

    @property
    def alive(self) -> bool:
        """Whether the folder has not been removed yet."""
        return self._finalizer.alive
