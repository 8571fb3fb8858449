"""Analyse a recorded video: stream frames through the coach and build the report.

Frames are streamed (never collected), so memory stays flat however long the
video is. A video that breaks part-way still yields the report up to that
point, marked incomplete.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from coach.pipeline import CoachSession, resolve_sides
from coach.report import FrameCsvWriter, SessionReport, build_report
from exercises.definition import Prescription, StretchDefinition
from exercises.measures import definition_needs_face
from pose.video import VideoFrame, VideoInfo, open_video
from pose.video_writer import AnnotatedVideoWriter

__all__ = ["AnalysisOptions", "analyze_video", "prefetch"]

log = logging.getLogger(__name__)

#: progress callback: (frames done, frames expected or None) -> None
Progress = Callable[[int, int | None], None]

T = TypeVar("T")


def prefetch(items: Iterator[T], depth: int = 6) -> Iterator[T]:
    """Run ``items`` in a worker thread, ``depth`` items ahead (bounded: memory stays flat).

    Decoding and colour conversion then overlap with pose estimation, which releases
    the GIL. Exceptions from the worker are re-raised here; stopping early stops it.
    """
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as e:  # handed to the consumer, raised there
            q.put(("error", e))

    worker = threading.Thread(target=work, name="frame-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)


class _Gate:
    """The time from which frames are judged again, shared with the decoding thread.

    The analysis loop writes ``next_t`` (when it judges a frame) and reports each frame
    it is done with; the decoding thread asks, for each frame, whether to decode it
    (:meth:`surely_unwanted`, never waits) and whether to convert it (:meth:`wanted`).
    A frame before ``next_t`` is never judged (``next_t`` only moves when a frame at or
    after it is judged), so either answer "no" only for a frame the loop skips too.

    :meth:`wanted` is exact rather than hopeful while the last judgement was settled: a
    frame is converted ahead of the loop only when it is sure to be judged (the first
    one at or after ``next_t``); for the frames after such a one it waits until the loop
    has judged it, since its judgement moves ``next_t``. Without the wait the decoding
    thread, running a queue's length ahead, would convert (and decode) every frame of a
    skip window before the loop had opened it. While frames are judged one by one
    (``next_t`` is -inf) it converts ahead without waiting.
    """

    def __init__(self) -> None:
        self.next_t = -math.inf
        self._done_t = -math.inf      # the last frame the loop is done with
        self._handed_t = -math.inf    # the last frame the decoding thread handed over
        self._cond = threading.Condition()
        self._closed = False

    def surely_unwanted(self, t: float) -> bool:
        """Whether the frame at ``t`` (seconds) will not be judged, known already."""
        return t < self.next_t

    def wanted(self, t: float) -> bool:
        """Whether the frame at ``t`` may be judged: convert it (may wait, see above)."""
        with self._cond:
            while True:
                if t < self.next_t:
                    return False
                if (self._handed_t < self.next_t or self.next_t == -math.inf
                        or self._done_t >= self._handed_t or self._closed):
                    return True
                self._cond.wait(timeout=1.0)

    def handed(self, t: float) -> None:
        """The decoding thread handed over the frame at ``t``."""
        self._handed_t = t

    def done(self, t: float, next_t: float) -> None:
        """The loop is done with the frame at ``t``; frames before ``next_t`` are skipped."""
        with self._cond:
            self.next_t = next_t
            self._done_t = t
            self._cond.notify_all()

    def close(self) -> None:
        """Stop waiting (the loop ended)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse a video.

    Attributes:
        side: ``left``, ``right``, ``both`` or None (all sides of the stretch).
        prescription: dose to judge against (default: the definition's).
        model_path: pose model ``.task`` (default: resolved by ``pose.model``).
        annotated_path: write an annotated H.264 mp4 here.
        csv_path: write one CSV row per frame here.
        max_side: downscale frames so the longest side is at most this (pixels).
        smoothing: One-Euro smoothing of landmarks.
        num_poses: people the tracking model follows (a second person is still reported
            by the estimator's periodic check).
        people_check_s: how often (video seconds) to look for a second person; a report
            needs no instant warning, so less often than live coaching (each check costs
            about three frames' worth of model time).
        max_skip_s: while nothing can change soon (every tracker ``settled``: far from
            every threshold, no dwell or fault pending), judge a frame only every this
            many seconds of video; every frame near a threshold is judged. 0 judges every
            frame. An annotated video always judges every frame (its skeleton must follow
            the body).
    """

    side: str | None = None
    prescription: Prescription | None = None
    model_path: str | os.PathLike[str] | None = None
    annotated_path: str | os.PathLike[str] | None = None
    csv_path: str | os.PathLike[str] | None = None
    max_side: int | None = 960
    smoothing: bool = True
    num_poses: int = 1
    people_check_s: float | None = 4.0
    max_skip_s: float = 0.2


def analyze_video(path: str | os.PathLike[str], definition: StretchDefinition,
                  options: AnalysisOptions | None = None,
                  progress: Progress | None = None, estimator: object | None = None
                  ) -> SessionReport:
    """Analyse one video file for one stretch.

    Args:
        path: the video.
        definition: the stretch performed in it.
        options: see ``AnalysisOptions``.
        progress: called after each frame with (done, expected).
        estimator: reuse an existing ``PoseEstimator`` (else one is created and closed).

    Returns:
        The session report (``complete=False`` with ``problem`` set if the video broke).

    Raises:
        pose.video.VideoError: the file can't be opened as a video (one-line message).
        pose.model.ModelUnavailableError: no pose model could be found or built.
        ValueError: an invalid side for this stretch.
    """
    options = options or AnalysisOptions()
    sides = resolve_sides(definition, options.side)
    prescription = options.prescription or definition.prescription
    own_estimator = estimator is None
    with open_video(path) as reader:
        info: VideoInfo = reader.info
        if estimator is None:
            from pose.estimator import PoseEstimator

            # the face model runs only for stretches judged from the face
            estimator = PoseEstimator(options.model_path, num_poses=options.num_poses,
                                      people_check_s=options.people_check_s,
                                      face=definition_needs_face(definition))
        session = CoachSession(definition, sides, estimator, prescription, options.smoothing)
        writer = None
        csv_writer = FrameCsvWriter(options.csv_path, list(sides)) if options.csv_path else None
        series: dict[str, list[float | None]] = {"t": [], **{s: [] for s in sides}}
        frames = judged = 0
        last_t = 0.0
        skip_s = 0.0 if options.annotated_path is not None else options.max_skip_s
        # the next frame to judge; read by the decoding thread, which decodes (when no
        # other frame needs it) and converts only the frames at or after it: a frame it
        # skips is one this loop skips too (the value only moves when a frame is judged,
        # and frames before it are never judged)
        gate = _Gate()

        def handed(source: Iterator[VideoFrame]) -> Iterator[VideoFrame]:
            for vf in source:
                gate.handed(vf.timestamp_s)
                yield vf

        source = (reader.frames(max_side=options.max_side, wanted=gate.wanted,
                                surely_unwanted=gate.surely_unwanted)
                  if skip_s > 0 else reader.frames(max_side=options.max_side))
        frame_iter = prefetch(handed(source))
        result = None
        try:
            for vf in frame_iter:
                frames += 1
                last_t = vf.timestamp_s
                if result is not None and (vf.timestamp_s < gate.next_t or vf.image is None):
                    # (no image for a frame at or after the gate: a frame the decoder was
                    # told to skip, whose time then moved because the file's timestamps
                    # go backwards; the next frame is judged instead)
                    gate.done(vf.timestamp_s, gate.next_t)
                    if csv_writer is not None:  # the judgement of the last judged frame holds
                        csv_writer.write(vf.index, result.feedback, judged=False)
                    if progress is not None:
                        progress(frames, info.frame_count)
                    continue
                if vf.image is None:   # cannot happen (see _Gate); fail loudly if it does
                    raise RuntimeError(f"frame {vf.index} was not converted but is judged")
                result = session.process(vf.image, vf.timestamp_s)
                judged += 1
                settled = skip_s > 0 and session.settled(horizon_s=skip_s)
                gate.done(vf.timestamp_s,
                          vf.timestamp_s + skip_s - 1e-6 if settled else -math.inf)
                series["t"].append(round(vf.timestamp_s, 3))
                for fb in result.feedback:
                    series[fb.side].append(None if fb.value is None else round(fb.value, 3))
                if csv_writer is not None:
                    csv_writer.write(vf.index, result.feedback)
                if options.annotated_path is not None:
                    if writer is None:
                        h, w = vf.image.shape[:2]
                        writer = AnnotatedVideoWriter(options.annotated_path, info.fps, w, h)
                    writer.write(session.draw(vf.image, result), vf.timestamp_s)
                if progress is not None:
                    progress(frames, info.frame_count)
        finally:
            gate.close()
            frame_iter.close()
            if writer is not None:
                writer.close()
            if csv_writer is not None:
                csv_writer.close()
            if own_estimator:
                estimator.close()  # type: ignore[attr-defined]
        session.finish()
        complete = not reader.incomplete
        problem = reader.error if reader.incomplete else None
    duration = last_t + (1.0 / info.fps if frames else 0.0)
    media = {"file": Path(path).name, "fps": round(info.fps, 3), "width": info.width,
             "height": info.height, "rotation_deg": info.rotation_deg,
             "frame_count": info.frame_count, "codec": info.codec, "frames_judged": judged}
    # Both sides of a sided stretch are tracked in parallel when no side was given; a
    # recording usually shows one side only, so judge completion on the sides done.
    done_sides = [s for s, t in session.trackers.items() if t.reps] or list(sides)
    return build_report(definition, session.trackers.values(), source="video",
                        prescription=prescription, duration_s=duration, frames=frames,
                        complete=complete, problem=problem, series=series, media=media,
                        score_sides=done_sides if options.side is None else list(sides))
