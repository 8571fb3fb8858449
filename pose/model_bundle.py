"""The bytes of a PoseLandmarker ``.task`` bundle and writing files safely.

Adding the TFLite model metadata the Tasks API needs (flatbuffers written with
the schema modules mediapipe ships), and writing files atomically: the aligned,
reproducible stored zip of the bundle, plain bytes, and a file's SHA-256.
mediapipe, flatbuffers and numpy are imported only while building.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from pose.model_common import MODEL_ENV_VAR, ModelUnavailableError
from pose.model_wheel import _ModelSource

__all__ = ["write_bytes_atomic"]

# Byte alignment of every model buffer and of every zip member's data, so that
# TFLite/MediaPipe can use the weights in place instead of copying them.
_ALIGNMENT = 64
_ZIP_ALIGN_EXTRA_ID = 0xD935  # the "zipalign" extra field id used by Android tools
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so builds are byte-for-byte reproducible
_TFLITE_IDENTIFIER = b"TFL3"
_METADATA_IDENTIFIER = b"M001"
_METADATA_NAME = "TFLITE_METADATA"
_HASH_CHUNK = 1 << 20


# --------------------------------------------------------------------------- metadata


def _schema_modules() -> tuple[Any, Any]:
    """Import the TFLite model and metadata flatbuffer schemas shipped by mediapipe."""
    try:
        schema = importlib.import_module("mediapipe.tasks.metadata.schema_py_generated")
        metadata = importlib.import_module("mediapipe.tasks.metadata.metadata_schema_py_generated")
    except ImportError as exc:
        raise ModelUnavailableError(
            f"cannot build the pose model: mediapipe's flatbuffer schema modules do not "
            f"import ({exc}); reinstall the project's pinned mediapipe and flatbuffers, or "
            f"pass --model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        ) from exc
    return schema, metadata


def _metadata_bytes(spec: _ModelSource, metadata: Any) -> bytes:
    """Pack a ``ModelMetadata`` flatbuffer describing ``spec``'s input and outputs."""
    import flatbuffers  # a mediapipe dependency; imported here to keep module import light

    normalization = metadata.NormalizationOptionsT()
    normalization.mean = [spec.mean]
    normalization.std = [spec.std]
    process_unit = metadata.ProcessUnitT()
    process_unit.optionsType = metadata.ProcessUnitOptions.NormalizationOptions
    process_unit.options = normalization

    image_properties = metadata.ImagePropertiesT()
    image_properties.colorSpace = metadata.ColorSpaceType.RGB
    content = metadata.ContentT()
    content.contentPropertiesType = metadata.ContentProperties.ImageProperties
    content.contentProperties = image_properties
    stats = metadata.StatsT()
    stats.min = [spec.value_range[0]]
    stats.max = [spec.value_range[1]]

    image = metadata.TensorMetadataT()
    image.name = "image"
    image.description = "RGB image, normalised as (pixel - mean) / std"
    image.content = content
    image.processUnits = [process_unit]
    image.stats = stats

    outputs = []
    for name in spec.output_names:
        tensor = metadata.TensorMetadataT()
        tensor.name = name
        outputs.append(tensor)

    subgraph = metadata.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [image]
    subgraph.outputTensorMetadata = outputs

    model = metadata.ModelMetadataT()
    model.name = spec.title
    model.description = spec.description
    model.author = "Google (MediaPipe); metadata added by Stretch Coach"
    model.license = "Apache-2.0"
    model.subgraphMetadata = [subgraph]
    model.minParserVersion = "1.0.0"

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=_METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _add_metadata(model_bytes: bytes, spec: _ModelSource) -> bytes:
    """Return ``model_bytes`` re-packed with our ``TFLITE_METADATA`` and aligned buffers.

    An existing ``TFLITE_METADATA`` entry (the wheel's detector carries one
    copied from a face detector) is replaced, so both models get the same,
    documented metadata.
    """
    import flatbuffers
    import numpy as np

    schema, metadata = _schema_modules()
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    if len(model.subgraphs or []) != 1:
        raise ModelUnavailableError(
            f"cannot build the pose model: {spec.wheel_path} has "
            f"{len(model.subgraphs or [])} subgraphs, expected 1; pass --model PATH to a "
            f"pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        )
    if len(model.subgraphs[0].outputs) != len(spec.output_names):
        raise ModelUnavailableError(
            f"cannot build the pose model: {spec.wheel_path} has "
            f"{len(model.subgraphs[0].outputs)} outputs, expected {len(spec.output_names)}; "
            f"pass --model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
        )
    payload = np.frombuffer(_metadata_bytes(spec, metadata), dtype=np.uint8)

    entries = [entry for entry in (model.metadata or []) if entry.name == _METADATA_NAME.encode()]
    if entries:
        model.buffers[entries[0].buffer].data = payload
    else:
        buffer = schema.BufferT()
        buffer.data = payload
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = _METADATA_NAME
        entry.buffer = len(model.buffers) - 1
        model.metadata = [*(model.metadata or []), entry]

    base = schema.BufferT

    class _AlignedBuffer(base):  # type: ignore[misc, valid-type]
        """``BufferT`` whose data vector starts on an ``_ALIGNMENT`` boundary."""

        def Pack(self, builder: Any) -> int:  # noqa: N802 (flatbuffers' name)
            if self.data is not None and len(self.data) and (self.offset or self.size):
                raise ModelUnavailableError(
                    f"cannot build the pose model: {spec.wheel_path} uses external buffers; "
                    f"pass --model PATH to a pose_landmarker_*.task file (env {MODEL_ENV_VAR})"
                )
            if self.data is not None and len(self.data):
                # Builders write back to front: padding so that the data ends on an
                # aligned offset makes it start on one in the finished buffer,
                # whose total size Finish() rounds up to the largest alignment.
                builder.Prep(_ALIGNMENT, len(self.data))
            return super().Pack(builder)

    for index, buffer in enumerate(model.buffers):
        aligned = _AlignedBuffer()
        aligned.data = np.asarray(buffer.data, dtype=np.uint8) if buffer.data is not None else None
        aligned.offset = buffer.offset
        aligned.size = buffer.size
        model.buffers[index] = aligned

    builder = flatbuffers.Builder(len(model_bytes) + (1 << 16))
    builder.Finish(model.Pack(builder), file_identifier=_TFLITE_IDENTIFIER)
    return bytes(builder.Output())


# --------------------------------------------------------------------------- files


def _write_zip_atomic(dest: Path, members: list[tuple[str, bytes]]) -> None:
    """Write a stored zip whose member data start on ``_ALIGNMENT`` boundaries."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                info.create_system = 3  # unix, so the mode bits mean what they say
                # Local header = 30 bytes + name + extra; pad the extra field so
                # the member data that follows starts on an aligned offset.
                header_end = raw.tell() + 30 + len(name.encode()) + 6
                pad = -header_end % _ALIGNMENT
                info.extra = struct.pack("<HHH", _ZIP_ALIGN_EXTRA_ID, 2 + pad, _ALIGNMENT)
                info.extra += b"\0" * pad
                zf.writestr(info, data)
            zf.comment = b""
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file in the same folder and a rename."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
