"""ImageService calls that manage the served store (the registry a
``stevedore serve`` serves): list its repositories, measure it, delete a
repository, collect garbage. Each sees only the repositories the caller may
pull.

A mixin of ``Client``: it uses the stub and the unary helper that class
defines.
"""

from __future__ import annotations

from typing import Iterator

from stevedore_oci.v1 import image_service_pb2 as pb


class _Manage:
    stub: "object"

    def list_repositories(self, prefix: str = "", page_size: int = 0) -> Iterator[pb.RepositoryInfo]:
        """Yields the served repositories whose name starts with ``prefix``,
        in lexical order, each with its tag count and stored bytes. Pages of
        ``page_size`` (0: the server's 100, at most 1000) are fetched as the
        loop asks for more, following the server's page tokens."""
        token = ""
        while True:
            req = pb.ListRepositoriesRequest(prefix=prefix, page_size=max(page_size, 0), page_token=token)
            page = self._unary(self.stub.ListRepositories, req)  # type: ignore[attr-defined]
            yield from page.repositories
            token = page.next_page_token
            if not token:
                return

    def delete_repository(self, name: str) -> pb.DeleteRepositoryResponse:
        """Deletes served repository ``name`` whole: tags, manifests and
        records; its blobs go at the next garbage collection. An unknown
        repository raises ``NotFoundError``; a server under
        ``--disable-delete`` refuses (``UnimplementedError``)."""
        return self._unary(self.stub.DeleteRepository, pb.DeleteRepositoryRequest(name=name))  # type: ignore[attr-defined]

    def storage_usage(self, prefix: str = "") -> pb.StorageUsageResponse:
        """The bytes the served repositories under ``prefix`` hold: in all
        (each blob once), per repository, shared between them, and the
        server's quotas."""
        return self._unary(self.stub.StorageUsage, pb.StorageUsageRequest(prefix=prefix))  # type: ignore[attr-defined]

    def run_gc(self, dry_run: bool = False, grace_seconds: int = 0) -> pb.RunGCResponse:
        """Collects garbage in the served store now; with ``dry_run`` only
        reports what it would remove. Unreferenced content changed less than
        ``grace_seconds`` ago stays (0: the server's ``--gc-grace``)."""
        req = pb.RunGCRequest(dry_run=dry_run, grace_seconds=grace_seconds)
        return self._unary(self.stub.RunGC, req)  # type: ignore[attr-defined]
