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


def test_readme_pytorch_snippet_runs():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("**The same model in PyTorch.**"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    prelude = ("import numpy as np\nimport openmm.unit as unit\nfrom openmmept import testsystems\n"
               "topology, positions = testsystems.alanine_dipeptide()\n"
               "positions_angstrom = np.array(positions.value_in_unit(unit.angstrom))\n")
    code = prelude + code + ("\nassert tuple(rows.shape) == (force.getNumDescriptorRows(openmmept.DescriptorLevel.Block),"
                             " force.getNumDescriptorColumns())\nprint(float(energy), tuple(forces.shape))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["(22,", "3)"], result.stdout


def test_every_test_the_bad_input_matrix_names_exists():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Bad input"):text.index("## Benchmarks")].splitlines()
    start = next(k for k, line in enumerate(section) if line.startswith("| input |")) + 2  # header and rule
    rows = []
    for line in section[start:]:
        if not line.startswith("|"):
            break  # the matrix ends at its first line that is not a row
        rows.append(line)
    sources = "\n".join(p.read_text() for folder in ("python", "cpp") for p in (ROOT / "tests" / folder).iterdir()
                        if p.suffix in (".py", ".cpp"))
    assert len(rows) >= 20
    for row in rows:
        cell = row.rsplit("|", 2)[1]
        assert re.search(r"`[^`]+`", cell), f"a row without its test: {row}"
    named = [name for row in rows for name in re.findall(r"`([A-Za-z_]+)`", row.rsplit("|", 2)[1])]
    for name in named:
        if name.startswith("test_"):
            assert f"def {name}(" in sources, name
        else:
            assert re.search(rf"TEST(_[FP])?\(\w+, {name}\)", sources), name
