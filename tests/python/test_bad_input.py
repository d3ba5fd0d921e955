"""Bad input a user gives on purpose gets an error that names it; what Python users pass (pathlib paths, NumPy
indices) is taken. The README's bad-input matrix lists these cases."""
from pathlib import Path

import numpy as np
import openmm
import pytest
from openmmml import MLPotential

import openmmept
from conftest import FIXTURES


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
