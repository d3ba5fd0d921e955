"""EPT through openmm-ml: MLPotential("ept") with openmm-ml's own createSystem and createMixedSystem."""
import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest
from openmmml import MLPotential

import openmmept
from conftest import FIXTURES

KJ = unit.kilojoule_per_mole
NM = unit.nanometer


def energy_forces(context, positions=None):
    if positions is not None:
        context.setPositions(positions)
    state = context.getState(getEnergy=True, getForces=True)
    return state.getPotentialEnergy().value_in_unit(KJ), state.getForces(asNumpy=True).value_in_unit(KJ / NM)


def ept_forces(system):
    return [f for f in system.getForces() if isinstance(f, openmmept.EPTForce)]


def test_mlpotential_ept_uses_the_shipped_model(peptide):
    system = MLPotential("ept").createSystem(peptide.topology)
    (force,) = ept_forces(system)
    assert force.getModelPath() == openmmept.default_model_path()
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    energy, forces = energy_forces(context, peptide.positions)
    assert np.isfinite(energy) and np.isfinite(forces).all() and np.abs(forces).max() > 0


def test_mlpotential_arguments_reach_the_force(model_path, peptide):
    potential = MLPotential("ept", modelPath=model_path, precision="float64")
    system = potential.createSystem(peptide.topology, energyScale=0.5, outputMode="direct", neighborSkin=0.02)
    (force,) = ept_forces(system)
    assert force.getModelPath() == model_path
    assert force.getEnergyScale() == 0.5 and force.getOutputMode() == openmmept.OutputMode.Direct
    assert force.getProperties()["precision"] == "float64" and force.getProperties()["neighborSkin"] == "0.02"
    with pytest.raises(TypeError, match="unexpected arguments colour"):
        MLPotential("ept", colour="blue")
    with pytest.warns(UserWarning, match="precison"):
        potential.createSystem(peptide.topology, precison="float32")
    with pytest.raises(ValueError, match="outputMode"):
        potential.createSystem(peptide.topology, outputMode="sideways")
    # EPTPotential is the same path under its own name.
    assert openmm.XmlSerializer.serialize(openmmept.EPTPotential(model_path, precision="float64").createSystem(
        peptide.topology)) == openmm.XmlSerializer.serialize(potential.createSystem(peptide.topology))


def test_the_embeddings_are_openmm_mls(model_path):
    # "mechanical" is openmm-ml's own embedding, which MLPotential("ept") runs itself (to complete the System after
    # it, openmmept.mlmm): the names a user can pass are the same as for any other potential.
    potential = MLPotential("ept", modelPath=model_path)
    assert potential.getSupportedEmbeddings() == ["mechanical"]


@pytest.fixture(scope="module")
def solvated():
    """The peptide in a periodic box of TIP3P water, amber14 with PME and constraints on bonds to hydrogen."""
    pdb = app.PDBFile(str(FIXTURES / "peptide_AGS.pdb"))
    forcefield = app.ForceField("amber14-all.xml", "amber14/tip3p.xml")
    modeller = app.Modeller(pdb.topology, pdb.positions)
    modeller.addSolvent(forcefield, boxSize=openmm.Vec3(2.2, 2.2, 2.2) * NM, model="tip3p")
    system = forcefield.createSystem(modeller.topology, nonbondedMethod=app.PME, nonbondedCutoff=0.8 * NM,
                                     constraints=app.HBonds)
    ml_atoms = [a.index for a in modeller.topology.atoms() if a.residue.chain.index == 0]
    return modeller.topology, modeller.positions, system, ml_atoms


def test_mixed_system_in_water_with_pme_interpolates_from_the_mm_system(model_path, solvated):
    topology, positions, mm, ml_atoms = solvated
    assert mm.usesPeriodicBoundaryConditions() and len(ml_atoms) == 31 and topology.getNumAtoms() > 900
    potential = MLPotential("ept", modelPath=model_path, precision="float64")
    mixed = potential.createMixedSystem(topology, mm, ml_atoms, interpolate=True)
    (force,) = [f.getCollectiveVariable(i) for f in mixed.getForces() if isinstance(f, openmm.CustomCVForce)
                for i in range(f.getNumCollectiveVariables())
                if isinstance(f.getCollectiveVariable(i), openmmept.EPTForce)]
    assert force.usesPeriodicBoundaryConditions() and list(force.getAtoms()) == ml_atoms
    # Constraints inside the ML region are gone (removeConstraints=True), the others stay.
    ml = set(ml_atoms)
    kept = [mixed.getConstraintParameters(i)[:2] for i in range(mixed.getNumConstraints())]
    assert kept and not any(a in ml and b in ml for a, b in kept)

    reference = openmm.Platform.getPlatformByName("Reference")
    mixed_context = openmm.Context(mixed, openmm.VerletIntegrator(0.001), reference)
    mm_context = openmm.Context(mm, openmm.VerletIntegrator(0.001), reference)
    mixed_context.setParameter("lambda_interpolate", 0.0)
    e_mixed, f_mixed = energy_forces(mixed_context, positions)
    e_mm, f_mm = energy_forces(mm_context, positions)
    # Equal up to PME's own error: openmm-ml evaluates the ML–ML pairs' MM terms in a separate NonbondedForce.
    assert e_mixed == pytest.approx(e_mm, rel=1e-5)
    assert np.abs(f_mixed - f_mm).max() < 1e-3 * np.abs(f_mm).max()

    # Halfway, forces are −∂E/∂x: central differences along random displacements of the ML atoms. The part that
    # λ switches on is compared (λ = 0.5 minus λ = 0), which leaves out the MM pairs crossing PME's hard cutoff.
    mixed_context.setParameter("lambda_interpolate", 0.5)
    e_half, f_half = energy_forces(mixed_context)
    assert abs(e_half - e_mm) > 1e-3
    x = np.array(positions.value_in_unit(NM))
    rng = np.random.default_rng(0)
    h = 1e-6
    for _ in range(3):
        d = np.zeros_like(x)
        d[ml_atoms] = rng.normal(size=(len(ml_atoms), 3))
        d /= np.linalg.norm(d)
        slopes = []
        for lam in (0.5, 0.0):
            mixed_context.setParameter("lambda_interpolate", lam)
            e_plus, _ = energy_forces(mixed_context, x + h * d)
            e_minus, _ = energy_forces(mixed_context, x - h * d)
            slopes.append((e_plus - e_minus) / (2 * h))
        assert slopes[0] - slopes[1] == pytest.approx(-((f_half - f_mixed) * d).sum(), rel=1e-4, abs=1e-2)
    mixed_context.setParameter("lambda_interpolate", 0.5)

    # The XML of the mixed system gives the same energy.
    restored = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(mixed))
    restored_context = openmm.Context(restored, openmm.VerletIntegrator(0.001), reference)
    restored_context.setParameter("lambda_interpolate", 0.5)
    e_restored, f_restored = energy_forces(restored_context, positions)
    assert e_restored == pytest.approx(e_half, rel=1e-12)
    assert np.abs(f_restored - f_half).max() <= 1e-9 * np.abs(f_half).max()
