"""The README's quick start works as written, against the test server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start() -> str:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_quick_start(server, tmp_path):
    code = quick_start()
    assert len(code.strip().splitlines()) <= 10, "keep the quick start to 10 lines"
    env = dict(os.environ, STEVEDORE_TARGET=server.grpc, STEVEDORE_REF=server.ref(":v1"))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(server.fixture["manifest"]["digest"])
    assert lines[1] == f"{server.fixture['layers'][1]['size']} bytes"
    assert lines[2] == "not found: MANIFEST_UNKNOWN"
    assert (tmp_path / "layer.bin").stat().st_size == server.fixture["layers"][1]["size"]
