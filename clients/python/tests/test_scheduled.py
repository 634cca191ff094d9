"""Sync jobs and retention of a server started with a config file."""

from __future__ import annotations

import subprocess
from typing import Iterator

import pytest

import stevedore_oci
from conftest import Server, serve


@pytest.fixture
def configured(server: Server, tmp_path) -> Iterator[str]:
    """gRPC address of a second ``stevedore serve --config`` whose sync job
    mirrors an image from the session server's registry port, and whose
    retention keeps the newest tag of each repository."""
    subprocess.run([server.bin, "copy", server.ref(":files"), f"{server.registry}/py-up/files:v1"],
                   check=True, capture_output=True)
    cfg = tmp_path / "stevedore_oci.yaml"
    cfg.write_text(f"""
sync:
  - name: files
    destination: {{prefix: mirror}}
    sources: [{{repository: {server.registry}/py-up/files}}]
retention:
  policies:
    - repositories: "**"
      keepLast: 1
""")
    with serve(server, tmp_path, "--config", str(cfg)) as grpc_addr:
        yield grpc_addr


def test_sync_and_retention(configured):
    with stevedore_oci.Client(configured, timeout=30) as c:
        jobs = c.list_sync_jobs()
        assert [j.name for j in jobs] == ["files"]
        assert jobs[0].schedule == "on demand" and list(jobs[0].destinations) == ["mirror/py-up/files"]

        msgs = list(c.run_sync_now("files"))
        assert [m.image.action for m in msgs if m.HasField("image")] == ["copied"]
        assert msgs[-1].summary.copied == 1 and msgs[-1].summary.failed == 0

        st = c.sync_status("files")
        assert st.job.runs == 1 and st.job.last_run.trigger == "api"
        assert [im.action for im in st.images] == ["copied"]
        with pytest.raises(stevedore_oci.NotFoundError):
            c.sync_status("nope")

        rep = c.run_retention(dry_run=True)
        assert rep.dry_run and rep.tags_kept == 1 and len(rep.removed) == 0
        rep = c.run_retention()
        assert not rep.dry_run and rep.HasField("gc")
