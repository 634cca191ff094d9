"""Sign/verify, analyze, mutate, artifacts and a distribution registry, against the real server."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

import stevedore_oci
from stevedore_oci.v1 import sign_service_pb2 as spb


@pytest.fixture
def scratch(client, server, tmp_path) -> str:
    """The files image copied into a layout of the test's own, so writes
    leave the shared fixture alone."""
    ref = f"oci:{tmp_path / 'layout'}:v1"
    for _ in client.copy(server.ref(":files"), ref):
        pass
    return ref


def test_sign_verify(client, server, scratch):
    good = client.generate_key_pair("py-good", "pw")
    other = client.generate_key_pair("py-other", "pw")
    with pytest.raises(stevedore_oci.AlreadyExistsError):
        client.generate_key_pair("py-good", "pw")
    signed = client.sign(scratch, "py-good", "pw")
    assert signed.signatures[0].subject.digest == server.fixture["filesImage"]["digest"]
    assert client.verify(scratch, key_ids=["py-good"]).verified
    assert client.verify(scratch, public_keys=[good.public_key_pem]).verified
    wrong = client.verify(scratch, public_keys=[other.public_key_pem])
    assert not wrong.verified and wrong.findings and wrong.findings[0].reason
    # Certificate identities reach the server: a key signature is not a
    # certificate signature, and an identity without an issuer is refused.
    ident = spb.CertificateIdentity(subject="dev@example.com", issuer="https://accounts.google.com")
    keyless = client.verify(scratch, certificate_identities=[ident])
    assert not keyless.verified and "certificate" in keyless.findings[0].reason
    with pytest.raises(stevedore_oci.InvalidArgumentError):
        client.verify(scratch, certificate_identities=[spb.CertificateIdentity(subject="dev@example.com")])
    with pytest.raises(stevedore_oci.InvalidArgumentError):
        client.verify_attestation(scratch, "https://example.com/test/v1", certificate_identities=[ident],
                                  certificate_trust=spb.CertificateTrust(trusted_root="{"))
    client.attest(scratch, "py-good", "pw", "https://example.com/test/v1", '{"ok": true}')
    assert client.verify_attestation(scratch, "https://example.com/test/v1", key_ids=["py-good"]).verified
    tree = client.tree(scratch)
    assert len(tree.signatures) == 1 and len(tree.attestations) == 1


def test_analyze(client, server, tmp_path):
    ref = server.ref(":files")
    files = [f.path.lstrip("/") for f in client.list_files(ref) if f.size > 0]
    assert files == ["bin/app", "etc/hello.txt"]
    with pytest.raises(stevedore_oci.NotFoundError):
        list(client.list_files(server.ref(":missing")))
    buf = io.BytesIO()
    assert client.read_file(ref, "/etc/hello.txt", buf) == len(b"hello from stevedore\n")
    assert buf.getvalue() == b"hello from stevedore\n"
    out = tmp_path / "rootfs.tar"
    assert client.export(ref, out) == out.stat().st_size
    with tarfile.open(out) as tf:
        assert "etc/hello.txt" in tf.getnames()
    assert client.validate(ref).valid
    assert len(client.size(ref).layers) == 1
    assert [h.created_by for h in client.history(ref)] == ["fixture: add files"]


def test_mutate_tag(client, server, scratch):
    want = server.fixture["filesImage"]["digest"]
    dst = scratch.rsplit(":", 1)[0] + ":mutated"
    res = client.mutate(scratch, dst, labels={"org.example.mutated": "yes"})
    assert res.digest != want and res.source_digest == want
    assert client.inspect(scratch).digest == want  # the source is unchanged
    d = client.diff(scratch, dst)
    assert d.config and not (d.added or d.removed or d.changed)
    extra = scratch.rsplit(":", 1)[0] + ":extra"
    client.tag(dst, "extra")
    assert client.inspect(extra).digest == res.digest
    client.untag(extra)
    with pytest.raises(stevedore_oci.NotFoundError):
        client.inspect(extra)


def test_artifact_round_trip(client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    files = {"a.txt": b"alpha\n", "big.bin": os.urandom(3 << 20)}  # several chunks each way
    for name, data in files.items():
        (src / name).write_bytes(data)
        os.chmod(src / name, 0o600)
    ref = f"oci:{tmp_path / 'art'}:v1"
    m = client.push_artifact(ref, [src / n for n in files], "application/vnd.example.test", {"k": "v"})
    out = tmp_path / "out"
    pulled = client.pull_artifact(ref, out)
    assert pulled.manifest.digest == m.digest
    assert sorted(os.path.basename(p) for p in pulled.files) == sorted(files)
    for name, data in files.items():
        assert hashlib.sha256((out / name).read_bytes()).digest() == hashlib.sha256(data).digest()
        assert (out / name).stat().st_mode & 0o777 == 0o600
    assert client.discover_referrers(ref).descriptor.digest == m.digest


def test_distribution(client, server, dist, tmp_path):
    ref = f"{dist}/fixture/files:v1"
    info = client.inspect(ref)
    assert info.digest == server.fixture["filesImage"]["digest"]
    raw = client.get_manifest(ref).raw
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == info.digest
    layer = info.layers[0]
    assert client.download_blob(f"{dist}/fixture/files@{layer.digest}", tmp_path / "layer") == layer.size
    with pytest.raises(stevedore_oci.NotFoundError):
        client.inspect(f"{dist}/fixture/files:missing")
