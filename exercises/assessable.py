"""Whether a frame can be judged at all, for one stretch on one side, and if not, what to
tell the person: one person in view, a picture and a body big enough, the landmarks the
stretch needs visible, the body the right way up and the right camera view.

The judging engine (``exercises.engine``) asks :class:`SetupCheck` first on every frame and
returns a "can't assess" feedback with the message instead of a wrong correction.
"""

from __future__ import annotations

import math

from exercises.definition import StretchDefinition
from exercises.measures import (
    Measure,
    body_size_px,
    body_yaw,
    facing_away,
    get_measure,
    near_side,
    other_side,
    trunk_upside_down,
)
from exercises.tracker_parts import Dwell
from pose.frame import PoseFrame
from pose.landmarks import Landmark, group_landmarks, side_landmark

__all__ = ["SetupCheck", "setup_text", "visibility_message"]

#: View check without world landmarks: shoulder width / trunk length below this is side-on,
#: above the second facing the camera (about 0.6-0.9 facing, 0.1-0.3 side-on).
_FRONT_MIN_RATIO = 0.2
_SIDE_MAX_RATIO = 0.5
#: A body smaller than this (pixels: the larger of shoulder width and trunk length) cannot be
#: judged: landmark noise of a few pixels is then tens of degrees.
_MIN_BODY_PX = 24.0
#: A picture whose shorter side is below this cannot be judged either.
_MIN_IMAGE_PX = 120
#: A wrong view must last this long before it stops the judging (no flapping).
_VIEW_DWELL_S = 0.5
#: What the view check reads (the trunk's yaw or width, the nose against the ears): it may
#: name the view as the problem with landmarks missing only while these are seen.
_VIEW_LANDMARKS = (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP,
                   Landmark.RIGHT_HIP, Landmark.NOSE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR)


class SetupCheck:
    """Whether a frame of one stretch can be judged: (code, message) when it can't.

    Args:
        definition: the stretch.
        primary: its primary measure.
        primary_side: the side the primary measure is evaluated for.
    """

    def __init__(self, definition: StretchDefinition, primary: Measure,
                 primary_side: str) -> None:
        self.definition = definition
        self._primary = primary
        self._primary_side = primary_side
        self._visibility = definition.tuning.visibility
        #: an upright stretch: a body drawn head-down is a misreading (a close-up, a cut-away)
        self._upright = definition.posture in ("standing", "seated", "any")
        self._wrong_view = Dwell(_VIEW_DWELL_S)

    @property
    def view_dwell_running(self) -> bool:
        """The wrong-view dwell timer is running (the last frame checked had a wrong view)."""
        return self._wrong_view.since is not None

    def required(self, frame: PoseFrame) -> list[Landmark]:
        """Landmarks that must be seen; side-on, only those of the side facing the camera."""
        lms: list[Landmark] = []
        for name in self.definition.required:
            lms.extend(group_landmarks(name))
        if self.definition.view == "front" or (self.definition.view == "any"
                                               and not self._primary.near_side):
            lms.extend(self._primary.landmarks(self._primary_side))
            return list(dict.fromkeys(lms))
        near = near_side(frame)
        far = other_side(near)
        lms.extend(side_landmark(near, part) for part in self._primary.near_side)
        return [lm for lm in dict.fromkeys(lms) if not lm.name.startswith(far.upper() + "_")]

    def problem(self, frame: PoseFrame, in_rep: bool, counting: bool) -> tuple[str, str] | None:
        """(code, message) when the frame can't be judged, else None.

        ``in_rep``: a repetition is under way (the view is then not judged); ``counting``:
        the tracker has started counting (a wrong view must then last ``_VIEW_DWELL_S``).
        """
        if frame.num_people > 1:
            return ("several_people", "I can see more than one person. Make sure only you "
                    "are in the camera's view")
        w, h = frame.image_size
        if min(w, h) < _MIN_IMAGE_PX:
            return ("too_small", f"The picture is too small to judge ({w}x{h} pixels). Use a "
                    "camera or video of at least 320x240 pixels")
        if frame.is_empty:
            return ("nobody", {
                "front": "I can't see you. Step into the camera's view, facing it",
                "side": "I can't see you. Step into the camera's view, side-on to it",
            }.get(self.definition.view, "I can't see you. Step into the camera's view"))
        missing = frame.missing(self.required(frame), self._visibility)
        if missing:
            # Parts hidden inside the picture by a body turned the wrong way (the far arm
            # behind the trunk side-on to a front-view stretch): the view is what to fix,
            # not the lighting. Parts off the picture's edge keep their own message, and so
            # does a rep under way (a rotation must not be told to face the camera) and a
            # body whose view cannot be judged from what is seen (a dim face, hidden hips).
            if (not in_rep and _off_picture(frame, missing) is None
                    and not frame.missing(_VIEW_LANDMARKS, self._visibility)):
                view = self.view_problem(frame)
                if view is not None:
                    self._wrong_view.update(True, frame.timestamp_s)
                    return view
            return ("not_visible", visibility_message(frame, missing))
        if body_size_px(frame) < _MIN_BODY_PX:
            return ("too_small", "You look very small in the picture. Come closer to the "
                    "camera so I can see your position")
        if self._upright and trunk_upside_down(frame, self._visibility):
            return ("upside_down", "I can't see you the right way up. Step back so your "
                    "head, shoulders and hips are in the picture")
        # The view is judged between reps only: a rotation or a lean must not stop a rep.
        # Once counting, a wrong view must last _VIEW_DWELL_S (no flapping between reps).
        view = None if in_rep else self.view_problem(frame)
        if not self._wrong_view.update(view is not None, frame.timestamp_s) and counting:
            return None
        return view

    def measure_problem(self, raw: float) -> tuple[str, str] | None:
        """(code, message) when the primary measure could not be computed (``raw`` not
        finite) on a frame that passed :meth:`problem`, else None."""
        if math.isfinite(raw):
            return None
        if getattr(self._primary, "needs_face", False):
            return ("no_face", "Turn your face toward the camera so I can see it")
        needs = getattr(self._primary, "needs", None)
        if needs:
            return ("not_measurable", needs[1])
        return ("not_measurable", "Hold still for a moment so I can see your position")

    def view_problem(self, frame: PoseFrame) -> tuple[str, str] | None:
        """Wrong camera view: facing away, or turned further than the definition allows."""
        if self.definition.view == "any":
            return None
        yaw = body_yaw(frame)
        tolerance = self.definition.camera.view_tolerance_deg
        if self.definition.view == "front":
            if facing_away(frame):
                return ("back_view", "Turn around to face the camera for this stretch")
            if math.isfinite(yaw):
                bad = abs(yaw) > tolerance
            else:
                bad = get_measure("view_ratio")(frame) < _FRONT_MIN_RATIO
            return ("wrong_view", "Turn to face the camera for this stretch") if bad else None
        if math.isfinite(yaw):
            bad = abs(yaw) < 90.0 - tolerance
        else:
            bad = get_measure("view_ratio")(frame) > _SIDE_MAX_RATIO
        return ("wrong_view", "Turn sideways to the camera for this stretch") if bad else None


def visibility_message(frame: PoseFrame, missing: list[Landmark]) -> str:
    """What to do so the ``missing`` landmarks are seen: step back, tilt the camera, move to
    the middle of the picture or check the lighting, naming the body parts."""
    sides: dict[str, int] = {}
    for m in missing:
        name = m.pretty.replace("left ", "").replace("right ", "")
        sides[name] = sides.get(name, 0) + 1
    # "wrist" for one, "wrists" for both sides' (a plural of a plural stays as it is)
    names = sorted(n + "s" if k > 1 and not n.endswith("s") else n for n, k in sides.items())
    part = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    are = "is" if len(missing) == 1 else "are"
    where = _off_picture(frame, missing)
    if where == "below":
        return f"Step back a little so your {part} {are} in view"
    if where == "above":
        return f"Tilt the camera up or step back so your {part} {are} in view"
    if where == "side":
        return f"Move toward the middle of the picture so your {part} {are} in view"
    them = "it" if len(missing) == 1 else "them"
    return f"I can't see your {part} clearly. Check the lighting and that nothing blocks {them}"


def _off_picture(frame: PoseFrame, missing: list[Landmark]) -> str | None:
    """Where the ``missing`` landmarks leave the picture ("below", "above", "side"), or None
    when they are placed inside it (hidden, badly lit or turned away)."""
    w, h = frame.image_size
    pts = [frame.point(m) for m in missing if all(math.isfinite(v) for v in frame.point(m))]
    if not pts:
        return None
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    if max(ys) > h * 0.98:
        return "below"
    if min(ys) < h * 0.02:
        return "above"
    if min(xs) < w * 0.02 or max(xs) > w * 0.98:
        return "side"
    return None


def setup_text(code: str) -> str:
    """A setup problem's code as a clause for a sentence ("nobody was in view")."""
    return {
        "nobody": "nobody was in view",
        "several_people": "more than one person was in view",
        "not_visible": "the body parts this stretch needs were not in view",
        "wrong_view": "the camera view was wrong for this stretch",
        "back_view": "you were facing away from the camera",
        "too_small": "the person was too small in the picture",
        "upside_down": "the body was seen upside down (a close-up or a cut-away)",
        "no_face": "your face was not found (turn toward the camera)",
        "not_measurable": "the position could not be measured",
    }.get(code, code)
