"""Steps 2–4 of the augmentation loop, after simulate.py: label, finetune, evaluate.

    python loop.py label    --work work       # GFN2-xTB/ALPB(water) − amber14+OBC2 on every frame (ept label)
    python loop.py train    --work work       # the Δ-models of the comparison (ept finetune), two at a time
    python loop.py evaluate --work work       # energy and force errors on held-out frames → work/results.json, tables

Every step skips what is already done and resumes what was interrupted, so re-running a step continues it.
Data: training molecules (simulate.TRAINING) give runs 0 and 1 to train on (labelled at strides 4, 2 and 1: the
learning curve) and run 2 as held-out frames; validation molecules (simulate.VALIDATION, runs 0 and 1 at stride 2)
are what early stopping watches; unseen molecules (simulate.UNSEEN) are never trained or validated on.
"""
import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from simulate import TRAINING, UNSEEN, VALIDATION

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FORCE_FIELD = "amber14-obc2"
STRIDES = [4, 2, 1]  # 25, 50 and 100 frames per training trajectory
PRETRAINED = {"complete": ROOT / "pretrain" / "models" / "ept-small" / "model.ept"}
# Same budget for every model: steps × atoms per batch, learning rate, schedule, seed.
BUDGET = ["--steps", "2500", "--warmup", "50", "--lr", "1e-3", "--atoms-per-batch", "500", "--validate-every", "100",
          "--checkpoint-every", "100", "--seed", "1", "--threads", "1"]


def ept(*args):
    subprocess.run(["ept", *map(str, args)], check=True)


def label_one(work, sequence, runs, out, stride):
    if (out / "manifest.json").exists():
        return
    trajectories = [a for k in runs for a in ("--trajectory", work / f"{sequence}-run{k}.dcd")]
    resume = ["--resume"] if (out / "journal.jsonl").exists() else []
    ept("label", "--topology", work / f"{sequence}.pdb", *trajectories, "--system", work / f"{sequence}-system.xml",
        "--force-field", FORCE_FIELD, "--solvent", "water", "--stride", stride, "--workers", "2", "--out", out, *resume)


def label(work):
    labels = work / "labels"
    for sequence in TRAINING:
        for stride in STRIDES:
            label_one(work, sequence, [0, 1], labels / f"train-s{stride}" / sequence, stride)
        label_one(work, sequence, [2], labels / "test-seen" / sequence, 1)
    for sequence in VALIDATION:
        label_one(work, sequence, [0, 1], labels / "validation" / sequence, 2)
    for sequence in UNSEEN:
        label_one(work, sequence, [0], labels / "test-unseen" / sequence, 1)


def runs(work):
    """(name, data folders, start) of every model of the comparison."""
    pretrained = dict(PRETRAINED)
    for objective in ("translation", "atom"):
        pretrained[objective] = work / "pretrained" / objective / "model.ept"
    out = []
    for stride in sorted(STRIDES):  # the largest data set first
        data = [work / "labels" / f"train-s{stride}" / s for s in TRAINING]
        out.append((f"s{stride}-pretrained", data, ["--init", pretrained["complete"]]))
        out.append((f"s{stride}-scratch", data, ["--from-scratch"]))
    data = [work / "labels" / "train-s1" / s for s in TRAINING]
    for objective in ("translation", "atom"):
        out.append((f"s1-pretrained-{objective}", data, ["--init", pretrained[objective]]))
    # The energy term's weight: with w_E = 1 the per-atom energy error (≈ 0.3 kJ/mol) weighs ~10⁻³ of the force
    # error in the loss, so energies barely train; w_E = 100 gives them a say.
    out.append(("s1-pretrained-ew100", data, ["--init", pretrained["complete"], "--energy-weight", "100"]))
    out.append(("s1-scratch-ew100", data, ["--from-scratch", "--energy-weight", "100"]))
    return out


def train_one(work, name, data, start):
    out = work / "models" / name
    if (out / "done").exists():
        return
    resume = ["--resume"] if (out / "checkpoint.ept").exists() else []
    if start[0] == "--init" and not Path(start[1]).exists():
        print(f"skipping {name}: {start[1]} does not exist (pretrain it first, see README.md)", file=sys.stderr)
        return
    validation = [a for s in VALIDATION for a in ("--validation-data", work / "labels" / "validation" / s)]
    with open(work / "models" / f"{name}.log", "a") as log:
        subprocess.run(["ept", "finetune", "--objective", "energy", *[a for d in data for a in ("--data", d)],
                        *map(str, validation),
                        *map(str, start), "--out", str(out), *BUDGET, *resume],
                       check=True, stdout=log, stderr=log)
    (out / "done").write_text("")


def train(work, parallel):
    (work / "models").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(parallel) as pool:
        for f in [pool.submit(train_one, work, *r) for r in runs(work)]:
            f.result()


def errors(model, data):
    out = subprocess.run(["ept", "validate", "--objective", "energy", "--json", "--model", str(model),
                          *[a for d in data for a in ("--corpus", d)]], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


START = {"pretrained": "pretrained (ept-small, complete block)", "scratch": "from scratch",
         "pretrained-translation": "pretrained, translation only", "pretrained-atom": "pretrained, atom level",
         "pretrained-ew100": "pretrained (ept-small), energy weight 100", "scratch-ew100": "from scratch, energy weight 100"}


def evaluate(work):
    sets = {"seen": [work / "labels" / "test-seen" / s for s in TRAINING],
            "unseen": [work / "labels" / "test-unseen" / s for s in UNSEEN]}
    results = {}
    for name, _, _ in runs(work):
        model = work / "models" / name / "model.ept"
        if not model.exists():
            continue
        results[name] = {k: errors(model, d) for k, d in sets.items()}
        log = (work / "models" / f"{name}.log").read_text().splitlines()
        counts = next(line for line in log if line.startswith("finetune: ")).split()
        results[name]["training_conformations"], results[name]["validation_conformations"] = int(counts[1]), int(counts[4])
        metrics = [json.loads(line) for line in open(work / "models" / name / "metrics.jsonl")]
        best = min((m for m in metrics if "validation_loss" in m and m["step"] > 0), key=lambda m: m["validation_loss"])
        results[name]["best_step"], results[name]["steps"] = best["step"], metrics[-1]["step"]
    (work / "results.json").write_text(json.dumps(results, indent=1))
    first = next(iter(results.values()))
    print(f"held-out frames: seen = {first['seen']['conformations']} frames of {first['seen']['molecules']} training "
          f"molecules (their third run), unseen = {first['unseen']['conformations']} frames of "
          f"{first['unseen']['molecules']} molecules never trained on. MAE in kJ/mol (energy, each molecule's mean "
          f"error removed) and kJ/mol/Å (force components).\n")
    print("| training frames | Δ-model start | seen: energy | seen: force | unseen: energy | unseen: force | best step |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    print(f"| – | amber14 + OBC2 alone | {first['seen']['zero_energy_mae_mean_removed']:.2f} | {first['seen']['zero_force_mae']:.2f} "
          f"| {first['unseen']['zero_energy_mae_mean_removed']:.2f} | {first['unseen']['zero_force_mae']:.2f} | |")
    for name, r in sorted(results.items(), key=lambda item: (item[1]["training_conformations"], item[0])):
        start = START[name.split("-", 1)[1]]
        print(f"| {r['training_conformations']} | + Δ {start} | {r['seen']['energy_mae_mean_removed']:.2f} | "
              f"{r['seen']['force_mae']:.2f} | {r['unseen']['energy_mae_mean_removed']:.2f} | {r['unseen']['force_mae']:.2f} | "
              f"{r['best_step']} of {r['steps']} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["label", "train", "evaluate"])
    parser.add_argument("--work", required=True, type=Path, help="the folder simulate.py wrote")
    parser.add_argument("--parallel", type=int, default=2, help="train: runs at once (one thread each)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    {"label": lambda: label(args.work), "train": lambda: train(args.work, args.parallel),
     "evaluate": lambda: evaluate(args.work)}[args.step]()


if __name__ == "__main__":
    main()
