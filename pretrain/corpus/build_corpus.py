"""Rebuilds the pretraining corpus from the public copies in shared/datasets, in one command:

    python pretrain/corpus/build_corpus.py --datasets ../shared/datasets --work work/corpus-build --out corpus

Stages, each resumable (re-running the command continues where it stopped; `ept prepare --resume` keeps its
finished shards):
  1. extract   the structure archives (tar.xz) into WORK/structures
  2. fix       proteins without hydrogens (the docking benchmark's heavy-atom files, say) get them, and missing
               heavy atoms, with PDBFixer at pH 7 — OpenMM's own templates, the hydrogens an amber14 simulation of
               the same protein would have (what EPT sees in MD); gaps are not rebuilt
  3. md        (with --md-peptides N) N capped peptides of 2–5 random residues simulated in amber14 + OBC2 at
               300–500 K, so thermal, non-minimum structures are in the corpus as our users' inputs are
  4. prepare   `ept prepare`: every SMILES file (ETKDG + MMFF conformers, deduplicated across files), the protein–
               ligand complexes as pockets, the protein–protein complexes as windows and interfaces, the MD frames
  5. card      OUT/CARD.md: counts per domain and source, failures by reason, histograms of atoms per record and of
               elements, and where every part came from (the datasets' SOURCES.txt and licences)
"""
import argparse
import collections
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ARCHIVES = {"bm5": "bm5_protein_complexes.tar.xz", "fep": "fep_benchmark_protein_ligand.tar.xz",
            "openff": "openff_plb_protein_ligand.tar.xz"}


def log(message: str) -> None:
    print(f"build_corpus: {message}", file=sys.stderr, flush=True)


def extract(datasets: Path, work: Path) -> None:
    for name, archive in ARCHIVES.items():
        target = work / "structures" / name
        path = datasets / "structures" / archive
        if (target / ".done").exists() or not path.exists():
            continue
        log(f"extracting {archive}")
        with tarfile.open(path) as tar:
            tar.extractall(target)
        (target / ".done").write_text("")


def has_hydrogens(path: Path) -> bool:
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("ATOM", "HETATM")) and (line[76:78].strip() == "H" or line[12:16].strip().startswith("H")):
            return True
    return False


def fixed(path: Path, work: Path, failures: dict) -> Path:
    """`path`, or its copy with missing heavy atoms and hydrogens (PDBFixer, pH 7) when it has no hydrogens."""
    if has_hydrogens(path):
        return path
    out = work / "fixed" / path.relative_to(work / "structures")
    if out.exists():
        return out
    from openmm.app import PDBFile
    from pdbfixer import PDBFixer
    try:
        fixer = PDBFixer(filename=str(path))
        fixer.missingResidues = {}  # gaps stay gaps: no loops invented
        fixer.removeHeterogens(keepWater=False)
        fixer.findMissingAtoms()
        fixer.addMissingAtoms()
        fixer.addMissingHydrogens(7.0)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        PDBFile.writeFile(fixer.topology, fixer.positions, text, keepIds=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(text.getvalue())
        tmp.replace(out)
        return out
    except Exception as e:  # noqa: BLE001 - counted by reason, the build goes on
        failures[f"PDBFixer: {type(e).__name__}"] = failures.get(f"PDBFixer: {type(e).__name__}", 0) + 1
        return None


def sources(work: Path):
    """(protein–protein pairs 'A.pdb+B.pdb', protein–ligand pairs 'P.pdb:L.sdf'), hydrogens added where missing."""
    failures = {}
    pairs, complexes = [], []
    for receptor in sorted((work / "structures" / "bm5").rglob("*_r_b-matched.pdb")):
        ligand = receptor.with_name(receptor.name.replace("_r_b-", "_l_b-"))
        a, b = fixed(receptor, work, failures), fixed(ligand, work, failures) if ligand.exists() else None
        if a and b:
            pairs.append(f"{a}+{b}")
    for protein in sorted((work / "structures" / "fep").rglob("*_protein.pdb")):
        ligands = protein.with_name(protein.name.replace("_protein.pdb", "_ligands.sdf"))
        p = fixed(protein, work, failures)
        if p and ligands.exists():
            complexes.append(f"{p}:{ligands}")
    for protein in sorted((work / "structures" / "openff").rglob("01_protein/crd/protein.pdb")):
        ligands = protein.parents[2] / "02_ligands" / "ligands.sdf"
        p = fixed(protein, work, failures)
        if p and ligands.exists():
            complexes.append(f"{p}:{ligands}")
    (work / "fix_failures.json").write_text(json.dumps(failures, indent=1))
    return pairs, complexes


def simulate_peptides(work: Path, count: int, frames: int, seed: int, equilibration_ps: float = 10.0):
    """`count` capped peptides of random sequence in amber14 + OBC2, each at its own temperature in 300–500 K:
    TOPOLOGY.pdb:TRAJECTORY.dcd pairs for `ept prepare --md`."""
    import openmm
    import openmm.app as app
    import openmm.unit as unit
    from openmmept.testsystems import capped_peptide
    rng = random.Random(seed)
    out = []
    for k in range(count):
        sequence = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(rng.randint(2, 5)))
        temperature = rng.uniform(300, 500)
        pdb, dcd = work / "md" / f"{k:04d}-{sequence}.pdb", work / "md" / f"{k:04d}-{sequence}.dcd"
        if not dcd.exists():
            pdb.parent.mkdir(parents=True, exist_ok=True)
            topology, positions = capped_peptide(sequence, seed=seed + k)
            system = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(
                topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
            integrator = openmm.LangevinMiddleIntegrator(temperature * unit.kelvin, 1 / unit.picosecond,
                                                         0.002 * unit.picoseconds)
            integrator.setRandomNumberSeed(seed + k)
            simulation = app.Simulation(topology, system, integrator, openmm.Platform.getPlatformByName("CPU"))
            simulation.context.setPositions(positions)
            simulation.minimizeEnergy()
            simulation.step(int(round(equilibration_ps / 0.002)))
            with open(pdb, "w") as f:
                app.PDBFile.writeFile(topology, simulation.context.getState(getPositions=True).getPositions(), f)
            partial = dcd.with_suffix(".part")
            simulation.reporters.append(app.DCDReporter(str(partial), 500))  # a frame every picosecond
            simulation.step(500 * frames)
            del simulation
            partial.replace(dcd)
        out.append(f"{pdb}:{dcd}")
    return out


def prepare(datasets: Path, work: Path, out: Path, args, pairs, complexes, md) -> float:
    smiles = sorted((datasets / "smiles").glob("*.xz")) if (datasets / "smiles").exists() else []
    command = ["ept", "prepare", "--out", str(out), "--conformers", str(args.conformers), "--threads",
               str(args.threads), "--crop", str(args.crop), "--shard-size", str(args.shard_size)]
    command += [a for path in smiles for a in ("--smiles", str(path))] or ["--smiles", ""]
    command += ["--max-molecules", str(args.max_molecules)]
    command += [a for pair in pairs for a in ("--pdb", pair)]
    command += [a for pair in complexes for a in ("--complex", pair)]
    command += [a for pair in md for a in ("--md", pair)]
    if (out / "journal.jsonl").exists() and not (out / "manifest.json").exists():
        command.append("--resume")
    elif (out / "manifest.json").exists():
        log(f"{out} is complete; nothing to prepare")
        return 0.0
    log(" ".join(command[:12]) + " ...")
    start = time.time()
    subprocess.run(command, check=True)
    return time.time() - start


def card(datasets: Path, out: Path, seconds: float) -> str:
    import cbor2
    manifest = json.loads((out / "manifest.json").read_text())
    atoms_hist, elements = collections.Counter(), collections.Counter()
    by_source = collections.defaultdict(lambda: [0, 0, 0])  # records, conformers, atoms·conformers
    for shard in manifest["shards"]:
        for r in cbor2.loads((out / shard["file"]).read_bytes()):
            n = len(r["z"])
            atoms_hist[min(n // 25 * 25, 500)] += 1
            elements.update(r["z"])
            kind = r["domain"]
            by_source[kind][0] += 1
            by_source[kind][1] += r["conformers"]
            by_source[kind][2] += n * r["conformers"]
    lines = ["# Pretraining corpus card", "",
             f"Built by `pretrain/corpus/build_corpus.py` in {seconds / 3600:.2f} h of `ept prepare`.", "",
             "| domain | records | conformers | atoms × conformers |", "|---|---:|---:|---:|"]
    for kind, (records, conformers, atoms) in sorted(by_source.items()):
        lines.append(f"| {kind} | {records} | {conformers} | {atoms} |")
    lines += ["", f"Validation split: {manifest.get('split', '')}.", "", "| skipped | count |", "|---|---:|"]
    lines += [f"| {reason} | {count} |" for reason, count in sorted(manifest["failures"].items())]
    lines += ["", "| atoms per record | records |", "|---|---:|"]
    lines += [f"| {low}–{low + 24}{'+' if low == 500 else ''} | {count} |" for low, count in sorted(atoms_hist.items())]
    from openmm.app.element import Element
    lines += ["", "| element | atoms |", "|---|---:|"]
    lines += [f"| {Element.getByAtomicNumber(z).symbol} | {count} |" for z, count in elements.most_common()]
    lines += ["", "## Sources", "", "file | repository | path | commit (from the datasets' SOURCES.txt; licences in "
              "shared/datasets/README.md)", ""]
    for sources_file in sorted(datasets.rglob("SOURCES.txt")):
        lines += ["    " + line for line in sources_file.read_text().splitlines() if line.strip()]
    text = "\n".join(lines) + "\n"
    (out / "CARD.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets")
    parser.add_argument("--work", type=Path, required=True, help="extracted and fixed structures, MD, logs")
    parser.add_argument("--out", type=Path, required=True, help="the corpus (ept prepare's folder)")
    parser.add_argument("--conformers", type=int, default=2, help="ETKDG conformers per small molecule")
    parser.add_argument("--max-molecules", type=int, default=0, help="only the first N SMILES of all files (0: all)")
    parser.add_argument("--md-peptides", type=int, default=0, help="capped peptides to simulate for MD frames")
    parser.add_argument("--md-frames", type=int, default=200, help="frames per peptide (one per ps)")
    parser.add_argument("--md-equilibration", type=float, default=10.0, help="ps before the first frame")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--shard-size", type=int, default=500)
    parser.add_argument("--crop", type=int, default=8, help="residues per protein window")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    extract(args.datasets, args.work)
    pairs, complexes = sources(args.work)
    md = (simulate_peptides(args.work, args.md_peptides, args.md_frames, args.seed, args.md_equilibration)
          if args.md_peptides else [])
    seconds = prepare(args.datasets, args.work, args.out, args, pairs, complexes, md)
    print(card(args.datasets, args.out, seconds))


if __name__ == "__main__":
    main()
