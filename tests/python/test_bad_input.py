"""Bad input a user gives on purpose gets an error that names it; what Python users pass (pathlib paths, NumPy
indices) is taken. The README's bad-input matrix lists these cases."""
import subprocess
from pathlib import Path

import numpy as np
import openmm
import pytest
from openmmml import MLPotential

import openmmept
from conftest import FIXTURES, ept_binary


def test_energy_scale_must_be_finite(model_path):
    force = openmmept.EPTForce(model_path)
    for value in (float("nan"), float("inf")):
        with pytest.raises(openmm.OpenMMException, match="energy scale must be a finite number"):
            force.setEnergyScale(value)
    assert force.getEnergyScale() == 1.0


def test_a_particle_given_twice_is_named(model_path):
    force = openmmept.EPTForce(model_path)
    with pytest.raises(openmm.OpenMMException, match=r"particle 0 is given twice \(atoms 0 and 1\)"):
        force.setAtoms([0, 0, 1])
    with pytest.raises(openmm.OpenMMException, match="negative particle index"):
        force.setAtoms([2, -1])


def test_an_invalid_descriptor_level_is_named_by_every_call(model_path, peptide):
    force = openmmept.EPTPotential(model_path).createForce(peptide.topology)
    system = openmm.System()
    for _ in range(peptide.topology.getNumAtoms()):
        system.addParticle(1.0)
    system.addForce(force)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(peptide.positions)
    for call in (lambda: force.getDescriptors(context, 7), lambda: force.getNumDescriptorRows(7),
                 lambda: force.getDescriptorLabels(-1)):
        with pytest.raises(openmm.OpenMMException, match="is not one of atom"):
            call()
    with pytest.raises(ValueError, match="unknown descriptor level 'residue'"):
        openmmept.descriptors_in_context(force, context, "residue")


def test_mixed_system_names_an_atom_outside_the_topology(model_path, peptide):
    # Through both entry points, before openmm-ml's surgery (which fails on them with an assertion in OpenMM, or a
    # Context error about chemistry for 0 atoms).
    mm = openmm.app.ForceField("amber14-all.xml").createSystem(peptide.topology)
    for potential in (openmmept.EPTPotential(model_path), MLPotential("ept", modelPath=model_path)):
        with pytest.raises(ValueError, match="ML atom index 31 is outside the topology's 31 atoms"):
            potential.createMixedSystem(peptide.topology, mm, [0, 31])
        with pytest.raises(ValueError, match="ML atom index 99 is outside"):
            potential.createMixedSystem(peptide.topology, mm, [0, 99])
        with pytest.raises(ValueError, match="the ML region is empty"):
            potential.createMixedSystem(peptide.topology, mm, [])
        with pytest.raises(ValueError, match="ML atom index 2 is given twice"):
            potential.createMixedSystem(peptide.topology, mm, [1, 2, 2])


def test_paths_and_numpy_indices_are_taken(model_path, peptide):
    force = openmmept.EPTForce(Path(model_path))
    assert force.getModelPath() == model_path
    force.setChemistryFromPdb(FIXTURES / "peptide_AGS.pdb")
    assert len(force.getAtomicNumbers()) == 31
    force.setAtoms(np.arange(31, dtype=np.int64))
    assert list(force.getAtoms()) == list(range(31))
    force.setAtoms(np.array([4, 2], dtype=np.int32))
    assert list(force.getAtoms()) == [4, 2]
    force.setChemistry(np.array([8, 1, 1]), [], [], [], [], np.array([[0, 1], [0, 2]]))
    assert list(force.getAtomicNumbers()) == [8, 1, 1] and list(force.getBonds()) == [(0, 1), (0, 2)]
    ml = np.array([a.index for a in peptide.topology.atoms() if a.residue.index == 0])
    assert list(openmmept.EPTPotential(model_path).createForce(peptide.topology, ml).getAtoms()) == list(ml)


def test_a_model_whose_energy_means_nothing_warns_where_it_would_replace_the_force_field(model_path, peptide):
    import subprocess
    import warnings

    from conftest import ept_binary
    assert openmmept.EPTForce(model_path).getEnergyMeaning() == "untrained"
    info = subprocess.run([ept_binary(), "info", "--model", model_path], capture_output=True, text=True, check=True)
    assert "energy:     untrained: the energy head was never fitted" in info.stdout
    with pytest.warns(UserWarning, match="energy head is untrained .* molecules fall apart"):
        MLPotential("ept", modelPath=model_path).createSystem(peptide.topology)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the direct force head, and a force added by hand, say nothing
        MLPotential("ept", modelPath=model_path, outputMode="direct").createSystem(peptide.topology)
        openmmept.EPTPotential(model_path).createForce(peptide.topology)


def write_dcd(path, peptide, frames: int) -> Path:
    x = np.array(peptide.positions.value_in_unit(openmm.unit.nanometer))
    with open(path, "wb") as f:
        dcd = openmm.app.DCDFile(f, peptide.topology, 0.001)
        for k in range(frames):
            dcd.writeModel(x + 0.001 * k)
    return Path(path)


def test_describe_checks_its_trajectory_and_batch_in_its_own_words(model_path, peptide, tmp_path):
    dcd = write_dcd(tmp_path / "run.dcd", peptide, 3)
    top = peptide.topology
    with pytest.raises(ValueError, match="is a directory"):
        openmmept.describe(top, tmp_path, model=model_path)
    (tmp_path / "empty.dcd").write_bytes(b"")
    with pytest.raises(ValueError, match=r"is empty \(0 bytes\)"):
        openmmept.describe(top, tmp_path / "empty.dcd", model=model_path)
    header_only = write_dcd(tmp_path / "none.dcd", peptide, 0)
    with pytest.raises(ValueError, match="holds no complete frame"):
        openmmept.describe(top, header_only, model=model_path)
    modeller = openmm.app.Modeller(top, peptide.positions)
    modeller.delete([next(modeller.topology.atoms())])
    with pytest.raises(ValueError, match="has 31 atoms but the topology has 30"):
        openmmept.describe(modeller.topology, dcd, model=model_path)
    for batch in (-1, 0, 2.5, True):
        with pytest.raises(ValueError, match="batch must be a whole number of frames"):
            openmmept.describe(top, dcd, model=model_path, batch=batch)
    with pytest.raises(ValueError, match="GiB at once"):
        openmmept.describe(top, dcd, model=model_path, batch=10**9)
    assert openmmept.describe(top, dcd, model=model_path, batch=2).shape[:2] == (3, 3)


def test_a_non_finite_frame_is_named_by_its_index_and_file(model_path, peptide, tmp_path):
    dcd = write_dcd(tmp_path / "run.dcd", peptide, 3)
    # Frame 1's first x coordinate to NaN: the file ends with 3 frames of x, y, z records (4 + 4·31 + 4 bytes each).
    data = bytearray(dcd.read_bytes())
    frame_bytes = 3 * (8 + 4 * 31)
    x = len(data) - 2 * frame_bytes + 4
    data[x:x + 4] = np.float32(np.nan).tobytes()
    dcd.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"frame 1 of '.*run.dcd': atom 0 has a non-finite position"):
        openmmept.describe(peptide.topology, dcd, model=model_path)
    r = subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology", str(FIXTURES / "peptide_AGS.pdb"),
                        "--trajectory", str(dcd), "--out", str(tmp_path / "d.npy")], capture_output=True, text=True)
    assert r.returncode != 0 and "frame 1 of '" in r.stderr and "atom 0 has a non-finite position" in r.stderr


def test_a_reporter_interval_must_be_whole_steps():
    for interval in (2.5, 0, "10"):
        with pytest.raises(ValueError, match="reportInterval must be a whole number of steps"):
            openmmept.DescriptorReporter("r.npy", interval)
    assert openmmept.DescriptorReporter("r.npy", np.int64(10)).interval == 10


def test_a_directory_given_as_a_model_is_called_a_directory(model_path, tmp_path):
    (tmp_path / "model.ept").write_bytes(Path(model_path).read_bytes())
    with pytest.raises(openmm.OpenMMException, match="is a directory, not a model file.*model.ept"):
        openmmept.EPTForce(str(tmp_path))
    r = subprocess.run([ept_binary(), "info", "-m", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and "is a directory" in r.stderr and "empty" not in r.stderr


def test_an_absurd_format_version_is_called_damage(model_path, tmp_path):
    data = bytearray(Path(model_path).read_bytes())
    assert data[8:12] == b"\x01\x00\x00\x00"  # the format version (1), right after the 8-byte signature
    data[10] = 1  # 65 537
    (tmp_path / "flipped.ept").write_bytes(bytes(data))
    r = subprocess.run([ept_binary(), "info", "-m", str(tmp_path / "flipped.ept")], capture_output=True, text=True)
    assert r.returncode != 0 and "65537" in r.stderr and "most likely damaged" in r.stderr
    assert "use the openmm-ept release that wrote it" not in r.stderr


def test_cli_options_print_integers_as_integers_and_check_outputs_first(model_path, tmp_path):
    r = subprocess.run([ept_binary(), "pretrain", "--corpus", str(FIXTURES / "corpus"), "--out", str(tmp_path / "p"),
                        "--steps", "0"], capture_output=True, text=True)
    assert r.returncode != 0 and "--steps must be at least 1, got 0\n" in r.stderr
    dcd = write_dcd(tmp_path / "run.dcd", openmm.app.PDBFile(str(FIXTURES / "peptide_AGS.pdb")), 2)
    r = subprocess.run([ept_binary(), "describe", "--model", model_path, "--topology", str(FIXTURES / "peptide_AGS.pdb"),
                        "--trajectory", str(dcd), "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and "it is a directory" in r.stderr and "frames" not in r.stderr  # before any frame
