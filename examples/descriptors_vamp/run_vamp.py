#!/usr/bin/env python3
"""EPT descriptors of alanine dipeptide and how much slow dynamics they capture (VAMP-2).

    eval "$(./run env)"
    python examples/descriptors_vamp/run_vamp.py --out vamp-out            # simulate, then analyse
    python examples/descriptors_vamp/run_vamp.py --out vamp-out --analyse-only

1. Simulates ``--runs`` independent runs of ACE-ALA-NME (amber14 + OBC2, 4 fs steps with heavy hydrogens,
   Langevin 300 K), in parallel processes, each with a DescriptorReporter (block level, the default model) and a
   DCDReporter every ps. A run whose files exist is not simulated again.
2. Features per frame: the EPT block descriptors written live; the same trajectories described by a second,
   differently initialised model (``ept init --seed 2``); and cos/sin of the backbone dihedrals φ, ψ.
3. VAMP-2 with leave-one-run-out cross-validation at several lag times, keeping the ``--dim`` slowest
   singular functions (+1 for the constant) for every feature set; descriptors are standardised and reduced to
   ``--pca`` principal components first (fitted on all frames, unsupervised).
Writes vamp2.md (the table), vamp2_vs_lag.png and projection_*.png into ``--out``.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def simulate(out: str, run: int, picoseconds: int, seed: int) -> str:
    import openmm
    import openmm.app as app
    import openmm.unit as unit
    import openmmept
    from openmmept.testsystems import alanine_dipeptide

    descriptors, dcd = os.path.join(out, f"run{run}.npy"), os.path.join(out, f"run{run}.dcd")
    if os.path.exists(descriptors) and np.load(descriptors, mmap_mode="r").shape[0] >= picoseconds:
        return f"run {run}: already there"
    topology, positions = alanine_dipeptide()
    forcefield = app.ForceField("amber14-all.xml", "implicit/obc2.xml")
    system = forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds,
                                     hydrogenMass=4 * unit.amu)
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 4 * unit.femtosecond)
    integrator.setRandomNumberSeed(seed)
    simulation = app.Simulation(topology, system, integrator, openmm.Platform.getPlatformByName("CPU"),
                                {"Threads": "1"})
    simulation.context.setPositions(positions)
    simulation.minimizeEnergy()
    simulation.context.setVelocitiesToTemperature(300 * unit.kelvin, seed)
    simulation.step(2500)  # 10 ps of equilibration
    simulation.currentStep = 0
    simulation.reporters.append(openmmept.DescriptorReporter(descriptors, 250, level="block"))
    simulation.reporters.append(app.DCDReporter(dcd, 250))
    start = time.time()
    simulation.step(250 * picoseconds)
    return f"run {run}: {picoseconds} ps in {time.time() - start:.0f} s"


def standardised_pca(blocks, components):
    """Per-run arrays of flattened descriptors -> z-scored, projected on the leading principal components."""
    flat = [b.reshape(len(b), -1) for b in blocks]
    stacked = np.concatenate(flat)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-12
    z = (stacked - mean) / std
    _, _, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    basis = vt[:components].T
    return [((f - mean) / std) @ basis for f in flat]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="vamp-out", help="output folder")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--picoseconds", type=int, default=500, help="length of each run (ps, one frame per ps)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--lags", default="1,2,5,10,20,50", help="lag times in ps")
    parser.add_argument("--dim", type=int, default=4, help="slowest singular functions kept")
    parser.add_argument("--pca", type=int, default=20, help="principal components of the descriptors")
    parser.add_argument("--analyse-only", action="store_true")
    args = parser.parse_args(argv)

    import mdtraj
    import openmmept
    from openmmept.analysis import VAMP, backbone_dihedral_features, plot_projection, plot_vamp2_against_lag
    from openmmept.analysis import vamp2_cross_validated
    from openmmept.testsystems import alanine_dipeptide

    os.makedirs(args.out, exist_ok=True)
    if not args.analyse_only:
        with ProcessPoolExecutor(args.processes) as pool:
            for message in pool.map(simulate, [args.out] * args.runs, range(args.runs),
                                    [args.picoseconds] * args.runs, [1000 + r for r in range(args.runs)]):
                print(message, flush=True)

    topology, _ = alanine_dipeptide()
    md_topology = mdtraj.Topology.from_openmm(topology)
    trajectories = [mdtraj.load(os.path.join(args.out, f"run{r}.dcd"), top=md_topology) for r in range(args.runs)]
    default_blocks = [np.load(os.path.join(args.out, f"run{r}.npy")) for r in range(args.runs)]
    other_model = os.path.join(args.out, "random-seed2.ept")
    if not os.path.exists(other_model):
        subprocess.run(["ept", "init", "--out", other_model, "--seed", "2"], check=True)
    other_blocks = [openmmept.describe(topology, t, level="block", model=other_model) for t in trajectories]
    checksum = json.load(open(os.path.join(args.out, "run0.npy.json")))["model_checksum"]

    features = {
        "φ/ψ (cos, sin)": [backbone_dihedral_features(t) for t in trajectories],
        f"EPT blocks, default model ({checksum})": standardised_pca(default_blocks, args.pca),
        "EPT blocks, model init seed 2": standardised_pca(other_blocks, args.pca),
    }
    lags = [int(v) for v in args.lags.split(",")]
    scores = {name: [vamp2_cross_validated(f, lag, args.dim) for lag in lags] for name, f in features.items()}

    lines = [f"VAMP-2 (1 + Σ of the {args.dim} largest σ², held-out run, mean ± std over {args.runs} folds); "
             f"{args.runs} runs × {args.picoseconds} ps, one frame per ps.", "",
             "| features | " + " | ".join(f"τ = {lag} ps" for lag in lags) + " |",
             "|---|" + "---:|" * len(lags)]
    for name, values in scores.items():
        lines.append(f"| {name} | " + " | ".join(f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in values) + " |")
    table = "\n".join(lines)
    print(table)
    open(os.path.join(args.out, "vamp2.md"), "w").write(table + "\n")
    plot_vamp2_against_lag(lags, scores, os.path.join(args.out, "vamp2_vs_lag.png"), "alanine dipeptide, 300 K")
    psi = np.concatenate([np.degrees(mdtraj.compute_psi(t)[1][:, 0]) for t in trajectories])
    for name, slug in [(list(features)[1], "ept"), (list(features)[0], "dihedrals")]:
        vamp = VAMP(lags[2], args.dim).fit(features[name])
        projection = np.concatenate([vamp.transform(f) for f in features[name]])
        plot_projection(projection, psi, os.path.join(args.out, f"projection_{slug}.png"),
                        f"{name}, τ = {lags[2]} ps", colour_label="ψ (degrees)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
