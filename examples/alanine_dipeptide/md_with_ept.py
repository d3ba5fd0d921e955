#!/usr/bin/env python3
"""Alanine dipeptide in amber14 + implicit solvent (OBC2) with an EPT correction added to the force field.

    eval "$(./run env)"
    python examples/alanine_dipeptide/md_with_ept.py --steps 2000

Prints the MM and EPT energies as the run goes, and the speed in ns/day.
"""
import argparse
import sys
import time

import openmm
import openmm.app as app
import openmm.unit as unit

import openmmept
from openmmept.testsystems import alanine_dipeptide


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="EPT checkpoint (default: the shipped model)")
    parser.add_argument("--steps", type=int, default=2000, help="MD steps of 2 fs (default 2000)")
    parser.add_argument("--report", type=int, default=500, help="steps between energy reports")
    parser.add_argument("--platform", default="CPU", choices=["CPU", "Reference"])
    parser.add_argument("--threads", type=int, default=1, help="threads of the EPT model")
    parser.add_argument("--energy-scale", type=float, default=1.0, help="multiplies the EPT energy")
    args = parser.parse_args(argv)

    model = args.model or openmmept.default_model_path()
    topology, positions = alanine_dipeptide()
    forcefield = app.ForceField("amber14-all.xml", "implicit/obc2.xml")
    system = forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    ept = openmmept.EPTPotential(model, energyScale=args.energy_scale, threads=args.threads)
    force = ept.createForce(topology)
    force.setForceGroup(1)  # MM terms stay in group 0
    system.addForce(force)

    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    simulation = app.Simulation(topology, system, integrator, openmm.Platform.getPlatformByName(args.platform))
    simulation.context.setPositions(positions)
    simulation.minimizeEnergy(maxIterations=200)
    simulation.context.setVelocitiesToTemperature(300 * unit.kelvin, 1)

    print(f"model: {model} (checksum {force.getModelChecksum()})")
    print(f"system: alanine dipeptide, {topology.getNumAtoms()} atoms, amber14 + OBC2 + EPT, {args.platform} platform")
    print(f"{'step':>8} {'E_MM (kJ/mol)':>15} {'E_EPT (kJ/mol)':>15} {'T (K)':>8}")
    dof = 3 * system.getNumParticles() - system.getNumConstraints()
    start, done = time.perf_counter(), 0
    while done < args.steps:
        n = min(args.report, args.steps - done)
        simulation.step(n)
        done += n
        mm = simulation.context.getState(getEnergy=True, groups={0})
        ml = simulation.context.getState(getEnergy=True, groups={1})
        temperature = 2 * mm.getKineticEnergy() / (dof * unit.MOLAR_GAS_CONSTANT_R)
        print(f"{done:8d} {mm.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole):15.3f} "
              f"{ml.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole):15.3f} "
              f"{temperature.value_in_unit(unit.kelvin):8.1f}")
    seconds = time.perf_counter() - start
    ns = args.steps * 2e-6
    print(f"speed: {ns / seconds * 86400:.2f} ns/day ({seconds / args.steps * 1e3:.2f} ms per step, "
          f"{args.threads} EPT thread(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
