"""The model registry: name -> where to download it and how to feed it.

Each :class:`ModelEntry` says where the official file is (``url``), its ``sha256`` when pinned,
the network input size (W, H), normalisation (mean, std, channel order), the keypoint layout,
the licence, and which file of an archive is the ONNX model. Entries whose ``sha256`` is ``None``
have not been pinned yet: ``mocap models pull`` prints the checksum it got, so that it can be added
here, and records it in the cache.

The cache folder is ``$MOCAP_MODELS_DIR`` or ``~/.cache/mocap/models``; model NAME lives in
``<cache>/NAME/`` with a ``model.json`` that records the entry it came from (imported models too).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mocap.errors import InputFileError, SettingsError

RTMPOSE_NORM = {"mean": (123.675, 116.28, 103.53), "std": (58.395, 57.12, 57.375), "to_rgb": True}
_OMM = "https://download.openmmlab.com/mmpose/v1/projects"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str                        # "pose" (top-down SimCC) or "detector"
    url: str | None
    input_size: tuple[int, int]      # network input W, H
    licence: str
    sha256: str | None = None
    layout: str = "coco_wholebody_133"
    mean: tuple[float, float, float] | None = RTMPOSE_NORM["mean"]
    std: tuple[float, float, float] | None = RTMPOSE_NORM["std"]
    to_rgb: bool = True
    onnx_file: str = "*.onnx"        # glob of the ONNX file inside the download
    description: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ModelEntry":
        data = dict(data)
        for k in ("input_size", "mean", "std"):
            if data.get(k) is not None:
                data[k] = tuple(data[k])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


_DET_YOLOX = {"mean": None, "std": None, "to_rgb": False}  # mmdeploy YOLOX: raw 0-255 BGR, pad 114
_DET_RTMDET = {"mean": (103.53, 116.28, 123.675), "std": (57.375, 57.12, 58.395), "to_rgb": False}

REGISTRY: dict[str, ModelEntry] = {e.name: e for e in (
    ModelEntry("rtmw-l-384", "pose", f"{_OMM}/rtmw/onnx_sdk/rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.zip",
               (288, 384), "Apache-2.0", description="RTMW-l (distilled from RTMW-x), 384x288, Cocktail14"),
    ModelEntry("rtmw-l", "pose", f"{_OMM}/rtmw/onnx_sdk/rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122.zip",
               (192, 256), "Apache-2.0", description="RTMW-l (distilled from RTMW-x), 256x192, Cocktail14"),
    ModelEntry("rtmw-m", "pose", f"{_OMM}/rtmw/onnx_sdk/rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122.zip",
               (192, 256), "Apache-2.0", description="RTMW-m (distilled from RTMW-l), 256x192, Cocktail14"),
    ModelEntry("rtmw3d-x", "pose",
               "https://huggingface.co/Soykaf/RTMW3D-x/resolve/main/onnx/rtmw3d-x_8xb64_cocktail14-384x288-b0a0eab7_20240626.onnx",
               (288, 384), "Apache-2.0", description="RTMW3D-x whole-body 2D + root-relative depth (3 SimCC "
               "outputs; mocap lift), 384x288, Cocktail14 + H3WB; ONNX export of the mmpose checkpoint"),
    ModelEntry("dwpose-l-384", "pose", "https://huggingface.co/yzd-v/DWPose/resolve/main/dw-ll_ucoco_384.onnx",
               (288, 384), "Apache-2.0", description="DWPose-l (RTMPose-l distilled), 384x288, UBody-COCO"),
    ModelEntry("dwpose-m", "pose",
               f"{_OMM}/rtmposev1/onnx_sdk/rtmpose-m_simcc-ucoco_dw-ucoco_270e-256x192-c8b76419_20230728.zip",
               (192, 256), "Apache-2.0", description="DWPose-m, 256x192, UBody-COCO"),
    ModelEntry("yolox-m-person", "detector",
               f"{_OMM}/rtmposev1/onnx_sdk/yolox_m_8xb8-300e_humanart-c2c7a14a.zip", (640, 640), "Apache-2.0",
               layout="", description="YOLOX-m person detector (HumanArt), mmdeploy export with NMS", **_DET_YOLOX),
    ModelEntry("yolox-tiny-person", "detector",
               f"{_OMM}/rtmposev1/onnx_sdk/yolox_tiny_8xb8-300e_humanart-6f3252f9.zip", (416, 416), "Apache-2.0",
               layout="", description="YOLOX-tiny person detector (HumanArt), mmdeploy export with NMS",
               **_DET_YOLOX),
    ModelEntry("rtmdet-nano-person", "detector",
               f"{_OMM}/rtmposev1/onnx_sdk/rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.zip", (320, 320),
               "Apache-2.0", layout="", onnx_file="end2end.onnx",
               description="RTMDet-nano person detector (COCO + Objects365 person), mmdeploy export with NMS",
               **_DET_RTMDET),
)}


def cache_dir() -> Path:
    """The model cache folder: ``$MOCAP_MODELS_DIR`` or ``~/.cache/mocap/models``."""
    env = os.environ.get("MOCAP_MODELS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mocap" / "models"


def get_entry(name: str, registry: dict[str, ModelEntry] | None = None) -> ModelEntry:
    registry = REGISTRY if registry is None else registry
    if name not in registry:
        raise SettingsError(f"unknown model {name!r}; known models: {', '.join(sorted(registry))}")
    return registry[name]


@dataclass(frozen=True)
class InstalledModel:
    entry: ModelEntry
    folder: Path
    onnx_path: Path


def installed(name: str, cache: Path | None = None) -> InstalledModel | None:
    """The cached model called ``name`` (pulled or imported), or None."""
    folder = (cache or cache_dir()) / name
    meta = folder / "model.json"
    if not meta.is_file():
        return None
    try:
        data = json.loads(meta.read_text())
        entry = ModelEntry.from_json(data["entry"])
        onnx_path = folder / data["onnx"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputFileError(f"broken model record ({exc}); pull or import the model again", meta) from exc
    if not onnx_path.is_file():
        raise InputFileError("the model record names a missing ONNX file; pull or import it again", onnx_path)
    return InstalledModel(entry, folder, onnx_path)


def mmdeploy_settings(folder: Path) -> dict:
    """Input size and normalisation from an mmdeploy SDK folder's ``pipeline.json`` ({} if none).

    Detectors list ``Resize`` (size) and ``Normalize``; pose models ``TopdownAffine`` (input_size
    W, H) and ``Normalize``. ``to_rgb`` true means the network wants RGB."""
    try:
        tasks = json.loads((Path(folder) / "pipeline.json").read_text())["pipeline"]["tasks"]
        transforms = next(t for t in tasks if t.get("module") == "Transform")["transforms"]
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return {}
    out = {}
    for t in transforms:
        if t.get("type") == "Resize" and "size" in t:
            out["input_size"] = tuple(int(v) for v in t["size"])
        elif t.get("type") == "TopdownAffine" and "input_size" in t:
            out["input_size"] = tuple(int(v) for v in t["input_size"])
        elif t.get("type") == "Normalize":
            out.update(mean=tuple(t["mean"]), std=tuple(t["std"]), to_rgb=bool(t.get("to_rgb", False)))
    return out


def entry_for_file(path: Path, name: str, kind: str, input_size=None, url=None, licence="unknown") -> ModelEntry:
    """An entry for a model file outside the registry: settings from an mmdeploy ``pipeline.json``
    beside it, else RTMDet (detector) or RTMPose (pose) normalisation."""
    base = dict(mean=RTMPOSE_NORM["mean"], std=RTMPOSE_NORM["std"], to_rgb=True) if kind == "pose" else dict(
        mean=(103.53, 116.28, 123.675), std=(57.375, 57.12, 58.395), to_rgb=False)
    size = (0, 0) if kind == "pose" else (640, 640)
    meta = mmdeploy_settings(path if path.is_dir() else path.parent)
    base.update({k: v for k, v in meta.items() if k != "input_size"})
    size = tuple(input_size) if input_size else meta.get("input_size", size)
    return ModelEntry(name, kind, url, size, licence, layout="coco_wholebody_133" if kind == "pose" else "",
                      onnx_file="end2end.onnx" if meta else "*.onnx", description=f"from {path}", **base)


def resolve(name_or_path: str, cache: Path | None = None, kind: str = "pose") -> InstalledModel:
    """A model by cache name, or a path to an ``.onnx`` file or an mmdeploy folder (described by
    :func:`entry_for_file`)."""
    found = installed(name_or_path, cache)
    if found:
        return found
    path = Path(name_or_path)
    if (path.suffix == ".onnx" and path.is_file()) or (path.is_dir() and any(path.glob("*.onnx"))):
        onnx_path = path if path.is_file() else sorted(path.glob("end2end.onnx")) or sorted(path.glob("*.onnx"))
        onnx_path = onnx_path if isinstance(onnx_path, Path) else onnx_path[0]
        return InstalledModel(entry_for_file(path, onnx_path.stem, kind), onnx_path.parent, onnx_path)
    if name_or_path in REGISTRY:
        raise InputFileError(f"model {name_or_path!r} is not in the cache; run `mocap models pull {name_or_path}`"
                             if REGISTRY[name_or_path].url else
                             f"model {name_or_path!r} is not in the cache and has no download; "
                             f"`mocap models import PATH --name {name_or_path}`", cache or cache_dir())
    raise SettingsError(f"unknown model {name_or_path!r}: not in the cache ({cache or cache_dir()}), not an .onnx "
                        f"file; known models: {', '.join(sorted(REGISTRY))}")
