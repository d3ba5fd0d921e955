"""Every Python block of the README runs to its end (from the repository root, or a scratch folder where it writes
files), and the tests its Bad-input matrix names exist."""
import os
import re
import subprocess
import sys
import textwrap

from conftest import FIXTURES, ROOT


def python_blocks():
    """Every ```python block of the README, in order."""
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def block_after(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(marker):], re.S).group(1)


def run(code: str, cwd=ROOT) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                            env={**os.environ})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]  # what the test's own last line prints (mdtraj's DCD reader talks too)


# The first line of each block, and the test that runs it.
RUNS = {
    "import openmm": "test_readme_openmm_script_runs",
    "import torch, openmmept": "test_readme_pytorch_snippet_runs",
    "simulation.reporters.append(openmmept.DescriptorReporter(": "test_readme_descriptor_lines_run",
}


def test_every_python_block_of_the_readme_is_run():
    blocks = python_blocks()
    assert len(blocks) == len(RUNS)
    for block in blocks:
        first = block.splitlines()[0]
        assert any(first.startswith(start) for start in RUNS), f"a README block no test runs: {first}"


def test_readme_openmm_script_runs():
    # The block builds EPT alone and the ML/MM System, and runs 10 steps of the latter from the PDB's positions.
    code = block_after("## EPT in an OpenMM script") + (
        "\nimport numpy as np\n"
        "state = simulation.context.getState(getEnergy=True, getPositions=True)\n"
        "assert np.isfinite(state.getPositions(asNumpy=True)._value).all()\n"
        "assert np.isfinite(state.getPotentialEnergy()._value) and simulation.currentStep == 10\n"
        "print(system.getNumForces(), pdb.topology.getNumAtoms(), mixed.getNumParticles(), topology.getNumAtoms())\n")
    forces, atoms, particles, mixed_atoms = map(int, run(code).split())
    assert forces == 2  # EPT and the CM motion remover
    assert (atoms, particles, mixed_atoms) == (31, 32, 32)  # the peptide, plus the link atom at Gly C–Ser N


def test_readme_pytorch_snippet_runs():
    code = block_after("**The same model in PyTorch.**")
    prelude = ("import numpy as np\nimport openmm.unit as unit\nfrom openmmept import testsystems\n"
               "topology, positions = testsystems.alanine_dipeptide()\n"
               "positions_angstrom = np.array(positions.value_in_unit(unit.angstrom))\n")
    code = prelude + code + ("\nassert tuple(rows.shape) == (force.getNumDescriptorRows(openmmept.DescriptorLevel.Block),"
                             " force.getNumDescriptorColumns())\nprint(float(energy), tuple(forces.shape))\n")
    assert run(code).split()[1:] == ["(22,", "3)"]


def test_readme_descriptor_lines_run(tmp_path):
    # "Lines for a script that already has a simulation and a trajectory": the peptide in amber14 + OBC2 and 20 frames
    # of it in traj.dcd before them; 500 more steps after them, so that the reporter writes its first frame.
    prelude = textwrap.dedent(f"""\
        import numpy as np
        import openmm
        import openmm.app as app
        import openmm.unit as unit
        import openmmept
        pdb = app.PDBFile({str(FIXTURES / 'peptide_AGS.pdb')!r})
        system = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(pdb.topology)
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.001 * unit.picoseconds)
        simulation = app.Simulation(pdb.topology, system, integrator, openmm.Platform.getPlatformByName("CPU"))
        simulation.context.setPositions(pdb.positions)
        simulation.reporters.append(app.DCDReporter("traj.dcd", 5))
        simulation.step(100)
        simulation.reporters = []
        """)
    code = prelude + block_after("## Descriptors") + textwrap.dedent("""
        simulation.step(500)
        blocks = np.load("blocks.npy")
        print(frames.shape[0], frames.shape[1], blocks.shape[0], blocks.shape[1], frames.shape[2] == blocks.shape[2])
        """)
    assert run(code, cwd=tmp_path).split() == ["20", "3", "1", "3", "True"]


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
