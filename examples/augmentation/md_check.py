"""Step 5 of the augmentation loop: molecular dynamics with the learned correction.

    python md_check.py --model ../../pretrain/models/ept-delta-amber14/model.ept

(1) Langevin dynamics (300 K, 2 fs, bonds to H constrained) of alanine dipeptide in amber14 + OBC2 + Δ for
--langevin ps: the energy stays finite and every bond stays within 25 % of its length in the minimised structure.
(2) NVE (velocity Verlet, --nve ps at --nve-step fs) from the same equilibrated state, with and without the
correction: the drift of the total energy (slope of a linear fit) and its standard deviation, side by side.
"""
import argparse
import time

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit

import openmmept
from openmmept.testsystems import capped_peptide

KJ = unit.kilojoule_per_mole


def make_system(topology, model):
    system = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(
        topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    if model:
        force = openmmept.EPTPotential(model, threads=1).createForce(topology)
        force.setForceGroup(1)
        system.addForce(force)
    return system


def bond_lengths(topology, positions):
    x = np.asarray(positions.value_in_unit(unit.nanometer))
    return np.array([np.linalg.norm(x[a.index] - x[b.index]) for a, b in topology.bonds()])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the Δ-model (an EPT checkpoint whose energy is delta:...)")
    parser.add_argument("--sequence", default="A", help="between the ACE and NME caps (default A: alanine dipeptide)")
    parser.add_argument("--langevin", type=float, default=100.0, help="ps of Langevin dynamics with the correction")
    parser.add_argument("--nve", type=float, default=10.0, help="ps of NVE for each system")
    parser.add_argument("--nve-step", type=float, default=1.0, help="fs")
    args = parser.parse_args()
    topology, positions = capped_peptide(args.sequence)
    platform = openmm.Platform.getPlatformByName("CPU")
    properties = {"Threads": "1"}

    system = make_system(topology, args.model)
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integrator.setRandomNumberSeed(5)
    context = openmm.Context(system, integrator, platform, properties)
    context.setPositions(positions)
    openmm.LocalEnergyMinimizer.minimize(context)
    reference = bond_lengths(topology, context.getState(getPositions=True).getPositions())
    context.setVelocitiesToTemperature(300 * unit.kelvin, 5)
    worst, start = 0.0, time.perf_counter()
    for ps in range(int(args.langevin)):
        integrator.step(500)
        state = context.getState(getEnergy=True, getPositions=True)
        energy = state.getPotentialEnergy().value_in_unit(KJ)
        if not np.isfinite(energy):
            raise SystemExit(f"Langevin: the energy is {energy} after {ps + 1} ps")
        worst = max(worst, np.max(np.abs(bond_lengths(topology, state.getPositions()) / reference - 1)))
    print(f"Langevin, amber14 + OBC2 + Δ: {args.langevin:g} ps stable (finite energy); largest bond-length change "
          f"{worst:.1%} of the minimised length; {time.perf_counter() - start:.0f} s")
    if worst > 0.25:
        raise SystemExit("a bond broke")
    equilibrated = context.getState(getPositions=True, getVelocities=True)

    print(f"| NVE, {args.nve_step:g} fs steps, {args.nve:g} ps | drift (kJ/mol/ns) | std of total energy (kJ/mol) |")
    print("|---|---:|---:|")
    for label, model in (("amber14 + OBC2", None), ("amber14 + OBC2 + Δ", args.model)):
        system = make_system(topology, model)
        integrator = openmm.VerletIntegrator(args.nve_step * unit.femtosecond)
        integrator.setConstraintTolerance(1e-8)
        context = openmm.Context(system, integrator, platform, properties)
        context.setPositions(equilibrated.getPositions())
        context.setVelocities(equilibrated.getVelocities())
        context.applyConstraints(1e-8)
        context.applyVelocityConstraints(1e-8)
        times, energies = [], []
        steps_per_report = max(1, round(10 / args.nve_step))  # every 10 fs
        for k in range(round(args.nve * 1000 / args.nve_step / steps_per_report)):
            integrator.step(steps_per_report)
            state = context.getState(getEnergy=True)
            times.append(state.getTime().value_in_unit(unit.nanosecond))
            energies.append((state.getPotentialEnergy() + state.getKineticEnergy()).value_in_unit(KJ))
        slope = np.polyfit(times, energies, 1)[0]
        print(f"| {label} | {slope:.1f} | {np.std(energies):.3f} |")


if __name__ == "__main__":
    main()
