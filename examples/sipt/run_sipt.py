#!/usr/bin/env python3
"""SIPT on conformations the simulation generated: finetune EPT so that its descriptors reflect a time-lag graph,
then judge the descriptors against the shipped model, a random initialisation and backbone dihedrals.

    eval "$(./run env)"
    python examples/sipt/simulate.py --work sipt-work --molecule ala --runs 6 --length 2000
    python examples/sipt/run_sipt.py --work sipt-work --molecule ala --train-runs 0 1 2 3 --test-runs 4 5

1. Finetuning (``ept finetune --objective sipt``, one run per λ, ``--jobs`` at a time, warm-started from the
   shipped model) on the training runs' frames with the time-lag graph (frames within ``--tau`` ps of each other
   in one run are neighbours); λ = 0 is the ablation: the same extra steps of denoising on the same frames, no
   structure loss. A finished run is kept; an interrupted one continues with --resume.
2. Block descriptors of every frame of every run (``openmmept.describe``) for each finetuned model, the shipped
   pretrained model and a random initialisation of the same size.
3. On the held-out (test) runs: link retrieval of time-lag neighbours (LRAP, AP, nDCG, MRR, P@k; cosine
   similarity of the flattened block descriptors centred on the training frames' mean, every 5th frame a query, all test frames of the same run as
   candidates), k-NN accuracy of the φ/ψ basin of the central residue (training runs as reference set) and the
   basins' local consistency over the embeddings' 10-NN graph; VAMP-2 of the descriptors (standardised, 20
   principal components fitted on the training runs) against cos/sin of all backbone φ/ψ, fitted on the training
   runs and scored on each test run, with 2 and 4 singular functions (+1 for the constant).
Writes results.md (the table), results.json and embedding_*.png (PCA of the descriptors coloured by basin) into
``--work/--molecule``.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def ept(*args):
    return [os.path.join(os.path.dirname(sys.executable), "ept"), *map(str, args)]


def finetune(args, lam, out):
    """One SIPT run (resumed if interrupted, skipped if finished)."""
    if os.path.exists(os.path.join(out, "model.ept")):
        return f"λ = {lam}: already trained"
    command = ept("finetune", "--objective", "sipt", "--topology", args.topology, "--graph", f"time-lag:{args.tau}",
                  "--lambda", lam, "--init", args.init, "--out", out, "--steps", args.steps, "--lr", args.lr,
                  "--warmup", args.steps // 10, "--anchors", args.anchors, "--level", "block",
                  "--validation-fraction", 0, "--threads", 1, "--seed", args.seed)
    for r in args.train_runs:
        command += ["--trajectory", args.dcd(r)]
    if os.path.exists(os.path.join(out, "checkpoint.ept")):
        command.append("--resume")
    start = time.time()
    with open(out + ".log", "a") as log:
        subprocess.run(command, check=True, stdout=log, stderr=log)
    return f"λ = {lam}: {args.steps} steps in {time.time() - start:.0f} s"


def standardised_pca(train, test, components):
    """z-scores and principal components fitted on the training runs' frames, applied to every run."""
    stacked = np.concatenate(train)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-12
    z = (stacked - mean) / std
    _, _, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    basis = vt[:components].T
    project = lambda f: ((f - mean) / std) @ basis  # noqa: E731
    return [project(f) for f in train], [project(f) for f in test]


def vamp2_train_test(train, test, lag, dim):
    from openmmept.analysis import VAMP
    vamp = VAMP(lag, dim).fit(train)
    return [vamp.score([t]) for t in test]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="the folder simulate.py wrote (MOLECULE.pdb, MOLECULE-runK.dcd)")
    parser.add_argument("--molecule", default="ala", help="ala (alanine dipeptide) or a sequence between the caps")
    parser.add_argument("--train-runs", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--test-runs", type=int, nargs="+", default=[4, 5])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.01, 0.1, 0.5])
    parser.add_argument("--tau", type=int, default=10, help="time-lag graph: neighbours within this many frames (ps)")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--anchors", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="finetuning runs at once (one thread each)")
    parser.add_argument("--lags", default="1,10,20,50", help="VAMP lag times (ps; one frame per ps)")
    parser.add_argument("--init", default=None, help="pretrained model to start from (default: the shipped one)")
    args = parser.parse_args(argv)

    import mdtraj
    import openmm.app as app
    import openmmept
    from openmmept import analysis

    args.init = args.init or openmmept.model_path("ept-small")
    args.topology = os.path.join(args.work, f"{args.molecule}.pdb")
    args.dcd = lambda r: os.path.join(args.work, f"{args.molecule}-run{r}.dcd")
    for path in [args.topology] + [args.dcd(r) for r in args.train_runs + args.test_runs]:
        if not os.path.exists(path):
            raise SystemExit(f"'{path}' does not exist; simulate first: python examples/sipt/simulate.py "
                             f"--work {args.work} --molecule {args.molecule}")
    out = os.path.join(args.work, f"sipt-{args.molecule}")
    os.makedirs(out, exist_ok=True)

    # 1. Finetuning, one run per λ.
    runs = {lam: os.path.join(out, f"lambda-{lam:g}") for lam in args.lambdas}
    with ThreadPoolExecutor(args.jobs) as pool:
        for message in pool.map(lambda lam: finetune(args, lam, runs[lam]), args.lambdas):
            print(message, flush=True)
    random_model = os.path.join(out, "random-init.ept")
    if not os.path.exists(random_model):
        subprocess.run(ept("init", "--out", random_model, "--seed", 2), check=True, capture_output=True)
    models = {"random initialisation": random_model, "pretrained (ept-small)": args.init}
    models.update({f"SIPT λ = {lam:g}": os.path.join(runs[lam], "model.ept") for lam in args.lambdas})

    # 2. Block descriptors of every frame (cached per model and run).
    pdb = app.PDBFile(args.topology)
    top = mdtraj.Topology.from_openmm(pdb.topology)
    every_run = args.train_runs + args.test_runs
    trajectories = {r: mdtraj.load(args.dcd(r), top=top) for r in every_run}
    descriptors = {}
    for name, path in models.items():
        folder = os.path.join(out, "descriptors", name.replace(" ", "_").replace("(", "").replace(")", ""))
        os.makedirs(folder, exist_ok=True)
        descriptors[name] = {}
        for r in every_run:
            cache = os.path.join(folder, f"run{r}.npy")
            if not os.path.exists(cache):
                blocks = openmmept.describe(pdb.topology, trajectories[r], level="block", model=path)
                np.save(cache + ".part.npy", blocks.reshape(len(blocks), -1))
                os.replace(cache + ".part.npy", cache)
            descriptors[name][r] = np.load(cache)
        print(f"descriptors: {name}", flush=True)

    # State labels: the φ/ψ basin of the central residue; the dihedral features of every residue.
    def basins(t):
        phi, psi = mdtraj.compute_phi(t)[1], mdtraj.compute_psi(t)[1]
        middle = phi.shape[1] // 2
        return analysis.ramachandran_basins(phi[:, middle], psi[:, middle])
    labels = {r: basins(trajectories[r]) for r in every_run}
    dihedrals = {r: analysis.backbone_dihedral_features(trajectories[r]) for r in every_run}

    lags = [int(v) for v in args.lags.split(",")]
    results = {}
    features = dict(descriptors)
    features["φ/ψ (cos, sin)"] = dihedrals
    for name, per_run in features.items():
        train = [per_run[r] for r in args.train_runs]
        test = [per_run[r] for r in args.test_runs]
        row = {}
        if name in descriptors:
            # Descriptors centred on the training frames' mean, as the structure loss sees them (centred on its
            # batch), then compared by cosine similarity.
            centre = np.concatenate(train).mean(0)
            train, test = [x - centre for x in train], [x - centre for x in test]
            # Link retrieval of time-lag neighbours among the frames of each test run.
            scores = []
            for x in test:
                nodes = np.arange(len(x))
                queries = nodes[::5]
                gap = np.abs(queries[:, None] - nodes[None, :])
                metrics = analysis.retrieval_metrics(x[queries], x, (gap > 0) & (gap <= args.tau), ks=(1, 10),
                                                     metric="cosine", exclude=gap == 0)
                scores.append(metrics)
            for key in ("LRAP", "AP", "nDCG", "MRR", "P@1", "P@10"):
                row[key] = float(np.mean([s[key] for s in scores]))
            reference = np.concatenate(train)[::4]
            reference_labels = np.concatenate([labels[r] for r in args.train_runs])[::4]
            x_test, y_test = np.concatenate(test)[::2], np.concatenate([labels[r] for r in args.test_runs])[::2]
            normalise = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
            row["kNN accuracy"] = analysis.knn_accuracy(normalise(reference), reference_labels, normalise(x_test),
                                                        y_test, k=10)
            row["local consistency"] = analysis.local_consistency(y_test, analysis.knn_graph(normalise(x_test), 10))
            train, test = standardised_pca(train, test, 20)
        for dim in (2, 4):
            for lag in lags:
                row[f"VAMP-2 d={dim} τ={lag}"] = float(np.mean(vamp2_train_test(train, test, lag, dim)))
        results[name] = row
        print(name, json.dumps(row), flush=True)

    # The time-lag graph itself: how consistent are the basin labels over it (the same for every model).
    graph_consistency = float(np.mean([
        analysis.local_consistency(labels[r], [np.array([j for j in range(max(0, i - args.tau), min(len(labels[r]), i + args.tau + 1)) if j != i])
                                              for i in range(len(labels[r]))]) for r in args.test_runs]))

    columns = list(next(iter(results.values())).keys())
    lines = [f"| features | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, row in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" if c in row else "–" for c in columns) + " |")
    counts = {analysis.RAMACHANDRAN_BASIN_NAMES[k]: int(sum((labels[r] == k).sum() for r in every_run))
              for k in range(len(analysis.RAMACHANDRAN_BASIN_NAMES))}
    header = (f"{'ACE-ALA-NME' if args.molecule == 'ala' else f'ACE-{args.molecule}-NME'}; training runs {args.train_runs}, test runs {args.test_runs}; "
              f"time-lag graph τ = {args.tau} ps; {args.steps} steps, {args.anchors} anchors, lr {args.lr}; "
              f"frames per basin {counts}; basin consistency over the time-lag graph {graph_consistency:.3f}")
    table = header + "\n\n" + "\n".join(lines)
    print(table)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"settings": vars(args) | {"dcd": None}, "results": results,
                   "graph_consistency": graph_consistency, "basin_counts": counts}, f, indent=1, default=str)

    # Embeddings of the test runs (first two principal components) coloured by basin.
    test_labels = np.concatenate([labels[r] for r in args.test_runs])
    for name in ["pretrained (ept-small)", "SIPT λ = 0", "SIPT λ = 0.1"]:
        if name not in descriptors:
            continue
        _, test = standardised_pca([descriptors[name][r] for r in args.train_runs],
                                   [descriptors[name][r] for r in args.test_runs], 2)
        slug = name.split(" (")[0].replace(" ", "_").replace("=", "").replace("λ", "lambda")
        analysis.plot_embedding(np.concatenate(test), test_labels, analysis.RAMACHANDRAN_BASIN_NAMES,
                                os.path.join(out, f"embedding_{slug}.png"), f"{name}: test runs, PCA of block descriptors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
