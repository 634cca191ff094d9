"""The thin client over the generated stevedore.v1 stubs."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from stevedore_oci._errors import DataLossError, InvalidArgumentError, StevedoreError, UnavailableError, from_rpc_error
from stevedore_oci.v1 import image_service_pb2 as pb
from stevedore_oci.v1 import image_service_pb2_grpc as pb_grpc
from stevedore_oci.v1 import sign_service_pb2_grpc as spb_grpc
from stevedore_oci._manage import _Manage
from stevedore_oci._scheduled import _Scheduled
from stevedore_oci._sign import _Sign
from stevedore_oci._verbs import _Verbs

# A manifest may reach the server's 4 MiB bound, which with framing overflows
# gRPC's 4 MiB default receive limit (service.MaxMessageSize).
MAX_MESSAGE_SIZE = 8 << 20

# Resume policy for a dropped GetBlob stream: every chunk received resets the
# count, so a long download survives any number of drops that make progress.
MAX_FAILURES = 5
FIRST_BACKOFF = 0.1  # seconds before the 2nd consecutive attempt; doubles
MAX_BACKOFF = 2.0

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}

PathLike = Union[str, "os.PathLike[str]"]


class Client(_Verbs, _Sign, _Manage, _Scheduled):
    """A connection to a stevedore server's gRPC port (``stevedore serve --grpc-addr``).

    ``target`` is ``host:port`` (or any gRPC target). The channel is plaintext
    unless ``credentials`` are given. ``timeout`` (seconds) bounds each unary
    call; blob downloads are bounded only by progress. Use as a context manager
    or call ``close()``.
    """

    def __init__(self, target: str, *, credentials: Optional[grpc.ChannelCredentials] = None,
                 timeout: Optional[float] = None,
                 options: Sequence[Tuple[str, object]] = ()) -> None:
        opts = [("grpc.max_receive_message_length", MAX_MESSAGE_SIZE), *options]
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=opts)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=opts)
        self._timeout = timeout
        #: The generated stub, for calls this class does not wrap (raw gRPC errors).
        self.stub = pb_grpc.ImageServiceStub(self._channel)
        #: The generated SignService stub, likewise.
        self.sign_stub = spb_grpc.SignServiceStub(self._channel)

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inspect(self, ref: str, platform: Optional[str] = None) -> pb.InspectResponse:
        """Describes the image ``ref`` names (``HOST/REPO:TAG``, ``docker://...``,
        ``oci:/DIR:TAG``). ``platform`` (``os/arch[/variant]``) picks an entry of
        an index; None means linux on the server's architecture."""
        return self._unary(self.stub.Inspect, pb.InspectRequest(ref=ref, platform=platform or ""))

    def get_manifest(self, ref: str) -> pb.GetManifestResponse:
        """Returns the manifest or index ``ref`` names, ``raw`` byte for byte as
        stored (verified by the server against ``digest``)."""
        return self._unary(self.stub.GetManifest, pb.GetManifestRequest(ref=ref))

    def list_tags(self, repo: str) -> List[str]:
        """Lists the tags of a repository (``HOST/REPO``) or layout (``oci:/DIR``)."""
        return list(self._unary(self.stub.ListTags, pb.ListTagsRequest(repository=repo)).tags)

    def iter_blob(self, ref: str, offset: int = 0) -> Iterator[bytes]:
        """Yields the blob ``ref`` (``REPO@sha256:...``) names from ``offset``,
        chunk by chunk (at most 1 MiB each), reopening a dropped stream where it
        broke off. The bytes are not verified here; ``download_blob`` does that."""
        failures = 0
        size = -1
        while True:
            call = self.stub.GetBlob(pb.GetBlobRequest(ref=ref, offset=offset))
            try:
                for msg in call:
                    if size < 0 and msg.size:
                        size = msg.size
                    if msg.offset != offset:
                        raise InvalidArgumentError(
                            f"GetBlob {ref}: chunk at offset {msg.offset}, want {offset}",
                            grpc.StatusCode.INVALID_ARGUMENT)
                    if msg.data:
                        failures = 0
                        offset += len(msg.data)
                        yield msg.data
                if size < 0 or offset >= size:
                    return
                err: StevedoreError = UnavailableError(
                    f"GetBlob {ref}: stream ended at byte {offset} of {size}", grpc.StatusCode.UNAVAILABLE)
            except grpc.RpcError as e:
                err = from_rpc_error(e)
            finally:
                call.cancel()
            # Only UNAVAILABLE -- a lost connection or a server going away --
            # is worth another attempt; everything else is the answer.
            if not isinstance(err, UnavailableError) or failures >= MAX_FAILURES:
                raise err
            if failures > 0:
                time.sleep(min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF))
            failures += 1

    def download_blob(self, ref: str, path: PathLike) -> int:
        """Streams the blob ``ref`` (``REPO@sha256:...``) to ``path`` and returns
        its size. The bytes are hashed as they arrive and checked against the
        digest in ``ref`` before ``path`` appears: it is written as
        ``path + ".part"`` and renamed only when verified, so ``path`` never
        holds partial or corrupt content. Raises DataLossError on a mismatch."""
        algorithm, _, expected = ref.rpartition("@")[2].partition(":")
        if "@" not in ref or algorithm not in _HASHES or not expected:
            raise InvalidArgumentError(
                f"blob reference {ref!r} names no sha256/sha512 digest (REPO@sha256:...)",
                grpc.StatusCode.INVALID_ARGUMENT, "DIGEST_INVALID")
        h = _HASHES[algorithm]()
        part = os.fspath(path) + ".part"
        n = 0
        try:
            with open(part, "wb") as f:
                for chunk in self.iter_blob(ref):
                    h.update(chunk)
                    f.write(chunk)
                    n += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            if h.hexdigest() != expected:
                raise DataLossError(
                    f"blob {ref}: {n} bytes hash to {algorithm}:{h.hexdigest()}",
                    grpc.StatusCode.DATA_LOSS, "DIGEST_INVALID")
            os.replace(part, path)
        except BaseException:
            try:
                os.remove(part)
            except FileNotFoundError:
                pass
            raise
        return n

    def copy(self, source: str, destination: str, platform: Optional[str] = None,
             concurrency: int = 0) -> Iterator[pb.CopyResponse]:
        """Copies ``source`` to ``destination`` on the server (registry
        references such as ``HOST/REPO:TAG``, or ``oci:/DIR[:TAG]`` layouts on
        the server), yielding each progress event as it happens. The last event
        yielded has ``kind == COPY_EVENT_KIND_RESULT`` and its ``result.digest``
        equals the source's. ``platform`` (``os/arch[/variant]``) copies only
        that manifest of an index; ``concurrency`` <= 0 means the server's
        default (4).

        Failures raise StevedoreError subclasses (NotFoundError for a missing
        source). A stream that ends without a result raises UnavailableError:
        the copy may not have finished, and copying again is cheap since
        whatever the destination has is skipped. Closing the generator early
        cancels the copy on the server."""
        call = self.stub.Copy(pb.CopyRequest(source=source, destination=destination,
                                             platform=platform or "", concurrency=max(concurrency, 0)))
        try:
            for ev in call:
                yield ev
                if ev.kind == pb.COPY_EVENT_KIND_RESULT:
                    return
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        finally:
            call.cancel()
        raise UnavailableError(f"copy {source} to {destination}: stream ended without a result",
                               grpc.StatusCode.UNAVAILABLE)

    def _stream(self, call):  # type: ignore[no-untyped-def]
        """Yields a server stream's messages with typed errors; leaving the
        loop early cancels the call."""
        try:
            yield from call
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        finally:
            call.cancel()

    def _unary(self, method, request):  # type: ignore[no-untyped-def]
        try:
            return method(request, timeout=self._timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
