#!/usr/bin/env python3
"""Cost of an EPTForce evaluation when one molecule is far from another: alanine dipeptide plus one water placed
(d, d, d) nm away, EPT on all 25 atoms, CPU platform, float32. Each distance runs in a process of its own (peak RSS
is per process); prints a Markdown table. Time it pinned: taskset -c 0 python tests/benchmarks/far_apart.py"""
import resource
import subprocess
import sys
import time

import numpy as np

DISTANCES = (1, 100, 200, 1000, 1e8)


def measure(d: float) -> str:
    import openmm
    import openmm.app as app
    import openmm.unit as unit

    import openmmept
    from openmmept import testsystems
    topology, positions = testsystems.alanine_dipeptide()
    modeller = app.Modeller(topology, positions)
    water = app.Topology()
    residue = water.addResidue("HOH", water.addChain())
    o = water.addAtom("O", app.element.oxygen, residue)
    for name in ("H1", "H2"):
        water.addBond(o, water.addAtom(name, app.element.hydrogen, residue))
    w = np.array([[0, 0, 0], [0.0957, 0, 0], [-0.024, 0.0927, 0]])
    modeller.add(water, w * unit.nanometer)
    force = openmmept.EPTPotential(threads=1).createForce(modeller.topology)
    system = openmm.System()
    for atom in modeller.topology.atoms():
        system.addParticle(atom.element.mass)
    system.addForce(force)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    x = np.vstack([np.array(positions.value_in_unit(unit.nanometer)), w + d])
    context.setPositions(x)
    context.getState(getEnergy=True, getForces=True)
    times = []
    for _ in range(7):
        x[-3:] += 1e-4  # new positions: no reuse of the last evaluation
        context.setPositions(x)
        start = time.perf_counter()
        state = context.getState(getEnergy=True, getForces=True)
        times.append(time.perf_counter() - start)
    forces = state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"| {d:g} | {1e3 * np.median(times):.1f} | {rss:.0f} | {np.isfinite(forces).all()} |"


def main() -> None:
    if len(sys.argv) > 1:
        print(measure(float(sys.argv[1])))
        return
    print("| d (nm) | energy+forces (ms, median of 7) | peak RSS (MB) | forces finite |")
    print("|---:|---:|---:|---|")
    for d in DISTANCES:
        print(subprocess.run([sys.executable, __file__, str(d)], capture_output=True, text=True,
                             check=True).stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
