"""Pinhole camera shared by the renderer and the ground-truth projection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Camera", "front_camera", "side_camera"]

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking from ``eye`` at ``target`` (world metres, y up).

    Pixel coordinates are continuous with (0, 0) at the top-left corner of the
    image and y growing downward, as MediaPipe's normalised coordinates times
    the image size.
    """

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    focal: float = 520.0
    width: int = WIDTH
    height: int = HEIGHT
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def cy(self) -> float:
        return self.height / 2.0

    def rotation(self) -> np.ndarray:
        """(3, 3) world -> camera rotation, OpenCV axes (x right, y down, z forward)."""
        f = np.asarray(self.target, float) - np.asarray(self.eye, float)
        f /= np.linalg.norm(f)
        r = np.cross(f, np.asarray(self.up, float))
        r /= np.linalg.norm(r)
        d = np.cross(f, r)
        return np.stack([r, d, f])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 3) camera-frame points (OpenCV axes)."""
        return (np.asarray(points, float) - np.asarray(self.eye, float)) @ self.rotation().T

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) pixels (x right, y down)."""
        c = self.to_camera(np.atleast_2d(points))
        z = c[:, 2:3]
        return np.column_stack(
            [self.cx + self.focal * c[:, 0] / z[:, 0], self.cy + self.focal * c[:, 1] / z[:, 0]]
        )

    def pose_matrix_gl(self) -> np.ndarray:
        """(4, 4) camera-to-world matrix in OpenGL axes (x right, y up, z back)."""
        r = self.rotation()
        m = np.eye(4)
        m[:3, 0] = r[0]
        m[:3, 1] = -r[1]
        m[:3, 2] = -r[2]
        m[:3, 3] = self.eye
        return m


def front_camera(distance: float = 2.4, height: float = 0.72, aim: float = 0.22,
                 x: float = 0.0, focal: float = 520.0) -> Camera:
    """Camera in front of the person (who faces +z), at eye level, aimed down at ``aim``.

    The defaults frame the whole body from above raised hands to the feet with
    the person about 75% of the image height.
    """
    return Camera(eye=(x, height, distance), target=(x, aim, 0.0), focal=focal)


def side_camera(distance: float = 2.4, height: float = 0.72, aim: float = 0.22,
                focal: float = 520.0, z: float = 0.05) -> Camera:
    """Camera at the person's left side (+x), at eye level, aimed down at ``aim``; ``z``
    moves it along the person's front-back axis (on all fours the body is long)."""
    return Camera(eye=(distance, height, z), target=(0.0, aim, z), focal=focal)
