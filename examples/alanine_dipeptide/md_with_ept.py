#!/usr/bin/env python3
"""Alanine dipeptide in amber14 + implicit solvent (OBC2) with the shipped EPT correction toward GFN2-xTB added.

    eval "$(./run env)"
    python examples/alanine_dipeptide/md_with_ept.py --steps 5000

The correction (models/ept-delta-amber14) was finetuned on GFN2-xTB/ALPB(water) − amber14/OBC2 energies and forces
of MD frames (examples/augmentation). Prints the MM and EPT energies as the run goes, the speed in ns/day, the
correction's share of the energy fluctuations and of the forces, and writes block (residue) descriptors of every
reported frame with a DescriptorReporter.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit

import openmmept
from openmmept.testsystems import alanine_dipeptide

KJ = unit.kilojoule_per_mole


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="EPT checkpoint (default: the shipped ept-delta-amber14)")
    parser.add_argument("--steps", type=int, default=5000, help="MD steps of 2 fs (default 5000: 10 ps)")
    parser.add_argument("--report", type=int, default=500, help="steps between energy reports and descriptor frames")
    parser.add_argument("--descriptors", default="alanine_dipeptide_blocks.npy",
                        help="block descriptors written here (.npy, one frame per report, .json beside it)")
    parser.add_argument("--platform", default="CPU", choices=["CPU", "Reference"])
    parser.add_argument("--threads", type=int, default=1, help="threads of the EPT model")
    parser.add_argument("--energy-scale", type=float, default=1.0, help="multiplies the EPT energy")
    args = parser.parse_args(argv)

    model = args.model or openmmept.model_path("ept-delta-amber14")
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
    simulation.reporters.append(openmmept.DescriptorReporter(args.descriptors, args.report, level="block"))

    print(f"model: {model} (checksum {force.getModelChecksum()})")
    print(f"system: alanine dipeptide, {topology.getNumAtoms()} atoms, amber14 + OBC2 + EPT, {args.platform} platform")
    print(f"{'step':>8} {'E_MM (kJ/mol)':>15} {'E_EPT (kJ/mol)':>15} {'T (K)':>8}")
    dof = 3 * system.getNumParticles() - system.getNumConstraints()
    mm_energy, ept_energy, mm_forces, ept_forces = [], [], [], []
    start, done, seconds = time.perf_counter(), 0, 0.0
    while done < args.steps:
        n = min(args.report, args.steps - done)
        t0 = time.perf_counter()
        simulation.step(n)
        seconds += time.perf_counter() - t0  # the dynamics only, not the reports below
        done += n
        mm = simulation.context.getState(getEnergy=True, getForces=True, groups={0})
        ml = simulation.context.getState(getEnergy=True, getForces=True, groups={1})
        mm_energy.append(mm.getPotentialEnergy().value_in_unit(KJ))
        ept_energy.append(ml.getPotentialEnergy().value_in_unit(KJ))
        mm_forces.append(mm.getForces(asNumpy=True).value_in_unit(KJ / unit.nanometer))
        ept_forces.append(ml.getForces(asNumpy=True).value_in_unit(KJ / unit.nanometer))
        temperature = 2 * mm.getKineticEnergy() / (dof * unit.MOLAR_GAS_CONSTANT_R)
        print(f"{done:8d} {mm_energy[-1]:15.3f} {ept_energy[-1]:15.3f} {temperature.value_in_unit(unit.kelvin):8.1f}")
    del simulation.reporters[:]  # closes the descriptor file
    ns = args.steps * 2e-6
    print(f"speed: {ns / seconds * 86400:.2f} ns/day ({seconds / args.steps * 1e3:.2f} ms per step, "
          f"{args.threads} EPT thread(s))")
    total = np.array(mm_energy) + np.array(ept_energy)
    f_ept, f_total = np.array(ept_forces), np.array(mm_forces) + np.array(ept_forces)
    print(f"correction's share: energy fluctuations (standard deviation over the reports) {np.std(ept_energy):.2f} "
          f"kJ/mol beside amber14's {np.std(mm_energy):.2f} (together {np.std(total):.2f}); RMS force "
          f"{np.sqrt((f_ept ** 2).mean()) / 10:.1f} of {np.sqrt((f_total ** 2).mean()) / 10:.1f} kJ/mol/Å in all "
          f"({np.sqrt((f_ept ** 2).sum() / (f_total ** 2).sum()):.0%})")
    frames = np.load(args.descriptors)
    print(f"descriptors: {args.descriptors}: {frames.shape[0]} frames × {frames.shape[1]} blocks × "
          f"{frames.shape[2]} columns (labels in {Path(args.descriptors).name}.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
