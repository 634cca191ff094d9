"""Copy with progress against a real ``stevedore serve`` (see conftest.py)."""

from __future__ import annotations

import grpc
import pytest

import stevedore_oci
from stevedore_oci.v1 import image_service_pb2 as pb


@pytest.mark.parametrize("suffix, dest, platform, key", [
    (":v1", "layout", None, "manifest"),
    (":multi", "registry", None, "index"),
    (":multi", "registry", "linux/arm64/v8", "manifest"),
], ids=["image to layout", "index to registry", "platform to registry"])
def test_copy(server, client, tmp_path, suffix, dest, platform, key):
    if dest == "layout":
        dst = f"oci:{tmp_path / 'out'}:copied"
    else:
        dst = f"{server.registry}/clients/python:{(platform or 'all').replace('/', '-')}"
    events = list(client.copy(server.ref(suffix), dst, platform=platform))
    assert len(events) >= 2
    assert all(isinstance(e, pb.CopyResponse) for e in events)
    last = events[-1]
    assert last.kind == pb.COPY_EVENT_KIND_RESULT
    assert last.result.digest == server.fixture[key]["digest"]
    kinds = {e.kind for e in events[:-1]}
    assert kinds & {pb.COPY_EVENT_KIND_IMAGE_DONE, pb.COPY_EVENT_KIND_IMAGE_SKIPPED}
    assert pb.COPY_EVENT_KIND_RESULT not in kinds
    # The destination now resolves to the same digest.
    assert client.inspect(dst, platform=platform).digest == server.fixture[key]["digest"]


@pytest.mark.parametrize("src, dst, exc, code", [
    (":nope", "oci:{tmp}/out:x", stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (None, "oci:{tmp}/out:x", stevedore_oci.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (":v1", "oci:{tmp}/out@sha256:" + "0" * 64, stevedore_oci.InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
], ids=["unknown tag", "missing layout", "digest destination"])
def test_copy_errors(server, client, tmp_path, src, dst, exc, code):
    source = server.ref(src) if src else "oci:/nonexistent/layout:v1"
    with pytest.raises(exc) as info:
        for _ in client.copy(source, dst.format(tmp=tmp_path)):
            pass
    assert info.value.code == code
