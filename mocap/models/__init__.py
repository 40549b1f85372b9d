"""The ONNX model registry, downloads and the local model cache (``mocap models``)."""

from mocap.models.download import (  # noqa: F401
    DownloadError, UnsafeArchiveError, download, import_model, pull, safe_extract,
)
from mocap.models.registry import (  # noqa: F401
    REGISTRY, InstalledModel, ModelEntry, cache_dir, get_entry, installed, resolve,
)
