"""Finetuning on DFT data, measured as the literature measures it: 3BPA (train_300K) from the copies in
shared/datasets/labelled, energies and forces in meV and meV/Å beside the published MACE and NequIP figures.

    python benchmark.py prepare --work work   # split, `ept import`
    python benchmark.py train   --work work   # every run of the plan, two at a time; resumable
    python benchmark.py report  --work work   # test errors → work/results.jsonl and the tables of README.md

The copy has no test set of its own (the published 300 K test set is not in it), so train_300K's 500
configurations are split here, in file order: the first 350 are the training pool, the next 50 validate (what
`model.ept`'s best-validation selection and early stopping watch), the last 100 are the test set, never seen in
training or selection. A run of N training configurations takes the first N of the pool. Every run has the same
budget (steps, atoms per batch, schedule); the plan crosses training size × start (the shipped pretrained model or
a random initialisation of the same size) × seed, and the energy weight of the loss.
"""
import argparse
import json
import os
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "labelled" / "3bpa.tar.xz"
PRETRAINED = ROOT / "pretrain" / "models" / "ept-small" / "model.ept"
EV = 96.48533212331002  # kJ/mol
SIZES = [50, 350]
SEEDS = [1, 2]
ENERGY_WEIGHTS = [1.0, 1000.0]  # the ablation: today's default and energy weighted like MACE's second stage
BUDGET = ["--warmup", "50", "--lr", "1e-3", "--atoms-per-batch", "270", "--validate-every", "100",
          "--checkpoint-every", "100", "--dtype", "float32", "--threads", "1", "--patience", "0"]
PUBLISHED = {"MACE": (3.0, 8.8), "NequIP": (3.3, 10.8), "ANI-2x (not retrained)": (39.0, 84.0)}  # meV, meV/Å


def ept(*args, capture=False):
    return subprocess.run(["ept", *map(str, args)], check=True, capture_output=capture, text=True)


def prepare(work: Path) -> None:
    raw = work / "raw"
    if not (raw / "dataset_3BPA" / "train_300K.xyz").exists():
        with tarfile.open(DATA) as archive:
            archive.extractall(raw)
    blocks = (raw / "dataset_3BPA" / "train_300K.xyz").read_text().splitlines(keepends=True)
    per = int(blocks[0]) + 2  # every configuration has the same atom count (27): count + comment + atoms
    frames = ["".join(blocks[k:k + per]) for k in range(0, len(blocks), per)]
    assert len(frames) == 500, len(frames)
    splits = {f"train-{n}": frames[:n] for n in SIZES} | {"validation": frames[350:400], "test": frames[400:]}
    for name, chosen in splits.items():
        if (work / "data" / name / "manifest.json").exists():
            continue
        path = work / f"{name}.xyz"
        path.write_text("".join(chosen))
        ept("import", "--extxyz", path, "--isolated-atoms", raw / "dataset_3BPA" / "iso_atoms.xyz",
            "--level-of-theory", "DFT (ORCA), 3BPA train_300K", "--out", work / "data" / name)


def plan(steps: int, long: bool = False):
    """(name, size, start, seed, energy weight, steps) of every run: at `steps`, the learning curve (sizes × starts
    × seeds) and the energy-weight ablation; with `long`, only the full training set, one seed, both starts, and
    the weights 1 and 30 from the pretrained model."""
    if long:
        runs = [(SIZES[-1], start, 1, 1.0) for start in ("pretrained", "scratch")] + [(SIZES[-1], "pretrained", 1, 30.0)]
    else:
        runs = [(size, start, seed, 1.0) for size in SIZES for start in ("pretrained", "scratch") for seed in SEEDS]
        runs += [(SIZES[-1], "pretrained", seed, w) for w in ENERGY_WEIGHTS[1:] for seed in SEEDS]
    for size, start, seed, weight in runs:
        yield f"n{size}-{start}-s{seed}-w{weight:g}-t{steps}", size, start, seed, weight, steps


def train_one(work: Path, name, size, start, seed, weight, steps) -> None:
    out = work / "runs" / name
    if (out / "model.ept").exists() and (out / "done").exists():
        return
    begin = ["--init", PRETRAINED] if start == "pretrained" else ["--from-scratch", "--hidden", "64", "--ffn", "128",
                                                                   "--heads", "4", "--layers", "3", "--radial", "16"]
    resume = ["--resume"] if (out / "metrics.jsonl").exists() else []
    ept("finetune", "--objective", "energy", "--data", work / "data" / f"train-{size}", "--validation-data",
        work / "data" / "validation", "--out", out, *begin, *BUDGET, "--steps", steps, "--seed", seed,
        "--energy-weight", weight,
        *resume)
    (out / "done").write_text("")


def train(work: Path, jobs: int, steps: int, long: bool) -> None:
    with ThreadPoolExecutor(jobs) as pool:
        for f in [pool.submit(train_one, work, *run) for run in plan(steps, long)]:
            f.result()


def report(work: Path) -> None:
    results = []
    runs = {run[0]: run for steps in sorted({int(p.name.split("-t")[-1]) for p in (work / "runs").glob("*-t*")})
            for long in (False, True) for run in plan(steps, long)}
    for name, size, start, seed, weight, steps in runs.values():
        model = work / "runs" / name / "model.ept"
        if not (work / "runs" / name / "done").exists():
            continue
        r = json.loads(ept("validate", "--objective", "energy", "--model", model, "--corpus", work / "data" / "test",
                           "--json", capture=True).stdout)
        results.append({"run": name, "size": size, "start": start, "seed": seed, "energy_weight": weight,
                        "steps": steps,
                        "energy_rmse_meV": 1000 * r["energy_rmse"] / EV,
                        "force_rmse_meV_per_A": 1000 * r["force_rmse"] / EV,
                        "energy_mae_meV": 1000 * r["energy_mae"] / EV, "force_mae_meV_per_A": 1000 * r["force_mae"] / EV,
                        "test_configurations": r["conformations"]})
    (work / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))

    def mean_sd(values):
        m = sum(values) / len(values)
        return m, (sum((v - m) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5

    print("| training configurations | start | energy weight | steps | seeds | energy RMSE (meV) | force RMSE (meV/Å) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    groups = {}
    for r in results:
        groups.setdefault((r["steps"], r["size"], r["start"], r["energy_weight"]), []).append(r)
    for (steps, size, start, weight), rows in sorted(groups.items()):
        e, se = mean_sd([r["energy_rmse_meV"] for r in rows])
        f, sf = mean_sd([r["force_rmse_meV_per_A"] for r in rows])
        spread = lambda m, s: f"{m:.1f} ± {s:.1f}" if len(rows) > 1 else f"{m:.1f}"
        print(f"| {size} | {start} | {weight:g} | {steps} | {len(rows)} | {spread(e, se)} | {spread(f, sf)} |")
    for model, (e, f) in PUBLISHED.items():
        print(f"| 500 (all of train_300K; the published test set) | {model} | | | | {e} | {f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["prepare", "train", "report"])
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one LibTorch thread each)")
    parser.add_argument("--steps", type=int, default=800, help="the budget of every run of the plan")
    parser.add_argument("--long", action="store_true", help="the longer plan: full training set, one seed")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    {"prepare": lambda: prepare(args.work), "train": lambda: train(args.work, args.jobs, args.steps, args.long),
     "report": lambda: report(args.work)}[args.step]()


if __name__ == "__main__":
    main()
