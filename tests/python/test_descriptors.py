"""Descriptors: invariance, the reporter's file (and its survival of a killed run), offline = live, VAMP-2."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest

import openmmept
from openmmept.analysis import VAMP, vamp2_cross_validated
from conftest import BUILD, FIXTURES, ept_binary
from test_ept_force import water_box


def rotation(seed):
    q = np.random.default_rng(seed).normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


@pytest.mark.parametrize("level", ["atom", "block", "segment", "molecule"])
def test_descriptors_are_invariant_to_rigid_motion(model_path, peptide, level):
    describer = openmmept.Describer(peptide.topology, model_path, level)
    x = np.array(peptide.positions.value_in_unit(unit.nanometer))
    a = describer(x)
    b = describer(x @ rotation(level.__len__()).T + np.array([1.5, -0.3, 2.0]))
    assert a.shape == (describer.shape[0], 32)
    assert a.shape[0] == {"atom": 31, "block": 3, "segment": 1, "molecule": 1}[level]
    assert np.abs(a).max() > 1e-3
    assert np.abs(a - b).max() < 1e-4 * np.abs(a).max()  # float32 model


def test_descriptors_are_invariant_to_periodic_image_shifts(model_path):
    topology, x = water_box()
    describer = openmmept.Describer(topology, model_path, "block")
    box = np.array(topology.getPeriodicBoxVectors().value_in_unit(unit.nanometer))
    a = describer(x, box)
    y = x.copy()
    y[::2] += box[0] - box[2]
    y[1::3] -= 2 * box[1]
    assert np.abs(describer(y, box) - a).max() < 1e-4 * np.abs(a).max()


def test_live_descriptors_of_an_eptforce_equal_a_describer(model_path, peptide):
    system = openmmept.EPTPotential(model_path).createSystem(peptide.topology)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    context.setPositions(peptide.positions)
    context.getState(getEnergy=True, getForces=True)  # the reporter reuses this evaluation
    force = openmmept.EPTForce.cast(system.getForce(0))
    live = openmmept.descriptors_in_context(force, context, "block")
    assert np.array_equal(live, openmmept.Describer(peptide.topology, model_path, "block")(peptide.positions))
    assert list(force.getDescriptorLabels(openmmept.DescriptorLevel.Block)) == ["A:ALA1", "A:GLY2", "A:SER3"]


def mm_simulation(peptide, seed=1):
    forcefield = app.ForceField("amber14-all.xml", "implicit/obc2.xml")
    system = forcefield.createSystem(peptide.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integrator.setRandomNumberSeed(seed)
    simulation = app.Simulation(peptide.topology, system, integrator, openmm.Platform.getPlatformByName("CPU"))
    simulation.context.setPositions(peptide.positions)
    simulation.context.setVelocitiesToTemperature(300 * unit.kelvin, seed)
    return simulation


def test_reporter_writes_frames_and_sidecar_and_describe_matches_them(model_path, peptide, tmp_path):
    simulation = mm_simulation(peptide)
    out, dcd = str(tmp_path / "blocks.npy"), str(tmp_path / "traj.dcd")
    simulation.reporters.append(openmmept.DescriptorReporter(out, 5, level="block", model=model_path))
    simulation.reporters.append(app.DCDReporter(dcd, 5))
    simulation.step(20)
    frames = np.load(out)
    assert frames.shape == (4, 3, 32)
    sidecar = json.load(open(out + ".json"))
    assert sidecar["level"] == "block" and len(sidecar["labels"]) == 3
    assert sidecar["model_checksum"] == openmmept.EPTForce(model_path).getModelChecksum()
    assert np.load(out + ".times.npy") == pytest.approx([0.01, 0.02, 0.03, 0.04])
    # Offline from the DCD (positions stored as float32 Å) equals the live frames.
    offline = openmmept.describe(peptide.topology, dcd, level="block", model=model_path)
    assert offline.shape == frames.shape
    assert np.abs(offline - frames).max() < 1e-3 * np.abs(frames).max()
    # The command line gives the same numbers as describe().
    cli_out = str(tmp_path / "cli.npy")
    subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology", str(FIXTURES / "peptide_AGS.pdb"),
                    "--trajectory", dcd, "--level", "block", "--out", cli_out],
                   check=True, capture_output=True)
    assert np.abs(np.load(cli_out) - offline).max() < 1e-5 * np.abs(offline).max()
    assert json.load(open(cli_out + ".json"))["labels"] == sidecar["labels"]


def test_a_killed_run_keeps_every_complete_frame(model_path, tmp_path):
    out = tmp_path / "killed.npy"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import openmm.app as app, openmmept
        from test_descriptors import mm_simulation
        simulation = mm_simulation(app.PDBFile({str(FIXTURES / 'peptide_AGS.pdb')!r}))
        simulation.reporters.append(openmmept.DescriptorReporter({str(out)!r}, 2, model={model_path!r}))
        simulation.step(10**9)
    """)
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if np.load(out).shape[0] >= 5:
                    break
            except (OSError, ValueError, EOFError):  # not written yet (NumPy 2 raises EOFError on an empty file)
                pass
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    frames = np.load(out)
    assert frames.shape[0] >= 5 and frames.shape[1:] == (3, 32)
    assert np.all(np.isfinite(frames))
    # Each frame is written before its time: a kill between the two leaves one time fewer (which the writer drops
    # on append).
    timed = np.load(str(out) + ".times.npy").shape[0]
    assert timed in (frames.shape[0] - 1, frames.shape[0])
    # A partial frame at the end (a kill during a write) is ignored, and appending continues after the last
    # complete frame.
    with open(out, "ab") as f:
        f.write(b"\0" * 100)
    assert np.load(out).shape == frames.shape
    writer = openmmept.frames.FrameWriter(str(out), 3, 32, {"level": "block"}, append=True)
    writer.append(frames[0], 99.0)
    writer.close()
    again = np.load(out)
    assert again.shape[0] == timed + 1 and np.array_equal(again[:timed], frames[:timed])
    assert np.array_equal(again[-1], frames[0])
    times = np.load(str(out) + ".times.npy")
    assert times.shape[0] == again.shape[0] and times[-1] == 99.0


def test_bad_inputs_give_named_errors(model_path, peptide, tmp_path):
    with pytest.raises(ValueError, match="unknown descriptor level 'residue'"):
        openmmept.Describer(peptide.topology, model_path, "residue")
    with pytest.raises(ValueError, match="unknown descriptor level"):
        openmmept.DescriptorReporter(str(tmp_path / "x.npy"), 10, level="chain")
    with pytest.raises(FileNotFoundError, match="missing.dcd"):
        openmmept.describe(peptide.topology, str(tmp_path / "missing.dcd"), model=model_path)
    topology, x = water_box()
    with pytest.raises(ValueError, match="31 atoms"):
        openmmept.describe(peptide.topology, x, model=model_path)
    # The command line names the mismatch too.
    simulation = mm_simulation(peptide)
    dcd = str(tmp_path / "t.dcd")
    simulation.reporters.append(app.DCDReporter(dcd, 1))
    simulation.step(2)
    wrong = tmp_path / "wrong.pdb"
    app.PDBFile.writeFile(topology, x * 10 * unit.angstrom, open(wrong, "w"))
    result = subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology", str(wrong),
                             "--trajectory", dcd, "--out", str(tmp_path / "o.npy")], capture_output=True, text=True)
    assert result.returncode != 0 and "31 atoms" in result.stderr and "18" in result.stderr
    result = subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology", str(wrong),
                             "--trajectory", dcd, "--level", "residue", "--out", str(tmp_path / "o.npy")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "unknown descriptor level 'residue'" in result.stderr


def test_a_dcd_cut_short_gives_its_complete_frames_with_a_warning(model_path, peptide, tmp_path):
    simulation = mm_simulation(peptide)
    dcd = tmp_path / "t.dcd"
    simulation.reporters.append(app.DCDReporter(str(dcd), 1))
    simulation.step(4)
    del simulation  # closes the file
    whole = dcd.read_bytes()
    cut = tmp_path / "cut.dcd"
    cut.write_bytes(whole[:-200])  # the last frame loses its end, as when the writer is killed
    full = openmmept.describe(peptide.topology, str(dcd), model=model_path)
    with pytest.warns(UserWarning, match="ends inside frame 3 .* described the 3 complete frames"):
        partial = openmmept.describe(peptide.topology, cut, model=model_path)
    assert partial.shape[0] == 3 and np.array_equal(partial, full[:3])
    out = tmp_path / "cli.npy"
    result = subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology",
                             str(FIXTURES / "peptide_AGS.pdb"), "--trajectory", str(cut), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ends inside frame 3" in result.stderr and "described the 3 complete frames" in result.stderr
    assert np.load(out).shape[0] == 3
    # An --out that cannot be written fails before any frame is described.
    result = subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology",
                             str(FIXTURES / "peptide_AGS.pdb"), "--trajectory", str(dcd),
                             "--out", str(tmp_path / "no" / "such" / "folder.npy")], capture_output=True, text=True)
    assert result.returncode == 1 and "cannot write" in result.stderr and "frames" not in result.stderr


def ar1(coefficients, steps, seed):
    """x_{t+1} = a x_t + √(1 − a²) ε: unit variance, lag-τ autocorrelation a^τ per coordinate."""
    rng = np.random.default_rng(seed)
    a = np.asarray(coefficients)
    x = np.zeros((steps, len(a)))
    x[0] = rng.normal(size=len(a))
    noise = rng.normal(size=(steps, len(a))) * np.sqrt(1 - a ** 2)
    for t in range(1, steps):
        x[t] = a * x[t - 1] + noise[t]
    return x


def test_vamp2_recovers_known_singular_values():
    a = np.array([0.95, 0.7, 0.3])
    mixing = np.array([[1.0, 0.4, -0.2], [0.3, 1.0, 0.5], [-0.1, 0.2, 1.0]])  # features are mixed coordinates
    trajectories = [ar1(a, 60000, seed) @ mixing.T for seed in range(3)]
    for lag in (1, 3):
        vamp = VAMP(lag).fit(trajectories)
        expected = np.sort(a ** lag)[::-1]
        assert vamp.singular_values == pytest.approx(expected, abs=0.015)
        assert vamp.score() == pytest.approx(1 + np.sum(expected ** 2), abs=0.03)
        held_out = vamp2_cross_validated(trajectories, lag)
        assert np.mean(held_out) == pytest.approx(1 + np.sum(expected ** 2), abs=0.04)
    # Keeping only the slowest function scores 1 + σ₁².
    assert VAMP(1, dim=1).fit(trajectories).score() == pytest.approx(1 + 0.95 ** 2, abs=0.015)
