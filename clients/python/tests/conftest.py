"""Starts a real ``stevedore serve`` over a fixture OCI layout for the tests.

The binaries are built from this checkout with ``go build`` (STEVEDORE_BIN
and STEVEDORE_MKFIXTURE override them); the layout is written by
clients/go/internal/mkfixture, with a big layer of STEVEDORE_FIXTURE_SIZE
bytes (256 MiB by default).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

import stevedore_oci

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Server:
    grpc: str  # host:port of the gRPC listener
    http: str
    registry: str
    fixture: dict  # mkfixture's JSON: dir, manifest, index, config, layers, tags, filesImage
    bin: str = "stevedore"  # the stevedore binary the server runs
    tmp: Path = Path(".")

    def ref(self, suffix: str) -> str:
        """The oci: reference of ``:TAG`` or ``@DIGEST`` in the fixture layout."""
        return "oci:" + self.fixture["dir"] + suffix


def _free_addrs(n: int) -> list[str]:
    """n distinct 127.0.0.1 addresses no one listens on right now. The
    sockets stay bound until all n are chosen, so the kernel cannot hand the
    same port out twice (one serve's three ports once collided)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]


def _free_addr() -> str:
    return _free_addrs(1)[0]


def _go_build(pkg: str, out: Path) -> str:
    subprocess.run(["go", "build", "-o", str(out), pkg], cwd=REPO_ROOT, check=True)
    return str(out)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("stevedore")
    bin_ = os.environ.get("STEVEDORE_BIN") or _go_build("./cmd/stevedore", tmp / "stevedore")
    mk = os.environ.get("STEVEDORE_MKFIXTURE") or _go_build("./clients/go/internal/mkfixture", tmp / "mkfixture")
    size = os.environ.get("STEVEDORE_FIXTURE_SIZE", str(256 << 20))
    out = subprocess.run([mk, "-size", size, str(tmp / "layout")], check=True, capture_output=True, text=True)
    fixture = json.loads(out.stdout)

    grpc_addr, http_addr, reg_addr = _free_addrs(3)
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen(
        [bin_, "serve", "--grpc-addr", grpc_addr, "--http-addr", http_addr,
         "--registry-addr", reg_addr, "--data", str(tmp / "data"),
         # The tests' layouts and registries are on this machine, which a
         # default serve keeps the API away from.
         "--allow-local", "any", "--allow-remote", "127.0.0.1:*"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(grpc_addr, proc, tmp / "serve.log")
        yield Server(grpc_addr, http_addr, reg_addr, fixture, bin_, tmp)
    finally:
        _stop(proc)
        log.close()


def wait_ready(grpc_addr: str, proc: subprocess.Popen, log: Path) -> None:
    """Polls the gRPC port until the server answers a call, whatever the
    answer: any error but UNAVAILABLE means it is serving."""
    deadline = time.monotonic() + 30
    with stevedore_oci.Client(grpc_addr, timeout=1) as c:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"stevedore serve exited: {log.read_text()}")
            try:
                c.list_tags("oci:/nonexistent")
                return
            except stevedore_oci.UnavailableError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            except stevedore_oci.StevedoreError:
                return


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serve(server: Server, tmp: Path, *args: str) -> Iterator[str]:
    """Runs another ``stevedore serve`` (the session's binary) with ``args``
    and its data under ``tmp``; yields its gRPC address once it answers."""
    grpc_addr, http_addr, reg_addr = _free_addrs(3)
    with open(tmp / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [server.bin, "serve", *args, "--grpc-addr", grpc_addr, "--http-addr", http_addr,
             "--registry-addr", reg_addr, "--data", str(tmp / "data")],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(grpc_addr, proc, tmp / "serve.log")
            yield grpc_addr
        finally:
            _stop(proc)


@pytest.fixture
def client(server: Server) -> Iterator[stevedore_oci.Client]:
    with stevedore_oci.Client(server.grpc, timeout=30) as c:
        yield c


# The CNCF distribution registry, from scripts/install-tools.sh's output (set
# by clients/test.sh). Missing, its tests skip; under STEVEDORE_REQUIRE_PEERS=1
# (make test) they fail instead.
REGISTRY_BIN = os.environ.get("STEVEDORE_REGISTRY_BIN", "")


def need_tool(path: str, what: str) -> None:
    """Skip, or fail under STEVEDORE_REQUIRE_PEERS=1, when ``path`` is no file."""
    if path and os.path.isfile(path):
        return
    msg = f"no {what} at {path!r}"
    if os.environ.get("STEVEDORE_REQUIRE_PEERS") == "1":
        pytest.fail(msg + " (STEVEDORE_REQUIRE_PEERS=1 makes this a failure)", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def dist(server: Server) -> Iterator[str]:
    """host:port of a CNCF distribution registry (started as integration/
    does) holding the fixture's files image as ``fixture/files:v1``, pushed
    with ``stevedore copy``."""
    need_tool(REGISTRY_BIN, "distribution registry (STEVEDORE_REGISTRY_BIN)")
    host = _free_addr()
    cfg = server.tmp / "registry.yml"
    cfg.write_text(f"version: 0.1\nlog: {{level: warn, accesslog: {{disabled: true}}}}\n"
                   f"storage: {{filesystem: {{rootdirectory: {str(server.tmp / 'registry')!r}}}}}\n"
                   f"http: {{addr: {host!r}}}\n")
    env = dict(os.environ, OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{host}/v2/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("distribution registry did not start")
                time.sleep(0.05)
        subprocess.run([server.bin, "copy", server.ref(":files"), f"{host}/fixture/files:v1"],
                       check=True, capture_output=True)
        yield host
    finally:
        proc.terminate()
        proc.wait(10)
