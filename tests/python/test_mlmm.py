"""ML/MM Systems that run: MLPotential("ept") and EPTPotential's createMixedSystem in vacuum, implicit solvent (OBC2
and GBn2 as amber14's CustomGBForce, the native GBSAOBCForce) and PME water, where the ML region cuts a covalent bond
and openmm-ml adds a link-atom virtual site after the topology's atoms."""
import copy
from pathlib import Path

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest
from openmmml import MLPotential

import openmmept
from conftest import FIXTURES

# The test model's energy head is untrained, and openmm-ept says so wherever it replaces the force field.
pytestmark = pytest.mark.filterwarnings("ignore:the 'ept' model .* stands in for the force field:UserWarning")

KJ = unit.kilojoule_per_mole
NM = unit.nanometer
REFERENCE = openmm.Platform.getPlatformByName("Reference")
CPU = openmm.Platform.getPlatformByName("CPU")
GB_FORCES = (openmm.CustomGBForce, openmm.GBSAOBCForce)
# (force field files, createSystem arguments); "pme" solvates the peptide first.
SOLVENTS = {
    "vacuum": (("amber14-all.xml",), {}),
    "obc2": (("amber14-all.xml", "implicit/obc2.xml"), {}),
    "gbn2": (("amber14-all.xml", "implicit/gbn2.xml"), {}),
    "gbsaobc": (("amber99sb.xml", "amber99_obc.xml"), {}),
    "pme": (("amber14-all.xml", "amber14/tip3p.xml"), {"nonbondedMethod": app.PME, "nonbondedCutoff": 0.8 * NM}),
}


@pytest.fixture(scope="module")
def systems():
    """Per solvent: topology, positions, MM System, and the ML atoms (the peptide's first two residues: the region
    cuts one bond, Gly C–Ser N)."""
    made = {}
    pdb = app.PDBFile(str(FIXTURES / "peptide_AGS.pdb"))
    for name, (files, options) in SOLVENTS.items():
        forcefield = app.ForceField(*files)
        topology, positions = pdb.topology, pdb.positions
        if name == "pme":
            modeller = app.Modeller(topology, positions)
            modeller.addSolvent(forcefield, boxSize=openmm.Vec3(2.2, 2.2, 2.2) * NM, model="tip3p")
            topology, positions = modeller.topology, modeller.positions
        system = forcefield.createSystem(topology, **options)
        ml_atoms = [a.index for a in topology.atoms() if a.residue.chain.index == 0 and a.residue.index < 2]
        made[name] = topology, positions, system, ml_atoms
    return made


def energy_forces(context, groups=-1):
    state = context.getState(getEnergy=True, getForces=True, groups=groups)
    return state.getPotentialEnergy().value_in_unit(KJ), state.getForces(asNumpy=True).value_in_unit(KJ / NM)


def place(context, system, x):
    """The topology's positions x (nm) into a Context of the mixed System, the link sites placed by OpenMM."""
    full = np.zeros((system.getNumParticles(), 3))
    full[:len(x)] = x
    context.setPositions(full)
    context.computeVirtualSites()


def mm_energy_forces(system, positions, groups=-1):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), REFERENCE)
    context.setPositions(positions)
    return energy_forces(context, groups)


def directional_derivatives(context, system, x, lambdas, rng, h=1e-4, directions=2):
    """For random unit directions d over the topology's atoms: (central difference of E along d, −F·d), each summed
    over ``lambdas`` with their signs (+1, −1, ...)."""
    n = len(x)
    pairs = []
    for _ in range(directions):
        d = rng.normal(size=x.shape)
        d /= np.linalg.norm(d)
        numeric = analytic = 0.0
        for lam, sign in lambdas:
            context.setParameter("lambda_interpolate", lam)
            place(context, system, x + h * d)
            e_plus, _ = energy_forces(context)
            place(context, system, x - h * d)
            e_minus, _ = energy_forces(context)
            place(context, system, x)
            _, forces = energy_forces(context)
            numeric += sign * (e_plus - e_minus) / (2 * h)
            analytic += sign * -(forces[:n] * d).sum()
        pairs.append((numeric, analytic))
    return pairs


@pytest.mark.parametrize("solvent", list(SOLVENTS))
def test_mixed_system_runs_and_interpolates_from_the_mm_system(model_path, systems, solvent):
    topology, positions, mm, ml_atoms = systems[solvent]
    n = topology.getNumAtoms()
    potential = MLPotential("ept", modelPath=model_path, precision="float64")
    mixed = potential.createMixedSystem(topology, mm, ml_atoms, interpolate=True)
    plain = potential.createMixedSystem(topology, mm, ml_atoms)
    assert mixed.getNumParticles() == plain.getNumParticles() == n + 1 and mixed.isVirtualSite(n)
    context = openmm.Context(mixed, openmm.VerletIntegrator(0.001), REFERENCE)
    full = openmmept.mixed_positions(mixed, positions)
    context.setPositions(full)

    # λ = 0 is the MM System: to rounding, and to openmm-ml's own value of the Coulomb constant (relative 1e-8) in
    # the ML–ML pairs' Coulomb term, which it computes apart; with PME also to what the ML–ML pairs' periodic images
    # add, which it leaves out.
    context.setParameter("lambda_interpolate", 0.0)
    e_zero, f_zero = energy_forces(context)
    e_mm, f_mm = mm_energy_forces(mm, positions)
    assert e_zero == pytest.approx(e_mm, rel=1e-6 if solvent == "pme" else 1e-9, abs=1e-6)
    assert np.abs(f_zero[:n] - f_mm).max() < 1e-7 * np.abs(f_mm).max()

    # λ = 1 is the System made without interpolation.
    context.setParameter("lambda_interpolate", 1.0)
    e_one, _ = energy_forces(context)
    plain_context = openmm.Context(plain, openmm.VerletIntegrator(0.001), REFERENCE)
    plain_context.setPositions(full)
    assert e_one == pytest.approx(energy_forces(plain_context)[0], rel=1e-9, abs=1e-6)
    assert abs(e_one - e_zero) > 1e-3

    # Forces are −∂E/∂x at λ = 1, the link site's force passed on to the atoms it is placed from. With PME, the part
    # that λ switches on (λ = 1 minus λ = 0): the rest holds PME's hard cutoff, across which a pair's energy jumps.
    x = np.array(positions.value_in_unit(NM))
    lambdas = [(1.0, 1), (0.0, -1)] if solvent == "pme" else [(1.0, 1)]
    for numeric, analytic in directional_derivatives(context, mixed, x, lambdas, np.random.default_rng(7)):
        assert numeric == pytest.approx(analytic, rel=1e-5, abs=1e-3)

    # 100 Langevin steps at λ = 1 stay finite, and the site stays on its bond.
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.001 * unit.picoseconds)
    integrator.setRandomNumberSeed(11)
    dynamics = openmm.Context(mixed, integrator, CPU)
    dynamics.setPositions(full)
    dynamics.setVelocitiesToTemperature(300 * unit.kelvin, 11)
    integrator.step(100)
    state = dynamics.getState(getEnergy=True, getPositions=True)
    after = state.getPositions(asNumpy=True).value_in_unit(NM)
    assert np.isfinite(after).all() and np.isfinite(state.getPotentialEnergy().value_in_unit(KJ))
    anchor, partner = mixed.getVirtualSite(n).getParticle(0), mixed.getVirtualSite(n).getParticle(1)
    along = (after[partner] - after[anchor]) / np.linalg.norm(after[partner] - after[anchor])
    assert np.linalg.norm(after[n] - after[anchor] - 0.107 * along) < 1e-6  # C and H covalent radii, 0.075 + 0.032


@pytest.mark.parametrize("solvent", ["obc2", "gbn2", "gbsaobc"])
def test_link_sites_change_no_energy_of_the_implicit_solvent(model_path, systems, solvent):
    topology, positions, mm, ml_atoms = systems[solvent]
    n = topology.getNumAtoms()
    mm = copy.deepcopy(mm)
    for group, force in enumerate(mm.getForces()):
        force.setForceGroup(group)
    mixed = openmmept.EPTPotential(model_path, precision="float64").createMixedSystem(topology, mm, ml_atoms)
    groups = [group for group, force in enumerate(mm.getForces()) if isinstance(force, GB_FORCES)]
    assert len(groups) == 1
    # The solvent's force (and, for GBSAOBCForce, the force that takes away the site's surface-area term, in the
    # same group) gives the MM System's energy and forces, to the last bits.
    context = openmm.Context(mixed, openmm.VerletIntegrator(0.001), REFERENCE)
    context.setPositions(openmmept.mixed_positions(mixed, positions))
    e_mixed, f_mixed = energy_forces(context, {groups[0]})
    e_mm, f_mm = mm_energy_forces(mm, positions, {groups[0]})
    assert abs(e_mm) > 100 and e_mixed == pytest.approx(e_mm, rel=1e-13)
    assert np.abs(f_mixed[:n] - f_mm).max() <= 1e-11 * np.abs(f_mm).max()
    in_group = [type(f).__name__ for f in mixed.getForces() if f.getForceGroup() == groups[0]]
    assert in_group == (["GBSAOBCForce", "CustomGBForce"] if solvent == "gbsaobc" else ["CustomGBForce"])


def villin():
    pdb = app.PDBFile(str(Path(app.__file__).parent / "data" / "test.pdb"))
    modeller = app.Modeller(pdb.topology, pdb.positions)
    modeller.delete([r for r in modeller.topology.residues() if r.name in ("HOH", "Cl", "CL", "NA", "Na")])
    return modeller.topology, modeller.positions


def test_villin_in_obc2_through_eptpotential_runs(model_path):
    topology, positions = villin()
    n = topology.getNumAtoms()
    mm = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(topology, nonbondedMethod=app.NoCutoff)
    ml_atoms = [a.index for a in topology.atoms() if a.residue.index < 8]
    mixed = openmmept.EPTPotential(model_path).createMixedSystem(topology, mm, ml_atoms, interpolate=True)
    assert n > 500 and mixed.getNumParticles() == n + 1
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.001 * unit.picoseconds)
    context = openmm.Context(mixed, integrator, CPU)
    context.setPositions(openmmept.mixed_positions(mixed, positions))
    context.setParameter("lambda_interpolate", 0.0)
    mm_context = openmm.Context(mm, openmm.VerletIntegrator(0.001), CPU)
    mm_context.setPositions(positions)
    # The CPU platform's GB forces are single precision.
    assert energy_forces(context)[0] == pytest.approx(energy_forces(mm_context)[0], rel=1e-5)
    context.setParameter("lambda_interpolate", 1.0)
    integrator.step(10)
    state = context.getState(getEnergy=True, getPositions=True)
    assert np.isfinite(state.getPositions(asNumpy=True).value_in_unit(NM)).all()
    assert np.isfinite(state.getPotentialEnergy().value_in_unit(KJ))


def test_mixed_positions_place_the_link_site_and_returninfo_gives_its_topology(model_path, systems, tmp_path):
    topology, positions, mm, ml_atoms = systems["vacuum"]
    n = topology.getNumAtoms()
    potential = openmmept.EPTPotential(model_path)
    info = potential.createMixedSystem(topology, mm, ml_atoms, returnInfo=True)
    mixed = info["system"]
    assert info["topology"].getNumAtoms() == mixed.getNumParticles() == n + 1
    (force,) = [f for f in mixed.getForces() if isinstance(f, openmmept.EPTForce)]
    assert list(force.getAtoms()) == ml_atoms + [n]  # the model sees the cap

    full = openmmept.mixed_positions(mixed, positions)
    x = np.array(positions.value_in_unit(NM))
    y = full.value_in_unit(NM)
    assert len(y) == n + 1 and np.array_equal(np.array(y[:n]), x)
    carbon, nitrogen = 17, 19  # Gly C (ML), Ser N (MM)
    bond = (x[nitrogen] - x[carbon]) / np.linalg.norm(x[nitrogen] - x[carbon])
    assert np.linalg.norm(np.array(y[n]) - x[carbon] - 0.107 * bond) < 1e-12
    assert np.array_equal(np.array(openmmept.mixed_positions(mixed, full).value_in_unit(NM)), np.array(y))
    assert np.array_equal(np.array(openmmept.mixed_positions(mixed, x).value_in_unit(NM)), np.array(y))  # nm
    with pytest.raises(ValueError, match="33 positions for a System of 32 particles"):
        openmmept.mixed_positions(mixed, np.zeros((33, 3)))

    # A Simulation of the returned topology and System, with a reporter that writes every particle.
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.001 * unit.picoseconds)
    simulation = app.Simulation(info["topology"], mixed, integrator, CPU)
    simulation.context.setPositions(full)
    simulation.reporters.append(app.PDBReporter(str(tmp_path / "mixed.pdb"), 2))
    simulation.step(4)
    assert app.PDBFile(str(tmp_path / "mixed.pdb")).topology.getNumAtoms() == n + 1


def test_sites_in_collective_variables_and_restraints_change_nothing(model_path, systems):
    topology, positions, mm, ml_atoms = systems["obc2"]
    n = topology.getNumAtoms()
    mm = copy.deepcopy(mm)
    (index,) = [k for k, f in enumerate(mm.getForces()) if isinstance(f, openmm.CustomGBForce)]
    solvent = copy.deepcopy(mm.getForce(index))
    mm.removeForce(index)
    wrapped = openmm.CustomCVForce("2*gb")
    wrapped.addCollectiveVariable("gb", solvent)
    mm.addForce(wrapped)
    mm.addForce(openmm.RMSDForce(positions))  # every particle, by default
    mm.addForce(openmm.RGForce())
    for group, force in enumerate(mm.getForces()):
        force.setForceGroup(group)
    mixed = MLPotential("ept", modelPath=model_path).createMixedSystem(topology, mm, ml_atoms)
    context = openmm.Context(mixed, openmm.VerletIntegrator(0.001), REFERENCE)
    moved = np.array(positions.value_in_unit(NM)) + np.random.default_rng(3).normal(scale=0.01, size=(n, 3))
    place(context, mixed, moved)
    for group in (len(mm.getForces()) - 3, len(mm.getForces()) - 2, len(mm.getForces()) - 1):
        e_mixed, f_mixed = energy_forces(context, {group})
        e_mm, f_mm = mm_energy_forces(mm, moved, {group})
        assert abs(e_mm) > 1e-3 and e_mixed == pytest.approx(e_mm, rel=1e-12)
        assert np.abs(f_mixed[:n] - f_mm).max() <= 1e-10 * np.abs(f_mm).max()


def test_a_force_that_cannot_take_link_sites_is_refused_by_name(model_path, systems):
    topology, positions, mm, ml_atoms = systems["vacuum"]
    potential = MLPotential("ept", modelPath=model_path)
    with_gay_berne = copy.deepcopy(mm)
    gay_berne = openmm.GayBerneForce()
    for _ in range(topology.getNumAtoms()):
        gay_berne.addParticle(0.3, 0.0, -1, -1, 0.3, 0.3, 0.3, 1.0, 1.0, 1.0)
    with_gay_berne.addForce(gay_berne)
    with pytest.raises(openmmept.mlmm.LinkSiteError, match=r"GayBerneForce.*cuts 1 covalent bond.*no covalent bond"):
        potential.createMixedSystem(topology, with_gay_berne, ml_atoms)
    # A region that cuts no bond needs no site: the same System is taken.
    whole = potential.createMixedSystem(topology, with_gay_berne, list(range(topology.getNumAtoms())))
    assert whole.getNumParticles() == topology.getNumAtoms()

    # A GBSAOBCForce with its surface-area term inside a CustomCVForce: the compensating force cannot go there.
    topology, positions, mm, ml_atoms = systems["gbsaobc"]
    wrapped = copy.deepcopy(mm)
    (index,) = [k for k, f in enumerate(wrapped.getForces()) if isinstance(f, openmm.GBSAOBCForce)]
    cv = openmm.CustomCVForce("gb")
    cv.addCollectiveVariable("gb", copy.deepcopy(wrapped.getForce(index)))
    wrapped.removeForce(index)
    wrapped.addForce(cv)
    with pytest.raises(openmmept.mlmm.LinkSiteError, match=r"collective variable 'gb' \(GBSAOBCForce\)"):
        potential.createMixedSystem(topology, wrapped, ml_atoms)


@pytest.mark.parametrize("interpolate", [False, True])
def test_the_link_site_is_a_hydrogen_of_the_residue_it_caps(model_path, systems, interpolate):
    # openmm-ml's topology puts the site in a chain and residue of its own, unbonded: EPT would see a lone H atom
    # as a molecule of its own. It becomes "HL" of Gly 2, bonded to Gly's C, right after Gly's atoms, so the blocks
    # are the two residues only (inside the CustomCVForce as well when interpolating).
    topology, positions, system, ml_atoms = systems["obc2"]
    with pytest.warns(UserWarning, match=r"added 1 link-atom site\(s\): the mixed System has 32 particles for the "
                                         r"topology's 31 atoms. Set positions with openmmept.mixed_positions"):
        mixed = MLPotential("ept", modelPath=model_path).createMixedSystem(topology, system, ml_atoms,
                                                                           interpolate=interpolate)
    forces = [f for f in mixed.getForces() if openmmept.EPTForce.isinstance(f)]
    for cv in (f for f in mixed.getForces() if isinstance(f, openmm.CustomCVForce)):
        forces += [cv.getCollectiveVariable(i) for i in range(cv.getNumCollectiveVariables())
                   if openmmept.EPTForce.isinstance(cv.getCollectiveVariable(i))]
    assert len(forces) == 1
    force = openmmept.EPTForce.cast(forces[0])
    atoms = list(force.getAtoms())
    site = topology.getNumAtoms()
    assert sorted(atoms) == sorted(ml_atoms + [site])
    k = atoms.index(site)
    gly = [a.index for a in topology.atoms() if a.residue.index == 1]
    assert atoms[k - 1] == max(gly)  # right after Gly's last atom
    assert (force.getAtomNames()[k], force.getResidueNames()[k], force.getResidueIds()[k]) == ("HL", "GLY", 2)
    gly_c = next(a.index for a in topology.atoms() if a.residue.index == 1 and a.name == "C")
    assert (atoms.index(gly_c), k) in [tuple(b) for b in force.getBonds()]
    assert list(force.getDescriptorLabels(openmmept.DescriptorLevel.Block)) == ["A:ALA1", "A:GLY2"]
    context = openmm.Context(mixed, openmm.VerletIntegrator(0.001), REFERENCE)
    place(context, mixed, np.array(positions.value_in_unit(NM)))
    assert np.isfinite(context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ))
