"""EPTForce from Python on Reference and CPU: gradients, images, parameters, subsets, XML, bad input."""
import copy
import subprocess

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

import openmmept
from conftest import ept_binary, FIXTURES


def context_for(system, platform):
    return openmm.Context(system, openmm.VerletIntegrator(0.001 * unit.picosecond), platform)


def energy_forces(context, positions):
    context.setPositions(positions)
    state = context.getState(getEnergy=True, getForces=True)
    return (state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
            state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer))


def positions_nm(pdb):
    return np.array(pdb.positions.value_in_unit(unit.nanometer))


def test_forces_are_finite_differences_of_the_energy(model_path, peptide, platform):
    system = openmmept.EPTPotential(model_path, precision="float64").createSystem(peptide.topology,
                                                                                 removeCMMotion=False)
    context = context_for(system, platform)
    x = positions_nm(peptide)
    _, forces = energy_forces(context, x)
    h = 1e-5
    fd = np.zeros_like(x)
    for i in range(len(x)):
        for k in range(3):
            plus, minus = x.copy(), x.copy()
            plus[i, k] += h
            minus[i, k] -= h
            fd[i, k] = -(energy_forces(context, plus)[0] - energy_forces(context, minus)[0]) / (2 * h)
    assert np.linalg.norm(forces) > 0
    assert np.linalg.norm(fd - forces) / np.linalg.norm(forces) < 1e-6


def test_energy_equals_the_command_line_evaluation(model_path, peptide, platform):
    system = openmmept.EPTPotential(model_path).createSystem(peptide.topology)
    energy, _ = energy_forces(context_for(system, platform), peptide.positions)
    out = subprocess.run([ept_binary(), "evaluate", "--model", model_path, "--pdb", str(FIXTURES / "peptide_AGS.pdb"),
                          "--repeats", "1"], check=True, capture_output=True, text=True).stdout
    library = float(next(line for line in out.splitlines() if line.startswith("energy:")).split()[1])
    assert energy == pytest.approx(library, rel=1e-4, abs=1e-5)


def test_rdkit_and_topology_chemistry_agree(model_path, platform):
    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)Nc1ccccc1"))
    AllChem.EmbedMolecule(mol, randomSeed=3)
    x = mol.GetConformer().GetPositions() / 10.0
    system = openmm.System()
    for atom in mol.GetAtoms():
        system.addParticle(atom.GetMass())
    force = openmmept.EPTForce(model_path)
    openmmept.set_chemistry_from_rdkit(force, mol)
    system.addForce(force)
    by_rdkit, _ = energy_forces(context_for(system, platform), x)
    # The same molecule through an OpenMM Topology (no residue information: small-molecule blocks).
    topology = app.Topology()
    residue = topology.addResidue("MOL", topology.addChain())
    atoms = [topology.addAtom(a.GetSymbol() + str(a.GetIdx()), app.Element.getByAtomicNumber(a.GetAtomicNum()),
                              residue) for a in mol.GetAtoms()]
    for b in mol.GetBonds():
        topology.addBond(atoms[b.GetBeginAtomIdx()], atoms[b.GetEndAtomIdx()])
    by_topology, _ = energy_forces(context_for(openmmept.EPTPotential(model_path).createSystem(topology), platform), x)
    assert by_rdkit == pytest.approx(by_topology, rel=1e-6)


def water_box(n=6, edge=1.4):
    """``n`` waters in a cubic box of ``edge`` nm, as a Topology with positions."""
    topology = app.Topology()
    chain = topology.addChain()
    rng = np.random.default_rng(3)
    positions = []
    for w in range(n):
        residue = topology.addResidue("HOH", chain)
        o = topology.addAtom("O", app.element.oxygen, residue)
        h1 = topology.addAtom("H1", app.element.hydrogen, residue)
        h2 = topology.addAtom("H2", app.element.hydrogen, residue)
        topology.addBond(o, h1)
        topology.addBond(o, h2)
        centre = rng.uniform(0, edge, 3)
        positions += [centre, centre + [0.0957, 0, 0], centre + [-0.024, 0.0927, 0]]
    topology.setPeriodicBoxVectors([[edge, 0, 0], [0.1, edge, 0], [-0.2, 0.3, edge]])
    return topology, np.array(positions)


def test_shifting_any_atom_by_a_box_vector_changes_nothing(model_path, platform):
    topology, x = water_box()
    system = openmmept.EPTPotential(model_path, precision="float64").createSystem(topology)
    assert system.usesPeriodicBoundaryConditions()
    context = context_for(system, platform)
    e0, f0 = energy_forces(context, x)
    box = np.array(topology.getPeriodicBoxVectors().value_in_unit(unit.nanometer))
    for i in range(len(x)):
        y = x.copy()
        y[i] += box[i % 3] - 2 * box[(i + 1) % 3]
        e1, f1 = energy_forces(context, y)
        assert e1 == pytest.approx(e0, abs=1e-9)
        assert np.abs(f1 - f0).max() < 1e-8


def test_global_parameter_scales_the_energy_and_its_derivative_is_right(model_path, peptide, platform):
    force = openmmept.EPTPotential(model_path, precision="float64").createForce(peptide.topology)
    force.setGlobalParameter("lambda_ml", 1.0)
    force.addEnergyParameterDerivative("lambda_ml")
    system = openmm.System()
    for atom in peptide.topology.atoms():
        system.addParticle(atom.element.mass)
    system.addForce(force)
    context = context_for(system, platform)
    full, _ = energy_forces(context, peptide.positions)
    context.setParameter("lambda_ml", 0.25)
    state = context.getState(getEnergy=True, getParameterDerivatives=True)
    assert state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) == pytest.approx(0.25 * full, rel=1e-12)
    assert state.getEnergyParameterDerivatives()["lambda_ml"] == pytest.approx(full, rel=1e-12)


def test_subset_force_leaves_the_other_atoms_alone(model_path, peptide, platform):
    ml = [a.index for a in peptide.topology.atoms() if a.residue.index == 1]
    force = openmmept.EPTPotential(model_path).createForce(peptide.topology, ml)
    system = openmm.System()
    for atom in peptide.topology.atoms():
        system.addParticle(atom.element.mass)
    system.addForce(force)
    _, forces = energy_forces(context_for(system, platform), peptide.positions)
    outside = np.setdiff1d(np.arange(len(forces)), ml)
    assert np.all(forces[outside] == 0)
    assert np.abs(forces[ml]).sum() > 0


def test_xml_round_trip_is_self_contained(model_path, peptide, platform, tmp_path):
    copy_of_model = tmp_path / "model.ept"
    copy_of_model.write_bytes(open(model_path, "rb").read())
    system = openmmept.EPTPotential(str(copy_of_model)).createSystem(peptide.topology)
    xml = openmm.XmlSerializer.serialize(system)
    copy_of_model.unlink()  # the XML must not need the file
    restored = openmm.XmlSerializer.deserialize(xml)
    assert openmm.XmlSerializer.serialize(restored) == xml
    e1, f1 = energy_forces(context_for(system, platform), peptide.positions)
    e2, f2 = energy_forces(context_for(restored, platform), peptide.positions)
    assert e1 == e2
    assert np.array_equal(f1, f2)


def test_xml_with_a_damaged_model_is_refused(model_path, peptide):
    xml = openmm.XmlSerializer.serialize(openmmept.EPTPotential(model_path).createSystem(peptide.topology))
    start = xml.index('model="') + len('model="') + 400
    damaged = xml[:start] + ("A" if xml[start] != "A" else "B") + xml[start + 1:]
    with pytest.raises(Exception, match="checksum"):
        openmm.XmlSerializer.deserialize(damaged)


def amber_system(topology):
    forcefield = app.ForceField("amber14-all.xml")
    return forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None)


def test_mixed_system_at_lambda_zero_is_the_mm_system(model_path, peptide, platform):
    mm = amber_system(peptide.topology)
    ml_atoms = [a.index for a in peptide.topology.atoms() if a.residue.index in (0, 1)]
    # The region ends at a bond to residue 3: openmm-ml caps it with a link atom (a virtual site EPT sees).
    info = openmmept.EPTPotential(model_path, precision="float64").createMixedSystem(
        peptide.topology, mm, ml_atoms, interpolate=True, returnInfo=True)
    mixed, old_to_new = info["system"], info["oldToNew"]
    assert mixed.getNumParticles() == mm.getNumParticles() + 1
    x = np.zeros((mixed.getNumParticles(), 3))
    x[old_to_new] = positions_nm(peptide)
    mixed_context = context_for(mixed, platform)
    mixed_context.setParameter("lambda_interpolate", 0.0)
    mixed_context.setPositions(x)
    mixed_context.computeVirtualSites()
    e_mixed, f_mixed = energy_forces(mixed_context, mixed_context.getState(getPositions=True).getPositions())
    e_mm, f_mm = energy_forces(context_for(mm, platform), peptide.positions)
    # The CPU platform's nonbonded kernel is single precision; the mixed system moves pairs out of it.
    tolerance = 1e-9 if platform.getName() == "Reference" else 1e-6
    assert e_mixed == pytest.approx(e_mm, rel=tolerance)
    assert np.abs(f_mixed[old_to_new] - f_mm).max() < tolerance * np.abs(f_mm).max()
    # Fully on: the MM terms inside the region are gone and EPT is in.
    mixed_context.setParameter("lambda_interpolate", 1.0)
    e_on, _ = energy_forces(mixed_context, mixed_context.getState(getPositions=True).getPositions())
    assert abs(e_on - e_mm) > 1e-3


def test_two_contexts_from_one_system_run_side_by_side(model_path, peptide, platform):
    system = openmmept.EPTPotential(model_path).createSystem(peptide.topology)
    integrators = [openmm.VerletIntegrator(0.0005), openmm.VerletIntegrator(0.0005)]
    contexts = [openmm.Context(system, i, platform) for i in integrators]
    for c in contexts:
        c.setPositions(peptide.positions)
    for _ in range(3):
        for i in integrators:
            i.step(3)
        energies = [c.getState(getEnergy=True).getPotentialEnergy() for c in contexts]
        assert energies[0] == energies[1]


def test_threads_belong_to_the_context_and_leave_the_process_setting_alone(model_path, peptide, platform):
    torch = pytest.importorskip("torch")  # the same LibTorch as the plugin's, so its thread count is the plugin's
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        results = []
        for threads in ("1", "2", "0"):
            force = openmmept.EPTPotential(model_path, threads=int(threads)).createForce(peptide.topology)
            system = openmm.System()
            for atom in peptide.topology.atoms():
                system.addParticle(atom.element.mass)
            system.addForce(force)
            results.append(energy_forces(context_for(system, platform), peptide.positions))
            assert torch.get_num_threads() == 2, f"a Context with threads={threads} changed the process's count"
        for energy, forces in results[1:]:
            assert energy == pytest.approx(results[0][0], rel=1e-6)
            assert np.abs(forces - results[0][1]).max() <= 1e-4 * np.abs(results[0][1]).max()
    finally:
        torch.set_num_threads(before)


def test_fused_and_reference_implementations_agree(model_path, peptide, platform):
    results = {}
    for implementation in ("fused", "reference"):
        force = openmmept.EPTPotential(model_path, precision="float64",
                                       implementation=implementation).createForce(peptide.topology)
        system = openmm.System()
        for atom in peptide.topology.atoms():
            system.addParticle(atom.element.mass)
        system.addForce(force)
        results[implementation] = energy_forces(context_for(system, platform), peptide.positions)
    (e_fused, f_fused), (e_ref, f_ref) = results["fused"], results["reference"]
    assert e_fused == pytest.approx(e_ref, rel=1e-10)
    assert np.abs(f_fused - f_ref).max() <= 1e-10 * np.abs(f_ref).max()
    with pytest.raises(openmm.OpenMMException, match="fused or reference"):
        force.setProperty("implementation", "fast")


def test_bad_input_gives_named_errors(model_path, peptide, platform, tmp_path):
    with pytest.raises(openmm.OpenMMException, match="missing.ept"):
        openmmept.EPTForce(str(tmp_path / "missing.ept"))
    corrupt = tmp_path / "corrupt.ept"
    corrupt.write_bytes(open(model_path, "rb").read()[:-10])
    with pytest.raises(openmm.OpenMMException, match="truncated"):
        openmmept.EPTForce(str(corrupt))
    force = openmmept.EPTForce(model_path)
    with pytest.raises(openmm.OpenMMException, match="unknown property 'speed'"):
        force.setProperty("speed", "fast")
    with pytest.raises(ValueError, match="atoms but the System 0 particles|System made from this topology"):
        openmmept.EPTPotential(model_path).createMixedSystem(peptide.topology, openmm.System(), [0])
    # Chemistry for fewer atoms than the System has.
    system = openmmept.EPTPotential(model_path).createSystem(peptide.topology)
    system.addParticle(1.0)
    with pytest.raises(openmm.OpenMMException, match="chemistry was given for"):
        context_for(system, platform)
    # NaN positions.
    context = context_for(openmmept.EPTPotential(model_path).createSystem(peptide.topology), platform)
    x = positions_nm(peptide)
    x[3, 0] = np.nan
    with pytest.raises(openmm.OpenMMException, match="(?i)nan"):
        energy_forces(context, x)
    # Direct mode cannot give an energy derivative.
    force = openmmept.EPTPotential(model_path, outputMode="direct").createForce(peptide.topology)
    force.setGlobalParameter("lambda_ml")
    force.addEnergyParameterDerivative("lambda_ml")
    system = openmm.System()
    for atom in peptide.topology.atoms():
        system.addParticle(atom.element.mass)
    system.addForce(force)
    with pytest.raises(openmm.OpenMMException, match="direct mode"):
        context_for(system, platform)
    # An atom without an element (a virtual site in the topology).
    topology = copy.deepcopy(peptide.topology)
    next(topology.atoms()).element = None
    with pytest.raises(ValueError, match="no element"):
        openmmept.EPTPotential(model_path).createForce(topology)
