"""Helpers for the job tests: short clips cut from the sample videos, worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_videos"


def cut_clip(src: Path, dest: Path, seconds: float, start_s: float = 0.0) -> Path:
    """Re-encode ``seconds`` of ``src`` from ``start_s`` as H.264 mp4 (same size and rate)."""
    import av

    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        rate = round(float(vin.average_rate or 30))
        with av.open(str(dest), "w") as out:
            st = out.add_stream("libx264", rate=rate)
            st.width, st.height, st.pix_fmt = vin.width, vin.height, "yuv420p"
            st.options = {"preset": "ultrafast", "crf": "20"}
            n = 0
            for frame in inp.decode(vin):
                t = float(frame.time or 0.0)
                if t < start_s:
                    continue
                if t >= start_s + seconds:
                    break
                vf = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"),
                                                format="rgb24").reformat(format="yuv420p")
                vf.pts = n
                n += 1
                for pkt in st.encode(vf):
                    out.mux(pkt)
            for pkt in st.encode():
                out.mux(pkt)
    return dest


def wait_until(what: str, check: Callable[[], Any], timeout_s: float,
               poll_s: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


class WorkerProcess:
    """A ``stretch-coach worker`` subprocess; always stopped by ``stop``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ready(self) -> bool:
        """Whether the worker said it is consuming (or died: then fail loudly)."""
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}: "
                                 f"{self.log_path.read_text(errors='replace')[-2000:]}")
        return b"worker ready" in self.log_path.read_bytes()

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-job without any clean-up."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._log.close()
