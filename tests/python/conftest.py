"""Shared fixtures: a small float64-friendly model made by the project's own `ept init`, and test molecules."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The package under test is the installed one (`./run build` installs it into .venv); the build folder holds the
# C++ test programs.
BUILD = Path(os.environ.get("EPT_BUILD_DIR", ROOT / "build"))

import openmm  # noqa: E402
import openmm.app as app  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def ept_binary() -> str:
    """The installed `ept` command, beside this Python."""
    return str(Path(sys.executable).parent / "ept")


def kill_at_lines(process: subprocess.Popen, path: Path, lines: int, timeout: float) -> None:
    """SIGKILL `process` as soon as the file `path` (a journal, a metrics log) holds `lines` lines, or after
    `timeout` seconds: an interruption in the middle of a run."""
    import signal
    import time
    deadline = time.time() + timeout
    while time.time() < deadline and not (path.exists() and len(path.read_text().splitlines()) >= lines):
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("models") / "small.ept"
    subprocess.run([ept_binary(), "init", "--out", str(path), "--hidden", "16", "--ffn", "32", "--heads", "2",
                    "--layers", "2", "--radial", "8", "--seed", "5"], check=True, capture_output=True)
    return str(path)


@pytest.fixture(scope="session")
def peptide():
    return app.PDBFile(str(FIXTURES / "peptide_AGS.pdb"))


@pytest.fixture(params=["Reference", "CPU"])
def platform(request):
    return openmm.Platform.getPlatformByName(request.param)


def simulate_alanine_dipeptide(folder, runs: int, frames: int, interval: int = 20, temperature: float = 300,
                               seed: int = 0):
    """ACE-ALA-NME in amber14 + OBC2 on the Reference platform, written into ``folder``: ala.pdb (minimised),
    system.xml and ``runs`` trajectories run{k}.dcd of ``frames`` frames, one every ``interval`` steps of 2 fs
    (``seed`` 0: a random one)."""
    import openmm.unit as unit
    from openmmept.testsystems import alanine_dipeptide

    topology, positions = alanine_dipeptide()
    system = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(topology, constraints=app.HBonds)
    (folder / "system.xml").write_text(openmm.XmlSerializer.serialize(system))
    integrator = openmm.LangevinMiddleIntegrator(temperature * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtoseconds)
    integrator.setRandomNumberSeed(seed)
    simulation = app.Simulation(topology, system, integrator, openmm.Platform.getPlatformByName("Reference"))
    simulation.context.setPositions(positions)
    simulation.minimizeEnergy()
    with open(folder / "ala.pdb", "w") as f:
        app.PDBFile.writeFile(topology, simulation.context.getState(getPositions=True).getPositions(), f)
    for run in range(runs):
        simulation.reporters = [app.DCDReporter(str(folder / f"run{run}.dcd"), interval)]
        simulation.step(interval * frames)
        simulation.reporters = []
    return folder
