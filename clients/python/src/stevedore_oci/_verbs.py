"""ImageService verbs beyond reading: analyze, modify, artifacts, mirror.

A mixin of ``Client``: it uses the stub, the unary helper and the stream
helper that class defines.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass, field
from typing import IO, Iterable, Iterator, List, Mapping, Optional, Union

import grpc

from stevedore_oci._errors import DataLossError, InvalidArgumentError
from stevedore_oci.v1 import image_service_pb2 as pb

PathLike = Union[str, "os.PathLike[str]"]

# Each PushArtifact data message, like the server's own chunks: well under
# the gRPC message limit.
CHUNK = 1 << 20


@dataclass
class PulledArtifact:
    """What ``pull_artifact`` wrote: the manifest's descriptor, the paths
    written (a directory layer as ``NAME.tar.gz``, not unpacked) and the
    untitled layers skipped."""
    manifest: Optional[pb.Descriptor] = None
    files: List[str] = field(default_factory=list)
    skipped: List[pb.Descriptor] = field(default_factory=list)


class _Verbs:
    stub: "object"

    # --- analyze (image-spec v1.1.1 layer.md) ---

    def list_files(self, ref: str, platform: Optional[str] = None,
                   layer: Optional[int] = None) -> Iterator[pb.FileInfo]:
        """Yields the files of ``ref``'s merged root filesystem in path order,
        or with ``layer`` those one layer holds (whiteouts included)."""
        req = pb.ListFilesRequest(ref=ref, platform=platform or "")
        if layer is not None:
            req.layer = layer
        for batch in self._stream(self.stub.ListFiles(req)):  # type: ignore[attr-defined]
            yield from batch.files

    def read_file(self, ref: str, path: str, out: Union[PathLike, IO[bytes]],
                  platform: Optional[str] = None) -> int:
        """Writes the regular file ``path`` of ``ref``'s merged filesystem to
        ``out`` (a path or a binary file object) and returns its size."""
        call = self.stub.ReadFile(pb.ReadFileRequest(ref=ref, path=path, platform=platform or ""))  # type: ignore[attr-defined]
        return self._write_chunks(call, out)

    def export(self, ref: str, out: Union[PathLike, IO[bytes]], platform: Optional[str] = None) -> int:
        """Writes ``ref``'s merged root filesystem to ``out`` as one tar (what
        ``crane export`` writes) and returns its size."""
        call = self.stub.Export(pb.ExportRequest(ref=ref, platform=platform or ""))  # type: ignore[attr-defined]
        return self._write_chunks(call, out)

    def validate(self, ref: str) -> pb.ValidateResponse:
        """Checks every descriptor, size, digest and diff_id; problems are in
        the response (``valid``, ``problems``), not raised."""
        return self._unary(self.stub.Validate, pb.ValidateRequest(ref=ref))  # type: ignore[attr-defined]

    def diff(self, ref: str, other_ref: str, platform: Optional[str] = None) -> pb.DiffResponse:
        """Compares the configs and merged filesystems of two images."""
        return self._unary(self.stub.Diff, pb.DiffRequest(ref=ref, other_ref=other_ref, platform=platform or ""))  # type: ignore[attr-defined]

    def size(self, ref: str, platform: Optional[str] = None) -> pb.SizeResponse:
        """Compressed, uncompressed and wasted bytes, per layer and in total."""
        return self._unary(self.stub.Size, pb.SizeRequest(ref=ref, platform=platform or ""))  # type: ignore[attr-defined]

    def history(self, ref: str, platform: Optional[str] = None) -> List[pb.HistoryEntry]:
        """The config's history, each entry with the layer it made."""
        return list(self._unary(self.stub.History, pb.HistoryRequest(ref=ref, platform=platform or "")).entries)  # type: ignore[attr-defined]

    # --- modify: every write is a new manifest; the source stays valid ---

    def mutate(self, ref: str, destination: str = "", **edits: object) -> pb.WriteResult:
        """Writes a new image from ``ref`` with ``edits`` (MutateRequest fields:
        ``labels={...}``, ``env=[...]``, ``flatten=True``...) to ``destination``
        (default: ``ref`` itself) and returns the result with its new digest."""
        req = pb.MutateRequest(ref=ref, destination=destination, **edits)  # type: ignore[arg-type]
        return self._unary(self.stub.Mutate, req).result  # type: ignore[attr-defined]

    def tag(self, ref: str, *tags: str) -> pb.WriteResult:
        """Points ``tags``, in ``ref``'s repository or layout, at its manifest."""
        return self._unary(self.stub.Tag, pb.TagRequest(ref=ref, tags=tags)).result  # type: ignore[attr-defined]

    def untag(self, ref: str) -> None:
        """Removes the tag ``ref`` names; the manifest stays."""
        self._unary(self.stub.Untag, pb.UntagRequest(ref=ref))  # type: ignore[attr-defined]

    def mirror(self, config: str, dry_run: bool = False, concurrency: int = 0) -> Iterator[pb.MirrorResponse]:
        """Runs a mirror configuration (YAML text) on the server, yielding a
        message per image as it finishes (``image``), then the ``summary``."""
        req = pb.MirrorRequest(config=config, dry_run=dry_run, concurrency=max(concurrency, 0))
        yield from self._stream(self.stub.Mirror(req))  # type: ignore[attr-defined]

    # --- artifacts (image-spec v1.1.1 manifest.md, artifact usage) ---

    def push_artifact(self, ref: str, paths: Iterable[PathLike], artifact_type: str = "",
                      annotations: Optional[Mapping[str, str]] = None) -> pb.Descriptor:
        """Pushes the files at ``paths`` as one artifact (a layer per file,
        titled with its base name, as oras does), streamed from disk; returns
        the manifest's descriptor."""
        def requests() -> Iterator[pb.PushArtifactRequest]:
            first: dict = dict(ref=ref, artifact_type=artifact_type, annotations=annotations or {})
            for p in paths:
                with open(p, "rb") as f:
                    header = pb.ArtifactFileHeader(name=os.path.basename(os.fspath(p)),
                                                   mode=os.fstat(f.fileno()).st_mode & 0o777)
                    msg = pb.PushArtifactRequest(file=header, data=f.read(CHUNK), **first)
                    first = {}
                    while True:
                        yield msg
                        data = f.read(CHUNK)
                        if not data:
                            break
                        msg = pb.PushArtifactRequest(data=data)
        return self._unary(self.stub.PushArtifact, requests()).manifest  # type: ignore[attr-defined]

    def pull_artifact(self, ref: str, directory: PathLike) -> PulledArtifact:
        """Writes the titled layers of the artifact ``ref`` into ``directory``,
        each verified against its digest before it appears under its name.
        A title that is absolute or climbs out with ``..`` raises
        InvalidArgumentError before anything is written for it."""
        out = PulledArtifact()
        cur: Optional[_PullFile] = None
        try:
            for msg in self._stream(self.stub.PullArtifact(pb.PullArtifactRequest(ref=ref))):  # type: ignore[attr-defined]
                if msg.HasField("manifest"):
                    out.manifest, out.skipped = msg.manifest, list(msg.skipped)
                if msg.HasField("file"):
                    if cur:
                        cur.finish()
                    cur = _PullFile(os.fspath(directory), msg.file)
                    out.files.append(cur.path)
                if msg.data:
                    if cur is None:
                        raise InvalidArgumentError("artifact data before any file", grpc.StatusCode.INVALID_ARGUMENT)
                    cur.write(msg.offset, msg.data)
            if cur:
                cur.finish()
                cur = None
        finally:
            if cur:
                cur.abort()
        return out

    def discover_referrers(self, ref: str, artifact_type: str = "", max_depth: int = 0) -> pb.ReferrerNode:
        """The tree of referrers of the manifest ``ref`` names (distribution-spec
        v1.1.1, listing referrers), ``max_depth`` levels deep (0: 8)."""
        req = pb.DiscoverReferrersRequest(ref=ref, artifact_type=artifact_type, max_depth=max(max_depth, 0))
        return self._unary(self.stub.DiscoverReferrers, req).root  # type: ignore[attr-defined]

    def _write_chunks(self, call: Iterator, out: Union[PathLike, IO[bytes]]) -> int:
        """Writes a stream of offset-carrying chunks, refusing gaps."""
        if isinstance(out, (str, os.PathLike)):
            with open(out, "wb") as f:
                return self._write_chunks(call, f)
        n = 0
        for msg in self._stream(call):  # type: ignore[attr-defined]
            if msg.offset != n:
                raise DataLossError(f"chunk at offset {msg.offset}, want {n}", grpc.StatusCode.DATA_LOSS)
            out.write(msg.data)
            n += len(msg.data)
        return n


class _PullFile:
    """One file of a pull: written as ``path + ".part"``, hashed as it goes,
    renamed once its digest and size match."""

    def __init__(self, directory: str, header: pb.PulledFile) -> None:
        name = header.name + (".tar.gz" if header.unpack else "")
        norm = posixpath.normpath(name)
        if not name or posixpath.isabs(name) or norm == ".." or norm.startswith("../") or "\\" in name:
            raise InvalidArgumentError(f"artifact file {header.name!r} escapes {directory}",
                                       grpc.StatusCode.INVALID_ARGUMENT)
        algorithm, _, self.expected = header.descriptor.digest.partition(":")
        if algorithm not in ("sha256", "sha512"):
            raise InvalidArgumentError(f"artifact file {name!r}: digest {header.descriptor.digest!r}",
                                       grpc.StatusCode.INVALID_ARGUMENT)
        self.hash = hashlib.new(algorithm)
        self.size = header.descriptor.size
        self.path = os.path.join(directory, *norm.split("/"))
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.n = 0
        self.f = open(self.path + ".part", "wb")
        os.chmod(self.path + ".part", (header.mode & 0o777) or 0o644)

    def write(self, offset: int, data: bytes) -> None:
        if offset != self.n:
            raise DataLossError(f"{self.path}: chunk at offset {offset}, want {self.n}", grpc.StatusCode.DATA_LOSS)
        self.hash.update(data)
        self.f.write(data)
        self.n += len(data)

    def finish(self) -> None:
        self.f.close()
        if self.n != self.size or self.hash.hexdigest() != self.expected:
            self.abort()
            raise DataLossError(f"{self.path}: {self.n} bytes do not match {self.expected}",
                                grpc.StatusCode.DATA_LOSS, "DIGEST_INVALID")
        os.replace(self.path + ".part", self.path)

    def abort(self) -> None:
        self.f.close()
        try:
            os.remove(self.path + ".part")
        except FileNotFoundError:
            pass
