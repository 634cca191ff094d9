"""The REST gateway and its OpenAPI document, against a real ``stevedore serve``.

The document served at ``/openapi.json`` is validated with a real OpenAPI v2
validator (openapi-spec-validator), and then held to what the gateway does:
sample calls made exactly as the document describes them (path, query
parameters) must answer 200 with bodies whose every field the document's
schema names, with the type it gives, and errors must be its rpcStatus.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Tuple

import pytest
from openapi_spec_validator import OpenAPIV2SpecValidator, validate


def _get(url: str) -> Tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


@pytest.fixture(scope="module")
def spec(server) -> Dict[str, Any]:
    status, doc = _get(f"http://{server.http}/openapi.json")
    assert status == 200
    return doc


def test_openapi_validates(spec):
    validate(spec, cls=OpenAPIV2SpecValidator)
    assert spec["swagger"] == "2.0"


def _resolve(spec: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _conforms(spec: Dict[str, Any], schema: Dict[str, Any], value: Any, path: str = "$") -> None:
    """Asserts value fits schema: every object key is a declared property
    (or an additionalProperties map entry) and every scalar has the declared
    type, as protojson writes it (64-bit integers as strings)."""
    schema = _resolve(spec, schema)
    if value is None:
        return  # protojson writes an unset message field as null (EmitUnpopulated)
    if "properties" in schema or schema.get("type") == "object":
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                _conforms(spec, props[k], v, f"{path}.{k}")
            elif isinstance(extra, dict):
                _conforms(spec, extra, v, f"{path}.{k}")
            elif extra is True:
                continue  # protobufAny: "@type" and the message's own fields
            else:
                raise AssertionError(f"{path}: field {k!r} is not in the schema ({sorted(props)})")
        return
    t = schema.get("type")
    if t == "array":
        assert isinstance(value, list), f"{path}: {value!r} is not an array"
        for i, v in enumerate(value):
            _conforms(spec, schema["items"], v, f"{path}[{i}]")
    elif t == "string":
        assert isinstance(value, str), f"{path}: {value!r} is not a string"
        if "enum" in schema:
            assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    elif t == "integer":
        if schema.get("format") in ("int64", "uint64"):
            assert isinstance(value, str) and value.lstrip("-").isdigit(), f"{path}: {value!r} is not an int64 string"
        else:
            assert isinstance(value, int), f"{path}: {value!r} is not an integer"
    elif t == "boolean":
        assert isinstance(value, bool), f"{path}: {value!r}"


def _call(server, spec, path: str, params: Dict[str, str]) -> Tuple[int, Any, Dict[str, Any]]:
    """GETs path with query params, refusing any the document does not list."""
    op = spec["paths"][path]["get"]
    declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    assert set(params) <= declared, f"{path}: {set(params) - declared} not documented"
    status, body = _get(f"http://{server.http}{path}?{urllib.parse.urlencode(params)}")
    return status, body, op


@pytest.mark.parametrize("path, params, want", [
    ("/v1/images:inspect", {"ref": ":multi", "platform": "linux/arm64/v8"}, {"digest": "index", "manifestDigest": "manifest"}),
    ("/v1/tags", {"repository": ""}, {}),
    ("/v1/manifests", {"ref": ":v1"}, {"digest": "manifest", "mediaType": "manifest"}),
], ids=["Inspect", "ListTags", "GetManifest"])
def test_documented_calls(server, spec, path, params, want):
    params = {k: server.ref(v) if k in ("ref", "repository") else v for k, v in params.items()}
    status, body, op = _call(server, spec, path, params)
    assert status == 200, body
    _conforms(spec, op["responses"]["200"]["schema"], body)
    for field, key in want.items():
        attr = "digest" if field.endswith("igest") else "mediaType"
        assert body[field] == server.fixture[key][attr]
    if path == "/v1/tags":
        assert body["tags"] == server.fixture["tags"]


def test_documented_error(server, spec):
    status, body, op = _call(server, spec, "/v1/manifests", {"ref": server.ref(":nope")})
    assert status == 404
    _conforms(spec, op["responses"]["default"]["schema"], body)
    assert body["code"] == 5  # NOT_FOUND
    assert body["message"]
    infos = [d for d in body["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
    assert infos and infos[0]["reason"] == "MANIFEST_UNKNOWN" and infos[0]["domain"] == "stevedore.dev"


def test_documented_copy_stream(server, spec, tmp_path):
    """POST /v1/copy answers NDJSON, each line the documented stream wrapper."""
    op = spec["paths"]["/v1/copy"]["post"]
    body = json.dumps({"source": server.ref(":v1"), "destination": f"oci:{tmp_path / 'rest'}:v1"}).encode()
    req = urllib.request.Request(f"http://{server.http}/v1/copy", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200
        lines = [json.loads(line) for line in r if line.strip()]
    for line in lines:
        _conforms(spec, op["responses"]["200"]["schema"], line)
    assert lines[-1]["result"]["kind"] == "COPY_EVENT_KIND_RESULT"
    assert lines[-1]["result"]["result"]["digest"] == server.fixture["manifest"]["digest"]
