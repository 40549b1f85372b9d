"""Execution providers: the order asked for, the provider actually used, the loud CPU fallback."""

import logging
import warnings

import onnxruntime as ort
import pytest

from mocap.errors import SettingsError
from mocap.pose2d.providers import CPU, CUDA, TRT, GPUFallbackWarning, create_session, provider_list
from mocap.pose2d.testmodels import blob_simcc_model

HAS_GPU = CUDA in ort.get_available_providers()


def test_provider_order_and_fp16_options():
    everything = [TRT, CUDA, CPU]
    got = provider_list("auto", fp16=True, available=everything, cache_dir="/tmp/x")
    assert got[0][0] == TRT and got[0][1]["trt_fp16_enable"] is True
    assert got[0][1]["trt_engine_cache_path"] == "/tmp/x"
    assert got[1:] == [CUDA, CPU]
    assert provider_list("cuda", available=everything) == [CUDA, CPU]
    assert provider_list("cpu", available=everything) == [CPU]
    assert provider_list("auto", available=[CPU]) == [CPU]          # only what this build offers
    assert provider_list("tensorrt", available=[CUDA, CPU]) == [CUDA, CPU]
    with pytest.raises(SettingsError, match="unknown device 'gpu0'"):
        provider_list("gpu0")


@pytest.mark.skipif(HAS_GPU, reason="this ONNX Runtime has a GPU provider: no fallback to show")
def test_gpu_request_on_cpu_only_build_warns_loudly(tmp_path, caplog):
    model = blob_simcc_model(tmp_path / "m.onnx", input_size=(32, 32), n_keypoints=4)
    with caplog.at_level(logging.WARNING, logger="mocap.pose2d"):
        with pytest.warns(GPUFallbackWarning, match="GPU requested .* runs on the CPU"):
            session, used = create_session(model, device="cuda")
    assert used == "cpu" and session.get_providers() == [CPU]
    assert any("runs on the CPU" in r.message for r in caplog.records)
    # auto on a CPU-only build is no surprise: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", GPUFallbackWarning)
        _, used = create_session(model, device="auto")
    assert used == "cpu"


@pytest.mark.skipif(not HAS_GPU, reason="needs onnxruntime-gpu and a GPU")
def test_gpu_is_used_when_present(tmp_path):
    model = blob_simcc_model(tmp_path / "m.onnx", input_size=(32, 32), n_keypoints=4)
    _, used = create_session(model, device="cuda")
    assert used == "cuda"
