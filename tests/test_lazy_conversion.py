"""Only the frames that will be judged are converted (colour, scaling), and unjudged
frames no other frame refers to are not even decoded, with the very same answers as
decoding and converting every frame.

``coach.analyze`` tells the decoding thread from which time frames may be judged
again; frames before it are not converted, and not decoded when nothing refers to
them. Forcing every frame to be decoded and converted (the gate always open) must give
an identical report: same frames judged, same measure series, same reps and holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach import analyze as analysis
from coach.analyze import AnalysisOptions, analyze_video
from exercises.definition import load_library
from pose.video import open_video
from tests.job_support import SAMPLES, cut_clip


def test_unwanted_frames_are_decoded_but_not_converted(tmp_path: Path) -> None:
    clip = cut_clip(SAMPLES / "chin_tuck_good.mp4", tmp_path / "c.mp4", 1.0)
    with open_video(clip) as reader:
        every = list(reader.frames())
        some = list(reader.frames(wanted=lambda t: int(t * 30 + 0.5) % 3 == 0))
    assert [f.timestamp_s for f in some] == [f.timestamp_s for f in every]
    assert [f.index for f in some] == [f.index for f in every]
    for a, b in zip(every, some, strict=True):
        if b.index % 3 == 0:
            assert b.image is not None and np.array_equal(a.image, b.image)
        else:
            assert b.image is None


def _encode(src: Path, dest: Path, codec: str, options: dict[str, str], n: int) -> Path:
    """The first ``n`` frames of ``src`` encoded with ``codec`` (B-frames unless told not)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        st = out.add_stream(codec, rate=30, options=options)
        st.width, st.height, st.pix_fmt = 640, 480, "yuv420p"
        for i, frame in enumerate(inp.decode(video=0)):
            if i == n:
                break
            vf = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            vf = vf.reformat(format="yuv420p")
            vf.pts = i
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return dest


@pytest.mark.parametrize(("codec", "options", "some_skipped"), [
    ("libx264", {"preset": "veryfast"}, True),            # B-frames in a pyramid
    ("libx265", {"x265-params": "log-level=error"}, True),
    ("libx264", {"preset": "veryfast", "profile": "baseline"}, False),  # no B-frames
])
def test_frames_nothing_refers_to_are_not_even_decoded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str,
        options: dict[str, str], some_skipped: bool) -> None:
    """Unwanted frames no other frame is predicted from are left undecoded; the frames
    that are decoded are bit for bit those of a full decode, in the same order, with the
    same timestamps and indices."""
    from pose import video

    clip = _encode(SAMPLES / "chest_opener_good.mp4", tmp_path / "c.mp4", codec, options, 90)
    undecoded: list[int] = []
    real = video._decode

    def counting(*args: object) -> object:
        for item in real(*args):  # type: ignore[arg-type]
            if isinstance(item, int):
                undecoded.append(item)
            yield item

    monkeypatch.setattr(video, "_decode", counting)
    with open_video(clip) as reader:
        every = list(reader.frames())
        assert not undecoded                     # nothing skipped without ``wanted``
        some = list(reader.frames(wanted=lambda t: int(t * 30 + 0.5) % 6 == 0))
    assert [(f.index, f.timestamp_s) for f in some] == [(f.index, f.timestamp_s) for f in every]
    for a, b in zip(every, some, strict=True):
        if b.index % 6 == 0:
            assert b.image is not None and np.array_equal(a.image, b.image)
        else:
            assert b.image is None
    assert (len(undecoded) > 20) == some_skipped


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chest_opener_good", "neck_side_tilt_left_good"])
def test_converting_only_judged_frames_changes_nothing(name: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    truth = json.loads((SAMPLES / f"{name}.truth.json").read_text())
    definition = load_library()[truth["exercise"]]
    side = truth["side"] if definition.is_sided else None
    clip = SAMPLES / f"{name}.mp4"
    from pose import video

    converted = 0
    undecoded = 0
    to_rgb, decode = video._to_rgb, video._decode

    def counting_to_rgb(*args: object) -> np.ndarray:
        nonlocal converted
        converted += 1
        return to_rgb(*args)  # type: ignore[arg-type]

    def counting_decode(*args: object) -> object:
        nonlocal undecoded
        for item in decode(*args):  # type: ignore[arg-type]
            undecoded += isinstance(item, int)
            yield item

    with monkeypatch.context() as m:
        m.setattr(video, "_to_rgb", counting_to_rgb)
        m.setattr(video, "_decode", counting_decode)
        lazy = analyze_video(clip, definition, AnalysisOptions(side=side))
    # the decoding thread runs ahead of the model, yet converts hardly more than the
    # frames judged (a few at each change from judging every frame to skipping)
    print(f"{name}: {lazy.frames} frames, {lazy.media['frames_judged']} judged, "
          f"{converted} converted, {undecoded} not decoded")
    assert converted <= 1.25 * lazy.media["frames_judged"]
    assert undecoded > 0.1 * lazy.frames
    # the old behaviour: every frame decoded and converted
    monkeypatch.setattr(analysis._Gate, "wanted", lambda self, t: True)
    monkeypatch.setattr(analysis._Gate, "surely_unwanted", lambda self, t: False)
    eager = analyze_video(clip, definition, AnalysisOptions(side=side))
    assert lazy.media["frames_judged"] == eager.media["frames_judged"] < lazy.frames
    assert lazy.series == eager.series
    assert lazy.reps == eager.reps
    assert (lazy.reps_done, lazy.holds_completed) == (eager.reps_done, eager.holds_completed)
    assert lazy.reps_done == truth["expected"]["reps"]
