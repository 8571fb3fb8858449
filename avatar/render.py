"""Offscreen rendering of posed bodies with pyrender (EGL), shaded per vertex.

pyrender's lit mode gives a near-black figure with Mesa's software OpenGL, so
the vertices are shaded here (Lambert from two lights fixed to the camera, plus
a little ambient and highlight) and drawn with the FLAT flag.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .body import Body
from .camera import Camera

__all__ = ["Appearance", "Lighting", "Renderer", "base_colours", "shade", "vertex_normals"]

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


@dataclass(frozen=True)
class Appearance:
    """Colours (RGB 0-1) of one avatar."""

    skin: tuple[float, float, float] = (0.87, 0.67, 0.55)
    shirt: tuple[float, float, float] = (0.16, 0.42, 0.62)
    trousers: tuple[float, float, float] = (0.22, 0.22, 0.26)
    shoes: tuple[float, float, float] = (0.12, 0.1, 0.1)
    hair: tuple[float, float, float] = (0.2, 0.13, 0.08)
    lips: tuple[float, float, float] = (0.72, 0.42, 0.4)
    brows: tuple[float, float, float] = (0.3, 0.2, 0.13)
    iris: tuple[float, float, float] = (0.25, 0.17, 0.1)
    sclera: tuple[float, float, float] = (0.93, 0.93, 0.9)
    #: "short" (t-shirt) or "long" sleeves.
    sleeves: str = "short"


@dataclass(frozen=True)
class Lighting:
    """Two lights fixed to the camera plus ambient (the defaults are the samples').

    Attributes:
        key: key light direction in camera axes (right, up, back), any length.
        fill: fill light direction in camera axes.
        ambient, key_gain, fill_gain: intensities (0-1 scale of the vertex colour).
        specular: highlight strength.
    """

    key: tuple[float, float, float] = (-0.45, 0.55, 0.7)
    fill: tuple[float, float, float] = (0.6, 0.1, 0.8)
    ambient: float = 0.36
    key_gain: float = 0.55
    fill_gain: float = 0.22
    specular: float = 0.08


BACKGROUND = (0.93, 0.92, 0.89)

_SHIRT_BONES = ("spine", "clavicle", "breast", "shoulder01", "root")
_TROUSER_BONES = ("pelvis", "upperleg", "lowerleg")
_SHOE_BONES = ("foot", "toe")


def base_colours(body: Body, look: Appearance) -> np.ndarray:
    """(N, 3) unshaded vertex colours: clothes by dominant bone, skin, hair, face."""
    v = body.vertices
    n = len(v)
    dom = np.array([body.bone_names[i] for i in body.dominant_bone()])
    col = np.tile(np.asarray(look.skin, float), (n, 1))

    def is_(prefixes: tuple[str, ...]) -> np.ndarray:
        return np.array([any(d.startswith(p) for p in prefixes) for d in dom])

    shirt = is_(_SHIRT_BONES)
    sleeves = ("upperarm01",) if look.sleeves == "short" else ("upperarm", "lowerarm")
    shirt |= is_(sleeves)
    col[shirt] = look.shirt
    col[is_(_TROUSER_BONES)] = look.trousers
    col[is_(_SHOE_BONES)] = look.shoes

    h = body.heads
    eye_l, eye_r = h[body.bone("eye.L")], h[body.bone("eye.R")]
    eye_y = (eye_l[1] + eye_r[1]) / 2
    head_bones = is_(("head", "jaw", "special", "oris", "levator", "risorius", "oculi",
                      "orbicularis", "temporalis", "tongue", "eye"))
    on_body = np.zeros(n, bool)
    on_body[body.vertex_groups["body"]] = True
    head = head_bones & on_body
    # Short hair: the scalp above the brow line, rising toward the front.
    fz = v[:, 2] - eye_l[2]  # forward of the eyes is positive
    hair_line = eye_y + 0.045 + np.clip(fz + 0.03, 0, None) * 0.9
    hair = head & (v[:, 1] > hair_line) | head & (v[:, 2] < eye_l[2] - 0.085) & (
        v[:, 1] > eye_y - 0.03
    )
    col[hair] = look.hair
    # Eyebrows: a band above each eye on the front of the face.
    for e in (eye_l, eye_r):
        brow = (
            head
            & (np.abs(v[:, 0] - e[0] * 1.05) < 0.022)
            & (v[:, 1] > e[1] + 0.014)
            & (v[:, 1] < e[1] + 0.024)
            & (v[:, 2] > e[2] - 0.01)
        )
        col[brow] = look.brows
    # Lips.
    mouth_y = eye_y - 0.068
    lips = head & (np.abs(v[:, 0]) < 0.024) & (np.abs(v[:, 1] - mouth_y) < 0.008) & (
        v[:, 2] > eye_l[2] - 0.005
    )
    col[lips] = look.lips
    # Eyeballs: sclera with a dark iris facing forward.
    for g in ("helper-l-eye", "helper-r-eye"):
        idx = body.vertex_groups[g]
        centre = v[idx].mean(axis=0)
        d = v[idx] - centre
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        col[idx] = look.sclera
        col[idx[d[:, 2] > 0.82]] = look.iris
        col[idx[d[:, 2] > 0.95]] = (0.05, 0.04, 0.04)
    return col


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) area-weighted unit vertex normals."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.zeros_like(vertices)
    for k in range(3):
        for c in range(3):
            n[:, c] += np.bincount(faces[:, k], weights=fn[:, c], minlength=len(vertices))
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return n / np.where(norm > 0, norm, 1.0)


def shade(colours: np.ndarray, normals: np.ndarray, vertices: np.ndarray,
          camera: Camera, lighting: Lighting | None = None) -> np.ndarray:
    """(N, 3) shaded colours (0-1): two lights fixed to the camera, soft ambient."""
    lt = lighting or Lighting()
    r = camera.rotation()  # rows: right, down, forward (world)
    right, up, back = r[0], -r[1], -r[2]
    key = right * lt.key[0] + up * lt.key[1] + back * lt.key[2]
    fill = right * lt.fill[0] + up * lt.fill[1] + back * lt.fill[2]
    key /= np.linalg.norm(key)
    fill /= np.linalg.norm(fill)
    nk = np.clip(normals @ key, 0, None)
    nf = np.clip(normals @ fill, 0, None)
    view = np.asarray(camera.eye, float) - vertices
    view /= np.linalg.norm(view, axis=1, keepdims=True)
    half = key + view
    half /= np.linalg.norm(half, axis=1, keepdims=True)
    spec = np.clip(np.einsum("ij,ij->i", normals, half), 0, None) ** 24 * lt.specular
    light = lt.ambient + lt.key_gain * nk + lt.fill_gain * nf
    return np.clip(colours * light[:, None] + spec[:, None], 0, 1)


class Renderer:
    """Offscreen pyrender renderer for one image size.

    Args:
        width, height: image size in pixels.
        background: RGB 0-1.
    """

    def __init__(self, width: int = 640, height: int = 480,
                 background: tuple[float, float, float] = BACKGROUND) -> None:
        import pyrender  # optional extra "avatar"

        self._pr = pyrender
        self.width, self.height = width, height
        self._offscreen = pyrender.OffscreenRenderer(width, height)
        self._scene = pyrender.Scene(bg_color=(*background, 1.0), ambient_light=(1, 1, 1))
        self._mesh_nodes: list = []
        self._cam_node = None

    def render(self, meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
               camera: Camera) -> np.ndarray:
        """Render meshes seen by ``camera``.

        Args:
            meshes: (vertices (N, 3), faces (F, 3), colours (N, 3) 0-1) per mesh.
            camera: the camera (its focal length and image size are used).

        Returns:
            (H, W, 3) uint8 RGB image.
        """
        pr = self._pr
        for node in self._mesh_nodes:
            self._scene.remove_node(node)
        self._mesh_nodes = []
        for verts, faces, cols in meshes:
            rgba = np.concatenate([cols, np.ones((len(cols), 1))], axis=1).astype(np.float32)
            prim = pr.Primitive(
                positions=verts.astype(np.float32),
                indices=faces.astype(np.uint32),
                color_0=rgba,
                mode=pr.constants.GLTF.TRIANGLES,
            )  # no explicit material: with one, FLAT mode draws black here
            self._mesh_nodes.append(self._scene.add(pr.Mesh([prim])))
        if self._cam_node is not None:
            self._scene.remove_node(self._cam_node)
        cam = pr.IntrinsicsCamera(camera.focal, camera.focal, camera.cx, camera.cy,
                                  znear=0.05, zfar=50.0)
        self._cam_node = self._scene.add(cam, pose=camera.pose_matrix_gl())
        color, _ = self._offscreen.render(self._scene, flags=pr.RenderFlags.FLAT)
        return np.ascontiguousarray(color[:, :, :3])

    def close(self) -> None:
        """Release the OpenGL context."""
        self._offscreen.delete()
