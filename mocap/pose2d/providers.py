"""ONNX Runtime sessions on the best execution provider, saying which one actually runs.

``device="auto"`` asks for TensorRT, then CUDA, then CPU, taking those this ONNX Runtime build
offers. ``"cuda"`` / ``"tensorrt"`` ask for that GPU provider (and the ones after it). ONNX Runtime
silently falls back to CPU when a GPU provider fails to load (no driver, wrong CUDA), so the
provider is read back from the session: when a GPU was asked for and the CPU is what runs, a
:class:`GPUFallbackWarning` is raised through ``warnings`` and logged at WARNING level. fp16:
TensorRT builds fp16 engines itself (``trt_fp16_enable``); CUDA and CPU run the model as stored.

CPU threads: ONNX Runtime's own default (every core) unless ``threads`` is given, or the
environment variable ``MOCAP_ONNX_THREADS`` (set by ``mocap batch`` in its workers, so that
several processes on one machine do not each spin a pool as wide as the machine).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from mocap.errors import InputFileError, SettingsError

log = logging.getLogger("mocap.pose2d")

TRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
_ORDER = {"auto": [TRT, CUDA, CPU], "tensorrt": [TRT, CUDA, CPU], "cuda": [CUDA, CPU], "cpu": [CPU]}
SHORT = {TRT: "tensorrt", CUDA: "cuda", CPU: "cpu"}
THREADS_VARIABLE = "MOCAP_ONNX_THREADS"  # CPU threads per ONNX Runtime session (module docstring)


class GPUFallbackWarning(UserWarning):
    """A GPU was asked for but ONNX Runtime runs the model on the CPU."""


def provider_list(device: str, fp16: bool = False, cache_dir: str | os.PathLike | None = None,
                  available: list[str] | None = None) -> list:
    """The providers (with options) to ask ONNX Runtime for, best first."""
    import onnxruntime as ort

    if device not in _ORDER:
        raise SettingsError(f"unknown device {device!r}; choose one of {', '.join(_ORDER)}")
    available = ort.get_available_providers() if available is None else available
    chosen = [p for p in _ORDER[device] if p in available or p == CPU]
    out = []
    for p in chosen:
        if p == TRT:
            opts = {"trt_fp16_enable": bool(fp16), "trt_engine_cache_enable": True}
            if cache_dir:
                opts["trt_engine_cache_path"] = str(cache_dir)
            out.append((p, opts))
        else:
            out.append(p)
    return out


def create_session(model_path: str | os.PathLike, device: str = "auto", fp16: bool = False,
                   threads: int = 0):
    """An ``onnxruntime.InferenceSession`` for ``model_path`` on the best provider for ``device``.

    Returns ``(session, provider)`` where ``provider`` is the short name of what actually runs
    ("tensorrt", "cuda" or "cpu"). Raises :class:`InputFileError` when the file is missing or
    not an ONNX model.
    """
    import onnxruntime as ort

    path = Path(model_path)
    if not path.is_file():
        raise InputFileError("model file not found", path)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = threads or int(os.environ.get(THREADS_VARIABLE, "0") or 0)
    if threads:
        opts.intra_op_num_threads = threads
    providers = provider_list(device, fp16, cache_dir=path.parent)
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # ORT raises its own exception types (InvalidGraph, InvalidProtobuf, ...)
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"not a loadable ONNX model ({first})", path) from exc
    used = session.get_providers()[0]
    short = SHORT.get(used, used)
    if device != "cpu" and short == "cpu":
        msg = (f"GPU requested (device={device!r}) but {path.name} runs on the CPU: this ONNX Runtime "
               f"offers {ort.get_available_providers()}; install onnxruntime-gpu (the `gpu` extra) "
               f"with a matching CUDA to use the GPU")
        if device != "auto" or any(p in ort.get_available_providers() for p in (CUDA, TRT)):
            warnings.warn(msg, GPUFallbackWarning, stacklevel=2)
            log.warning(msg)
        else:
            log.info("%s runs on the CPU (no GPU provider in this ONNX Runtime)", path.name)
    else:
        log.info("%s runs on %s", path.name, short)
    return session, short
