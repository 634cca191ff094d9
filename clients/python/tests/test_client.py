"""The client against a real ``stevedore serve`` (see conftest.py)."""

from __future__ import annotations

import hashlib
import json
import resource
from pathlib import Path

import grpc
import pytest

import stevedore_oci
from stevedore_oci.v1 import image_service_pb2


@pytest.mark.parametrize("suffix, platform, digest_key, platforms", [
    (":v1", None, "manifest", 0),
    (":multi", "linux/amd64", "index", 2),
    (":multi", "linux/arm64/v8", "index", 2),
])
def test_inspect(server, client, suffix, platform, digest_key, platforms):
    info = client.inspect(server.ref(suffix), platform=platform)
    assert isinstance(info, image_service_pb2.InspectResponse)
    assert info.digest == server.fixture[digest_key]["digest"]
    assert info.manifest_digest == server.fixture["manifest"]["digest"]
    assert len(info.platforms) == platforms
    assert [layer.digest for layer in info.layers] == [layer["digest"] for layer in server.fixture["layers"]]
    assert info.config.author == "stevedore fixture"
    assert info.config.entrypoint == ["/bin/app"]


@pytest.mark.parametrize("suffix, key", [(":v1", "manifest"), (":multi", "index")])
def test_get_manifest(server, client, suffix, key):
    m = client.get_manifest(server.ref(suffix))
    want = server.fixture[key]
    assert m.digest == want["digest"]
    assert m.media_type == want["mediaType"]
    assert "sha256:" + hashlib.sha256(m.raw).hexdigest() == want["digest"]
    json.loads(m.raw)


def test_list_tags(server, client):
    assert client.list_tags(server.ref("")) == server.fixture["tags"]


MISSING = "@sha256:" + "0" * 64


@pytest.mark.parametrize("call, exc, code, reason", [
    (lambda c, s: c.inspect(s.ref(":nope")), stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND, "MANIFEST_UNKNOWN"),
    (lambda c, s: c.get_manifest(s.ref(MISSING)), stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND, "MANIFEST_UNKNOWN"),
    (lambda c, s: c.inspect(s.ref(":multi"), platform="windows/amd64"), stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND, "MANIFEST_UNKNOWN"),
    (lambda c, s: c.list_tags("oci:/nonexistent/layout"), stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND, "NAME_UNKNOWN"),
    (lambda c, s: list(c.iter_blob(s.ref(MISSING))), stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND, "BLOB_UNKNOWN"),
    (lambda c, s: c.inspect("UPPER/Case:x"), stevedore_oci.InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT, "NAME_INVALID"),
    (lambda c, s: list(c.iter_blob(s.ref(":v1"))), stevedore_oci.InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT, "DIGEST_INVALID"),
], ids=["tag", "manifest", "platform", "layout", "blob", "bad ref", "blob by tag"])
def test_errors(server, client, call, exc, code, reason):
    with pytest.raises(exc) as info:
        call(client, server)
    assert isinstance(info.value, stevedore_oci.StevedoreError)
    assert info.value.code == code
    assert info.value.reason == reason


def test_unavailable():
    with stevedore_oci.Client("127.0.0.1:1", timeout=2) as c:
        with pytest.raises(stevedore_oci.UnavailableError):
            c.list_tags("oci:/x")


def test_download_small(server, client, tmp_path):
    layer = server.fixture["layers"][0]
    dest = tmp_path / "small"
    assert client.download_blob(server.ref("@" + layer["digest"]), dest) == layer["size"]
    assert dest.read_bytes() == b"small layer"


@pytest.mark.slow
def test_download_big(server, client, tmp_path):
    """The big layer (256 MiB by default) streams to disk with memory flat."""
    layer = server.fixture["layers"][1]
    dest = tmp_path / "big"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    assert client.download_blob(server.ref("@" + layer["digest"]), dest) == layer["size"]
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert dest.stat().st_size == layer["size"]
    assert not Path(str(dest) + ".part").exists()
    assert grown < 64 << 10, f"peak RSS grew by {grown} KiB while downloading"
    h = hashlib.sha256()
    with open(dest, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    assert "sha256:" + h.hexdigest() == layer["digest"]


class _Dropped(grpc.RpcError, grpc.Call):
    """What a lost connection looks like to the stub: UNAVAILABLE."""

    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "injected: connection lost"

    def trailing_metadata(self):
        return ()

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


class _Cut:
    """A GetBlob call that yields ``keep`` chunks of the real stream, then drops."""

    def __init__(self, call, keep: int, clean: bool) -> None:
        self._call, self._keep, self._clean = call, keep, clean

    def __iter__(self):
        for i, msg in enumerate(self._call):
            if i == self._keep:
                self._call.cancel()
                if self._clean:
                    return
                raise _Dropped()
            yield msg

    def cancel(self):
        self._call.cancel()


class _Failing:
    """A GetBlob call whose connection is lost before the first chunk."""

    def __iter__(self):
        raise _Dropped()

    def cancel(self):
        pass


@pytest.mark.parametrize("keep, clean", [(2, False), (1, False), (3, True)], ids=["unavailable", "one chunk", "early end"])
def test_download_resumes(server, client, tmp_path, monkeypatch, keep, clean):
    """Every stream is cut after ``keep`` chunks; the download resumes each time
    from the next byte and still verifies."""
    layer = server.fixture["layers"][1]
    real = client.stub.GetBlob
    offsets = []
    cuts = 4  # enough to prove the offsets; the rest then streams whole

    def get_blob(req, *args, **kwargs):
        offsets.append(req.offset)
        call = real(req, *args, **kwargs)
        return _Cut(call, keep, clean) if len(offsets) <= cuts else call

    monkeypatch.setattr(client.stub, "GetBlob", get_blob)
    monkeypatch.setattr(stevedore_oci._client, "FIRST_BACKOFF", 0.001)
    dest = tmp_path / "big"
    assert client.download_blob(server.ref("@" + layer["digest"]), dest) == layer["size"]
    assert offsets == [i * keep << 20 for i in range(cuts + 1)]


def test_download_gives_up(server, client, tmp_path, monkeypatch):
    layer = server.fixture["layers"][1]
    calls = []

    def failing(req, *args, **kwargs):
        calls.append(req.offset)
        return _Failing()

    monkeypatch.setattr(client.stub, "GetBlob", failing)
    monkeypatch.setattr(stevedore_oci._client, "FIRST_BACKOFF", 0.001)
    dest = tmp_path / "big"
    with pytest.raises(stevedore_oci.UnavailableError):
        client.download_blob(server.ref("@" + layer["digest"]), dest)
    assert len(calls) == 1 + stevedore_oci._client.MAX_FAILURES
    assert not dest.exists() and not Path(str(dest) + ".part").exists()


def test_download_corrupt(server, client, tmp_path):
    """Stored bytes that do not match their digest raise DataLossError and
    never leave a file behind."""
    small = server.fixture["layers"][0]
    layout = Path(server.fixture["dir"])
    blob = layout / "blobs" / "sha256" / small["digest"].split(":")[1]
    original = blob.read_bytes()
    try:
        blob.write_bytes(b"SMALL LAYER")
        dest = tmp_path / "small"
        with pytest.raises(stevedore_oci.DataLossError) as info:
            client.download_blob(server.ref("@" + small["digest"]), dest)
        assert info.value.reason == "DIGEST_INVALID"
        assert not dest.exists() and not Path(str(dest) + ".part").exists()
    finally:
        blob.write_bytes(original)


def test_stubs_importable():
    from stevedore_oci.v1 import image_service_pb2_grpc

    assert hasattr(image_service_pb2_grpc, "ImageServiceStub")
    assert image_service_pb2.DESCRIPTOR.package == "stevedore.v1"
