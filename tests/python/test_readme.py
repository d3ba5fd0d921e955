"""The README's script under "EPT in an OpenMM script" runs as written (from the repository root)."""
import os
import re
import subprocess
import sys

from conftest import ROOT


def test_readme_openmm_script_runs():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## EPT in an OpenMM script"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code += "\nprint(system.getNumForces(), mixed.getNumParticles())\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ})
    assert result.returncode == 0, result.stderr
    forces, particles = map(int, result.stdout.split())
    assert forces == 2 and particles > 31  # EPT and the CM motion remover; the peptide plus a link atom
