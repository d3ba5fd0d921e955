#!/usr/bin/env python3
"""Descriptor throughput (frames/s): `ept describe` on DCD trajectories, and the live path (EPTForce in a
Context, as DescriptorReporter uses it), for alanine dipeptide and a ~1 000-atom water box, 1 and 2 threads.

    eval "$(./run env)"; python tests/benchmarks/descriptor_throughput.py [--frames 64]

Prints a Markdown table. Frames are thermal jitters of one structure (the cost does not depend on them).
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit

import openmmept
from openmmept.testsystems import alanine_dipeptide


def water_box():
    """About 1 000 atoms of TIP3P water in a periodic box (OpenMM's Modeller)."""
    modeller = app.Modeller(app.Topology(), [])
    modeller.addSolvent(app.ForceField("amber14-all.xml", "amber14/tip3p.xml"), model="tip3p",
                        boxSize=openmm.Vec3(2.18, 2.18, 2.18) * unit.nanometer)
    return modeller.topology, modeller.positions


def write_inputs(folder, name, topology, positions, frames):
    pdb, dcd = os.path.join(folder, name + ".pdb"), os.path.join(folder, name + ".dcd")
    with open(pdb, "w") as f:
        app.PDBFile.writeFile(topology, positions, f)
    x = np.array(positions.value_in_unit(unit.nanometer))
    rng = np.random.default_rng(0)
    with open(dcd, "wb") as f:
        writer = app.DCDFile(f, topology, 0.001)
        for _ in range(frames):
            writer.writeModel((x + rng.normal(scale=0.005, size=x.shape)) * unit.nanometer,
                              periodicBoxVectors=topology.getPeriodicBoxVectors())
    return pdb, dcd


def cli_rate(pdb, dcd, threads, frames, folder):
    out = os.path.join(folder, "out.npy")
    cpus = "0" if threads == 1 else "0,1"
    start = time.perf_counter()
    subprocess.run(["taskset", "-c", cpus, "ept", "describe", "--model", openmmept.default_model_path(),
                    "--topology", pdb, "--trajectory", dcd, "--level", "block", "--out", out,
                    "--threads", str(threads)], check=True, capture_output=True)
    return frames / (time.perf_counter() - start)


def live_rate(topology, positions, threads, frames):
    describer = openmmept.Describer(topology, level="block", threads=threads)
    x = np.array(positions.value_in_unit(unit.nanometer))
    box = topology.getPeriodicBoxVectors()
    box = None if box is None else np.array(box.value_in_unit(unit.nanometer))
    describer(x, box)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(frames):
        describer(x + rng.normal(scale=0.005, size=x.shape), box)
    return frames / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=64)
    args = parser.parse_args()
    systems = {"alanine dipeptide": alanine_dipeptide(), "water box": water_box()}
    print("| system | atoms | threads | `ept describe` (frames/s) | live Context (frames/s) |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, (topology, positions) in systems.items():
            pdb, dcd = write_inputs(folder, name.replace(" ", "_"), topology, positions, args.frames)
            for threads in (1, 2):
                cli = cli_rate(pdb, dcd, threads, args.frames, folder)
                live = live_rate(topology, positions, threads, max(8, args.frames // 4))
                print(f"| {name} | {topology.getNumAtoms()} | {threads} | {cli:.1f} | {live:.1f} |", flush=True)


if __name__ == "__main__":
    main()
