"""Seeing a body: pose model, MediaPipe wrapper, PoseFrame, geometry, video I/O, overlay.

This package is the only one that imports mediapipe. Submodules are imported
explicitly (``from pose.frame import PoseFrame``) so that light modules such as
``pose.frame`` and ``pose.geometry`` never pull in mediapipe or OpenCV.
"""
