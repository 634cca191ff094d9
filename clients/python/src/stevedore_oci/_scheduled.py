"""ImageService calls about what the server runs on its own: the sync jobs
and retention of its config file (``stevedore serve --config``).

A mixin of ``Client``: it uses the stub, the unary helper and the stream
helper that class defines.
"""

from __future__ import annotations

from typing import Iterator, List

from stevedore_oci.v1 import image_service_pb2 as pb


class _Scheduled:
    stub: "object"

    def list_sync_jobs(self) -> List[pb.SyncJob]:
        """The sync jobs the caller may see, with their schedules, next runs
        and last runs."""
        return list(self._unary(self.stub.ListSyncJobs, pb.ListSyncJobsRequest()).jobs)  # type: ignore[attr-defined]

    def sync_status(self, name: str) -> pb.GetSyncStatusResponse:
        """Sync job ``name`` with the per-image results of its last run."""
        return self._unary(self.stub.GetSyncStatus, pb.GetSyncStatusRequest(name=name))  # type: ignore[attr-defined]

    def run_sync_now(self, name: str) -> Iterator[pb.RunSyncNowResponse]:
        """Runs sync job ``name`` now, yielding a message per image as it
        finishes (``image``), then the ``summary``. A job already running
        raises ``UnavailableError``: runs of a job never overlap. Leaving the
        loop early cancels the run."""
        yield from self._stream(self.stub.RunSyncNow(pb.RunSyncNowRequest(name=name)))  # type: ignore[attr-defined]

    def run_retention(self, dry_run: bool = False) -> pb.RunRetentionResponse:
        """Applies the server's retention policies and collects garbage; with
        ``dry_run`` only lists what a run would remove (``removed``)."""
        return self._unary(self.stub.RunRetention, pb.RunRetentionRequest(dry_run=dry_run))  # type: ignore[attr-defined]
