#!/usr/bin/env python3
"""RMSD graph over MD frames: the library's pruned search (openmmept.graphs.rmsd_graph) against brute force with
mdtraj.rmsd (every frame against all), whose edges it must equal (tests/python/test_sipt.py checks that).

    taskset -c 0 python tests/benchmarks/rmsd_graph.py --topology ala.pdb --trajectory run0.dcd ... --radius 0.5 1.0

Prints one row per radius: frames, heavy atoms, edges, seconds for the graph (one thread), and the seconds that
mdtraj.rmsd of every frame against all frames takes (extrapolated from 20 reference frames).
"""
import argparse
import time

import mdtraj
import numpy as np

from openmmept import graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", required=True)
    parser.add_argument("--trajectory", nargs="+", required=True)
    parser.add_argument("--radius", type=float, nargs="+", default=[0.5, 1.0], help="Å")
    args = parser.parse_args()
    frames = mdtraj.join([mdtraj.load(t, top=args.topology) for t in args.trajectory])
    heavy = [a.index for a in frames.topology.atoms if a.element.symbol != "H"]
    start = time.perf_counter()
    for k in range(0, frames.n_frames, frames.n_frames // 20):
        mdtraj.rmsd(frames, frames, k, atom_indices=heavy)
    brute = (time.perf_counter() - start) / len(range(0, frames.n_frames, frames.n_frames // 20)) * frames.n_frames
    print("| frames | heavy atoms | radius (Å) | edges | rmsd_graph (s) | mdtraj.rmsd, every frame against all (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for radius in args.radius:
        start = time.perf_counter()
        g = graphs.rmsd_graph(frames, radius / 10, atoms=heavy)
        seconds = time.perf_counter() - start
        print(f"| {frames.n_frames} | {len(heavy)} | {radius:g} | {g.num_edges} | {seconds:.1f} | {brute:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
