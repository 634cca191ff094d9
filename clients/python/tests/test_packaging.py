"""The package as users install it: the wheel clients/test.sh built.

``STEVEDORE_PY_WHEEL`` names the wheel (``python -m build``'s output); the
suite itself runs in a fresh venv that installed it, so every other test,
the README quick start included, exercises the installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import stevedore_oci

from conftest import need_tool

WHEEL = os.environ.get("STEVEDORE_PY_WHEEL", "")

# OpenStack's plugin loader, the PyPI project named "stevedore" (bandit,
# cliff and openstackclient depend on it).
PYPI_STEVEDORE = "stevedore==5.10.0"


def test_runs_from_the_installed_wheel():
    need_tool(WHEEL, "wheel (STEVEDORE_PY_WHEEL)")
    installed = Path(stevedore_oci.__file__).resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert site in installed.parents, f"stevedore_oci imported from {installed}, not from {site}"


def test_installs_next_to_pypi_stevedore(tmp_path):
    need_tool(WHEEL, "wheel (STEVEDORE_PY_WHEEL)")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYPI_STEVEDORE, WHEEL],
                   check=True, timeout=600)
    subprocess.run([py, "-m", "pip", "check"], check=True)
    check = (
        "import stevedore, stevedore.extension, stevedore_oci\n"
        "from stevedore_oci.v1 import image_service_pb2, image_service_pb2_grpc\n"
        "assert hasattr(stevedore, 'ExtensionManager'), stevedore.__file__\n"
        "assert stevedore_oci.Client and image_service_pb2.InspectRequest and image_service_pb2_grpc.ImageServiceStub\n"
        "print(stevedore.__file__); print(stevedore_oci.__file__)\n"
    )
    out = subprocess.run([py, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    theirs, ours = out.stdout.split()
    assert Path(theirs).parent.name == "stevedore" and Path(ours).parent.name == "stevedore_oci", out.stdout
