"""Model downloads against a local HTTP server on 127.0.0.1 started here: resume after an
interrupted transfer, checksum mismatch (nothing kept), unsafe archives (refused), the cache."""

import dataclasses
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from mocap.errors import InputFileError, SettingsError
from mocap.models import (
    DownloadError, ModelEntry, UnsafeArchiveError, import_model, installed, pull, resolve,
)
from mocap.models.registry import REGISTRY, cache_dir
from mocap.pose2d.testmodels import blob_simcc_model


class _Server:
    """Serves ``files`` (name -> bytes) with Range support. ``cut[name] = n`` makes the next plain
    request for ``name`` announce the full length but send only n bytes and hang up."""

    def __init__(self):
        self.files, self.cut, self.ranges = {}, {}, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                if name not in outer.files:
                    self.send_error(404)
                    return
                data = outer.files[name]
                rng = self.headers.get("Range")
                outer.ranges.append(rng)
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    body = data[start:]
                else:
                    self.send_response(200)
                    body = data
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                n = outer.cut.pop(name, None)
                self.wfile.write(body if n is None else body[:n])
                if n is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.httpd.shutdown()


@pytest.fixture(scope="module")
def onnx_bytes(tmp_path_factory):
    p = blob_simcc_model(tmp_path_factory.mktemp("m") / "tiny.onnx", input_size=(32, 48))
    return p.read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _entry(server, file, data, sha=True, **kw):
    return {"m": ModelEntry("m", "pose", f"{server.url}/{file}", (32, 48), "MIT",
                            sha256=hashlib.sha256(data).hexdigest() if sha is True else sha, **kw)}


def test_pull_zip_with_resume(server, onnx_bytes, tmp_path):
    data = _zip({"rtmw-x/end2end.onnx": onnx_bytes, "rtmw-x/detail.json": b"{}"})
    server.files["model.zip"] = data
    server.cut["model.zip"] = len(data) // 3
    registry = _entry(server, "model.zip", data)
    with pytest.raises(DownloadError, match="interrupted .* run the same command again to resume"):
        pull("m", cache=tmp_path, registry=registry, progress=False)
    part = tmp_path / ".downloads" / "model.zip.part"
    assert part.stat().st_size == len(data) // 3
    model, sha = pull("m", cache=tmp_path, registry=registry, progress=False)
    assert server.ranges == [None, f"bytes={len(data) // 3}-"]  # the second try asked for the rest only
    assert sha == hashlib.sha256(data).hexdigest()
    assert model.onnx_path == tmp_path / "m" / "rtmw-x" / "end2end.onnx"
    assert model.onnx_path.read_bytes() == onnx_bytes
    assert not part.exists() and not (tmp_path / ".downloads" / "model.zip").exists()
    again = installed("m", tmp_path)
    assert again.onnx_path == model.onnx_path and again.entry.input_size == (32, 48)
    assert resolve("m", tmp_path).onnx_path == model.onnx_path


def test_checksum_mismatch_keeps_nothing(server, onnx_bytes, tmp_path):
    server.files["m.onnx"] = onnx_bytes
    with pytest.raises(DownloadError, match="checksum mismatch: expected sha256 0+, got") as e:
        pull("m", cache=tmp_path, registry=_entry(server, "m.onnx", onnx_bytes, sha="0" * 64), progress=False)
    assert "127.0.0.1" in str(e.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert installed("m", tmp_path) is None


@pytest.mark.parametrize("member", ["../evil.onnx", "/tmp/evil_abs.onnx", "ok/../../evil.onnx"])
def test_zip_escaping_the_cache_is_refused(server, onnx_bytes, tmp_path, member):
    data = _zip({"good.onnx": onnx_bytes, member: onnx_bytes})
    server.files["bad.zip"] = data
    with pytest.raises(UnsafeArchiveError, match="outside the model folder; refused"):
        pull("m", cache=tmp_path / "cache", registry=_entry(server, "bad.zip", data), progress=False)
    assert [p.name for p in tmp_path.rglob("*.onnx")] == []
    assert not (tmp_path / "cache" / "m").exists()


def test_tar_with_symlink_is_refused(server, onnx_bytes, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("m.onnx")
        info.size = len(onnx_bytes)
        tf.addfile(info, io.BytesIO(onnx_bytes))
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tf.addfile(link)
    data = buf.getvalue()
    server.files["bad.tar.gz"] = data
    with pytest.raises(UnsafeArchiveError, match="link or special file"):
        pull("m", cache=tmp_path, registry=_entry(server, "bad.tar.gz", data), progress=False)
    assert not (tmp_path / "m").exists()


def test_download_that_is_not_onnx_is_refused(server, tmp_path):
    data = _zip({"model.onnx": b"garbage, not protobuf"})
    server.files["g.zip"] = data
    with pytest.raises(InputFileError, match="not a loadable ONNX model"):
        pull("m", cache=tmp_path, registry=_entry(server, "g.zip", data), progress=False)
    assert not (tmp_path / "m").exists()


def test_http_error_and_unknown_names(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        pull("m", cache=tmp_path, registry=_entry(server, "missing.onnx", b""), progress=False)
    with pytest.raises(SettingsError, match="unknown model 'nope'"):
        pull("nope", cache=tmp_path)
    local = {"x": ModelEntry("x", "detector", None, (320, 320), "Apache-2.0", layout="")}
    with pytest.raises(DownloadError, match="no download URL"):
        pull("x", cache=tmp_path, registry=local)


def test_import_and_cache_env(tmp_path, monkeypatch, onnx_bytes):
    monkeypatch.setenv("MOCAP_MODELS_DIR", str(tmp_path / "moved"))
    assert cache_dir() == tmp_path / "moved"
    (tmp_path / "x.onnx").write_bytes(onnx_bytes)
    model = import_model(tmp_path / "x.onnx", "mine")
    assert model.onnx_path == tmp_path / "moved" / "mine" / "x.onnx"
    assert resolve("mine").onnx_path == model.onnx_path
    (tmp_path / "bad.onnx").write_text("no")
    with pytest.raises(InputFileError, match="not a loadable ONNX model"):
        import_model(tmp_path / "bad.onnx", "bad")
    with pytest.raises(InputFileError, match="not in the cache; run `mocap models pull rtmw-l`"):
        resolve("rtmw-l")


def test_registry_entries_are_complete():
    for e in REGISTRY.values():
        assert e.kind in ("pose", "detector") and e.licence and len(e.input_size) == 2
        assert e.url is None or e.url.startswith("https://")
        if e.kind == "pose":
            assert e.layout == "coco_wholebody_133" and e.mean and e.std


def test_the_default_detector_is_pullable_from_openmmlab():
    e = REGISTRY["rtmdet-nano-person"]
    assert e.url == ("https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/"
                     "rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.zip")
    assert e.kind == "detector" and e.onnx_file == "end2end.onnx" and e.input_size == (320, 320)
    assert e.licence == "Apache-2.0" and not e.to_rgb and e.mean == (103.53, 116.28, 123.675)
    assert all(entry.url for entry in REGISTRY.values())  # every registry model can be pulled


def test_pulled_detector_is_what_the_offline_backend_uses(server, tmp_path, monkeypatch, shared_detector, caplog):
    """The mmdeploy SDK zip (a folder with end2end.onnx, pipeline.json, ...) served locally under
    the registry entry's file name: once pulled, the mediapipe backend finds several people by
    default; before, it says it runs single-person."""
    pytest.importorskip("mediapipe")
    import logging

    from mocap.pose2d import make_backend

    folder = shared_detector.parent
    data = _zip({f"rtmdet_nano/{p.name}": p.read_bytes() for p in folder.iterdir() if p.is_file()})
    name = REGISTRY["rtmdet-nano-person"].url.rsplit("/", 1)[1]
    server.files[name] = data
    monkeypatch.setenv("MOCAP_MODELS_DIR", str(tmp_path / "cache"))
    with caplog.at_level(logging.WARNING, logger="mocap.pose2d"):
        single = make_backend("mediapipe")
    assert single.detector is None and "runs single-person" in caplog.text
    assert "one person per camera" in single.describe()
    single.close()
    local = {"rtmdet-nano-person": dataclasses.replace(REGISTRY["rtmdet-nano-person"], url=f"{server.url}/{name}")}
    model, _ = pull("rtmdet-nano-person", registry=local, progress=False)
    assert model.onnx_path.name == "end2end.onnx"
    several = make_backend("mediapipe")
    assert several.detector is not None and "person crops" in several.describe()
    several.close()
    assert make_backend("mediapipe", detector="none").detector is None
