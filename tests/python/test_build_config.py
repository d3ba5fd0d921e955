"""Configuring the build against a missing or too old OpenMM or torch stops CMake with a message that names what
was found, what is needed and how to install it."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT


def configure(tmp_path: Path, fake_modules: dict) -> subprocess.CompletedProcess:
    """CMake's configure step with the test's Python, where `fake_modules` shadow the real packages."""
    shadow = tmp_path / "shadow"
    for name, source in fake_modules.items():
        package = shadow / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(textwrap.dedent(source.get("__init__", "")))
        for module, text in source.items():
            if module != "__init__":
                (package / f"{module}.py").write_text(textwrap.dedent(text))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(shadow)}
    return subprocess.run(["cmake", "-S", str(ROOT), "-B", str(tmp_path / "build"), f"-DPython3_EXECUTABLE={sys.executable}",
                           "-DEPT_BUILD_TESTS=OFF"], capture_output=True, text=True, env=env, timeout=300)


OLD_OPENMM = {"openmm": {"version": "short_version = '7.7.0'\nopenmm_library_path = '/usr/lib/x86_64-linux-gnu'\n"}}
NO_OPENMM = {"openmm": {"__init__": "raise ImportError('No module named openmm')"}}
OLD_TORCH = {"torch": {"__init__": "__version__ = '1.13.1'\nfrom . import utils\n",
                       "utils": "cmake_prefix_path = '/usr/share/cmake'\n"}}
NO_TORCH = {"torch": {"__init__": "raise ImportError('No module named torch')"}}


@pytest.mark.parametrize("fakes, expected", [
    (OLD_OPENMM, r"OpenMM: found 7\.7\.0 .* needs 8\.4 or newer.*pip install openmm"),
    (NO_OPENMM, r"cannot import openmm.*pip install openmm"),
    (OLD_TORCH, r"torch: found 1\.13\.1 .* needs 2\.0 or newer:.*pip install torch"),
    (NO_TORCH, r"cannot import torch.*pip install torch"),
], ids=["old-openmm", "no-openmm", "old-torch", "no-torch"])
def test_configure_names_what_is_missing(tmp_path, fakes, expected):
    import re
    result = configure(tmp_path, fakes)
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert re.search(expected, message), result.stderr
