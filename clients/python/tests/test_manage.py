"""Management of the served store: list, measure, delete, collect. Against
the session server, and against a second one with auth for the rights."""

from __future__ import annotations

import os
import time
from typing import Iterator

import grpc
import pytest

import stevedore_oci
from conftest import Server, serve
from stevedore_oci.v1 import image_service_pb2 as pb

PREFIX = "py-mgmt/"


def test_manage(server, client, tmp_path):
    a, b, c = PREFIX + "a", PREFIX + "b", PREFIX + "c"
    for name in (a, b):
        assert list(client.copy(server.ref(":files"), f"store:{name}:v1"))[-1].kind == pb.COPY_EVENT_KIND_RESULT
    # c holds content no other repository does, so a collection can free it.
    (tmp_path / "notes.bin").write_bytes(os.urandom(4096))
    client.push_artifact(f"store:{c}:v1", [tmp_path / "notes.bin"], artifact_type="application/x-notes")

    repos = list(client.list_repositories(PREFIX, page_size=1))  # a page per repository
    assert [r.name for r in repos] == [a, b, c]
    assert all(r.tag_count == 1 and r.stored_bytes > 0 for r in repos)
    assert [r.name for r in client.list_repositories(PREFIX, page_size=2)] == [a, b, c]
    first = client.stub.ListRepositories(pb.ListRepositoriesRequest(prefix=PREFIX, page_size=2))
    assert len(first.repositories) == 2 and first.next_page_token  # the iterator did follow a token
    assert [r.name for r in client.list_repositories(PREFIX + "b")] == [b]

    u = client.storage_usage(PREFIX)
    per = {r.name: r for r in u.repositories}
    assert list(per) == [a, b, c]
    assert per[a].bytes > 0 and per[a].bytes == per[b].bytes == per[a].shared_bytes  # one image, twice
    assert per[c].bytes >= 4096 and per[c].shared_bytes == 0
    assert u.total_bytes == per[a].bytes + per[c].bytes and u.shared_bytes == per[a].bytes

    gone = client.delete_repository(c)
    assert gone.tags_deleted == 1 and gone.manifests_deleted == 1
    assert [r.name for r in client.list_repositories(PREFIX, page_size=1)] == [a, b]
    with pytest.raises(stevedore_oci.NotFoundError):
        client.delete_repository(c)

    # c's blobs are free once older than the grace period (here 1 s).
    deadline = time.monotonic() + 10
    while (dry := client.run_gc(dry_run=True, grace_seconds=1)).freed_bytes < 4096:
        assert time.monotonic() < deadline, dry
        time.sleep(0.1)
    assert dry.dry_run and dry.repositories >= 2
    gc = client.run_gc()  # the server's grace (an hour) keeps them
    assert not gc.dry_run and gc.young > 0 and gc.freed_bytes == 0


@pytest.mark.parametrize("call, exc, reason", [
    (lambda c: c.delete_repository(PREFIX + "never"), stevedore_oci.NotFoundError, "NAME_UNKNOWN"),
    (lambda c: c.delete_repository("UPPER/case"), stevedore_oci.InvalidArgumentError, None),
    (lambda c: list(c.list_repositories(page_size=1001)), stevedore_oci.InvalidArgumentError, None),
    (lambda c: c.run_gc(grace_seconds=-1), stevedore_oci.InvalidArgumentError, None),
], ids=["unknown repository", "bad name", "page size", "negative grace"])
def test_manage_errors(client, call, exc, reason):
    with pytest.raises(exc) as info:
        call(client)
    assert info.value.reason == reason


# Auth: owner may do everything, reader only pull, by static API tokens.
# The htpasswd user is there because auth needs one; its password is unused.
HTPASSWD = "owner:$2a$04$zRZNbnd9apZ9Rgpdr8xmneG7WhowC2b1fTewfURDNLpWWXBWYz5Wu\n"
RULES = """rules:
  - {repository: "**", users: [owner], actions: ["*"]}
  - {repository: "**", users: [reader], actions: [pull]}
"""
TOKENS = {"owner": "py-owner-token-0123456789", "reader": "py-reader-token-0123456789"}


@pytest.fixture(scope="module")
def auth_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gRPC address of a ``stevedore serve --htpasswd`` with the rules above."""
    tmp = tmp_path_factory.mktemp("auth")
    (tmp / "htpasswd").write_text(HTPASSWD)
    (tmp / "rules.yaml").write_text(RULES)
    (tmp / "tokens").write_text("".join(f"{tok} {user}\n" for user, tok in TOKENS.items()))
    with serve(server, tmp, "--htpasswd", str(tmp / "htpasswd"), "--auth-rules", str(tmp / "rules.yaml"),
               "--api-tokens", str(tmp / "tokens")) as addr:
        yield addr


def as_user(addr: str, user: str) -> stevedore_oci.Client:
    """A client sending ``user``'s token; gRPC sends call credentials only
    over a channel it deems secure, which local credentials on loopback are."""
    creds = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
        grpc.access_token_call_credentials(TOKENS[user]))
    return stevedore_oci.Client(addr, credentials=creds, timeout=30)


def test_manage_rights(auth_server, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with as_user(auth_server, "owner") as owner, as_user(auth_server, "reader") as reader, \
            stevedore_oci.Client(auth_server, timeout=30) as anonymous:
        owner.push_artifact("store:team/app:v1", [tmp_path / "notes.txt"])
        assert [r.name for r in reader.list_repositories()] == ["team/app"]
        assert reader.storage_usage().total_bytes > 0
        with pytest.raises(stevedore_oci.PermissionDeniedError):
            reader.delete_repository("team/app")
        with pytest.raises(stevedore_oci.PermissionDeniedError):
            reader.run_gc(dry_run=True)
        with pytest.raises(stevedore_oci.UnauthenticatedError):
            list(anonymous.list_repositories())
        assert owner.delete_repository("team/app").tags_deleted == 1
        assert owner.run_gc(dry_run=True).repositories == 0
