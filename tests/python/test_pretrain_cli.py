"""`ept pretrain` killed with SIGKILL and resumed ends where an uninterrupted run ends, byte for byte."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, FIXTURES, ept_binary, kill_at_lines

ARGS = ["--corpus", str(FIXTURES / "corpus"), "--steps", "60", "--checkpoint-every", "5", "--atoms-per-batch", "120",
        "--hidden", "16", "--ffn", "32", "--heads", "2", "--layers", "2", "--radial", "8", "--dtype", "float64",
        "--threads", "1", "--validate-every", "20", "--seed", "4"]


def test_kill_and_resume_gives_the_uninterrupted_model(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run([ept_binary(), "pretrain", "--out", str(straight)] + ARGS, check=True, capture_output=True)
    process = subprocess.Popen([ept_binary(), "pretrain", "--out", str(killed)] + ARGS,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = killed / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 24:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "model.ept").exists(), "the run must have been killed before it finished"
    assert (killed / "checkpoint.ept").exists()
    subprocess.run([ept_binary(), "info", "--model", str(killed / "checkpoint.ept")], check=True, capture_output=True)
    subprocess.run([ept_binary(), "pretrain", "--out", str(killed), "--resume"] + ARGS, check=True,
                   capture_output=True)
    assert (killed / "model.ept").read_bytes() == (straight / "model.ept").read_bytes()
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(0, 61))


def test_bad_corpus_and_options_are_named(tmp_path):
    result = subprocess.run([ept_binary(), "pretrain", "--corpus", str(tmp_path), "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "no manifest.json" in result.stderr
    result = subprocess.run([ept_binary(), "pretrain", "--corpus", str(FIXTURES / "corpus"), "--out",
                             str(tmp_path / "run"), "--objective", "spin"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown objective 'spin'" in result.stderr


def pretrain(out, *extra):
    """A 6-step run of ARGS, with the options in `extra` replacing ARGS's own."""
    options = dict(zip(ARGS[::2], ARGS[1::2]), **{"--steps": "6"})
    flags = []
    extra = list(extra)
    while extra:
        name = extra.pop(0)
        if extra and not extra[0].startswith("--") or name in ("--lr", "--clip", "--warmup", "--weight-decay"):
            options[name] = extra.pop(0)
        else:
            flags.append(name)
    args = [item for pair in options.items() for item in pair] + flags
    return subprocess.run([ept_binary(), "pretrain", "--out", str(out)] + args, capture_output=True, text=True)


@pytest.mark.parametrize("options, message", [
    (["--lr", "-1"], "--lr must be a finite number > 0, got -1"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got NaN"),
    (["--weight-decay", "-5"], "--weight-decay must be a finite number ≥ 0"),
    (["--clip", "0"], "--clip must be a finite gradient norm > 0"),
    (["--clip", "-1"], "--clip must be a finite gradient norm > 0"),
    (["--warmup", "-1"], "--warmup must be at least 0"),
])
def test_options_that_cannot_train_are_named_without_a_backtrace(tmp_path, options, message):
    result = pretrain(tmp_path / "run", *options)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "frame #" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_stops_and_leaves_no_model(tmp_path):
    result = pretrain(tmp_path / "run", "--lr", "1e9", "--warmup", "0", "--checkpoint-every", "1")
    assert result.returncode == 1 and "diverged at step" in result.stderr, result.stderr
    assert not (tmp_path / "run" / "model.ept").exists()
    for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines():
        assert "null" not in line and "-1" not in line.split('"step"')[0], line


def test_run_folders_are_kept_from_mistakes(tmp_path):
    run = tmp_path / "run"
    result = pretrain(run, "--resume")
    assert result.returncode == 1 and "nothing to resume" in result.stderr
    assert pretrain(run).returncode == 0
    model = (run / "model.ept").read_bytes()
    result = pretrain(run)
    assert result.returncode == 1 and "--resume, replace it with --overwrite, or choose another --out" in result.stderr
    assert (run / "model.ept").read_bytes() == model
    result = pretrain(run, "--resume", "--seed", "9")
    assert result.returncode == 1 and "seed 4 → 9" in result.stderr, result.stderr
    assert pretrain(run, "--overwrite", "--seed", "9").returncode == 0
    assert (run / "model.ept").read_bytes() != model
    result = pretrain(tmp_path / "none", "--validation-fraction", "0")
    assert result.returncode == 0 and "no validation (--validation-fraction 0)" in result.stdout, result.stdout


def test_prepare_refuses_missing_md_files_and_a_used_folder(tmp_path):
    top = str(FIXTURES / "peptide_AGS.pdb")
    for pair, missing in ((f"{top}:{tmp_path}/missing.dcd", "--md trajectory"), (f"{tmp_path}/none.pdb:x.dcd", "--md topology")):
        result = subprocess.run([ept_binary(), "prepare", "--out", str(tmp_path / "c"), "--smiles", "", "--md", pair],
                                capture_output=True, text=True)
        assert result.returncode == 1 and missing in result.stderr and "does not exist" in result.stderr
        assert not (tmp_path / "c" / "manifest.json").exists()
    args = [ept_binary(), "prepare", "--out", str(tmp_path / "c"), "--smiles", "", "--peptides", "2", "--conformers", "1"]
    assert subprocess.run(args, capture_output=True).returncode == 0
    (tmp_path / "c" / "shard-00099.cbor").write_bytes(b"stale")
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 1 and "already holds a corpus" in result.stderr and "--overwrite" in result.stderr
    assert subprocess.run(args + ["--overwrite"], capture_output=True).returncode == 0
    assert not (tmp_path / "c" / "shard-00099.cbor").exists()


def test_prepare_builds_every_domain_and_counts_failures(tmp_path):
    import numpy as np
    import openmm.app as app
    import openmm.unit as unit

    pdb = app.PDBFile(str(FIXTURES / "peptide_AGS.pdb"))
    dcd = tmp_path / "frames.dcd"
    with open(dcd, "wb") as f:
        writer = app.DCDFile(f, pdb.topology, 0.001)
        x = np.array(pdb.positions.value_in_unit(unit.nanometer))
        for k in range(6):
            writer.writeModel((x + 0.001 * k) * unit.nanometer)
    smiles = tmp_path / "mols.smi"
    smiles.write_text("CCO ethanol\nC1CC not-a-ring\n# a comment\nc1ccccc1O phenol\n")
    out = tmp_path / "corpus"
    result = subprocess.run([ept_binary(), "prepare", "--out", str(out), "--smiles", str(smiles), "--peptides", "3",
                             "--pdb", str(FIXTURES / "peptide_AGS.pdb"), "--crop", "2",
                             "--md", f"{FIXTURES / 'peptide_AGS.pdb'}:{dcd}", "--md-stride", "2",
                             "--conformers", "2", "--threads", "2"], capture_output=True, text=True, check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["records_per_domain"] == {"small-molecule": 2, "peptide": 3, "protein-fragment": 1, "md-frame": 1}
    assert manifest["conformers_per_domain"]["md-frame"] == 3
    assert manifest["conformers_per_domain"]["small-molecule"] == 4
    assert manifest["failures"] == {"SMILES did not parse or sanitise": 1}
    assert "skipped 1" in result.stdout
    # The corpus trains.
    subprocess.run([ept_binary(), "pretrain", "--corpus", str(out), "--out", str(tmp_path / "run"), "--steps", "3",
                    "--hidden", "16", "--ffn", "32", "--heads", "2", "--layers", "1", "--radial", "8"],
                   check=True, capture_output=True)
    # A damaged shard is named.
    shard = out / manifest["shards"][0]["file"]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = subprocess.run([ept_binary(), "pretrain", "--corpus", str(out), "--out", str(tmp_path / "run2")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "is damaged" in result.stderr and shard.name in result.stderr


def launch_two(command, env_extra):
    """Starts ranks 0 and 1 of ``command``; returns their (returncode, output)."""
    processes = []
    for rank in (0, 1):
        env = dict(os.environ, WORLD_SIZE="2", RANK=str(rank), **env_extra)
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True))
    return [(p.wait(timeout=120), p.stdout.read()) for p in processes]


def test_two_processes_average_gradients_like_one_process_on_the_union(tmp_path):
    check = str(BUILD / "bin" / "data_parallel_check")
    for rank, (code, output) in enumerate(launch_two([check], {"EPT_STORE_FILE": str(tmp_path / "store")})):
        assert code == 0, output
        assert f"rank {rank}: max |averaged − union| / max |union| = " in output


def test_pretrain_runs_data_parallel_over_a_tcp_store(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = tmp_path / "run"
    results = launch_two([ept_binary(), "pretrain", "--out", str(run)] + ARGS[:2] + ["--steps", "4"] + ARGS[4:],
                         {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    assert all(code == 0 for code, _ in results), results
    assert (run / "model.ept").exists()
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0, 1, 2, 3, 4]
    result = subprocess.run([ept_binary(), "pretrain", "--out", str(tmp_path / "x")] + ARGS,
                            env=dict(os.environ, WORLD_SIZE="2", RANK="5", EPT_STORE_FILE=str(tmp_path / "s")),
                            capture_output=True, text=True)
    assert result.returncode != 0 and "RANK=5" in result.stderr


def read_records(corpus):
    from openmmept.datasets import read_dataset
    return read_dataset(corpus).records


def test_smiles_files_of_every_kind_deduplicate_across_files(tmp_path):
    import lzma
    (tmp_path / "a.txt").write_text("CCO first\nOCC the same molecule\nC1CC not-a-ring\n# a comment\nc1ccccc1\n")
    csv = '\ufeffSMILES,id,y\n"CCO.[Na+].[Cl-]",1,0\nCC(=O)O,2,1\n,3,2\n"C(=O)(C)O",4,3\n'  # a spreadsheet's BOM
    (tmp_path / "b.csv.xz").write_bytes(lzma.compress(csv.encode()))
    out = tmp_path / "c"
    result = subprocess.run([ept_binary(), "prepare", "--out", str(out), "--smiles", str(tmp_path / "a.txt"),
                             "--smiles", str(tmp_path / "b.csv.xz"), "--conformers", "1", "--threads", "1"],
                            capture_output=True, text=True, check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    # Ethanol three times (one of them the parent of a salt), acetic acid twice: each once, in order of appearance.
    assert sorted(r.source for r in read_records(out)) == sorted(["CCO", "c1ccccc1", "CC(=O)O"])
    assert manifest["failures"] == {
        "SMILES did not parse or sanitise": 1,
        "duplicate molecule (the canonical SMILES of its largest fragment came before)": 3}
    assert "1 salts or mixtures reduced to their largest fragment" in result.stderr
    result = subprocess.run([ept_binary(), "prepare", "--out", str(tmp_path / "d"), "--smiles",
                             str(tmp_path / "b.csv.xz"), "--smiles-column", "smi"], capture_output=True, text=True)
    assert result.returncode != 0 and "has no column 'smi' (its columns: 'SMILES', 'id', 'y')" in result.stderr
    assert "--smiles-column" in result.stderr


def test_sdf_molecules_keep_their_coordinates_and_get_missing_hydrogens(tmp_path):
    import numpy as np
    from rdkit import Chem
    from rdkit.Chem import AllChem
    with_h = Chem.AddHs(Chem.MolFromSmiles("CC(=O)Nc1ccccc1"))
    AllChem.EmbedMolecule(with_h, randomSeed=2)
    without_h = Chem.RemoveHs(with_h)  # heavy atoms only, 3D: hydrogens must be added with coordinates
    flat = Chem.MolFromSmiles("c1ccncc1")
    AllChem.Compute2DCoords(flat)
    sdf = tmp_path / "mols.sdf"
    writer = Chem.SDWriter(str(sdf))
    for mol in (with_h, without_h, flat):
        writer.write(mol)
    writer.close()
    sdf.write_text(sdf.read_text() + "garbage\n  no atoms here\n\n  1  0  0  0  0  0            999 V2000\n$$$$\n")
    out = tmp_path / "c"
    subprocess.run([ept_binary(), "prepare", "--out", str(out), "--smiles", "", "--sdf", str(sdf)],
                   check=True, capture_output=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failures"] == {"SDF record without 3D coordinates": 1,
                                    "SDF record RDKit cannot read or sanitise": 1}
    records = read_records(out)
    assert [r.source.split()[0] for r in records] == ["mols.sdf#0", "mols.sdf#1"]
    # Coordinates as the file writes them (4 decimals), not re-embedded.
    blocks = sdf.read_text().split("$$$$\n")
    for record, block in zip(records, blocks):
        lines = block.splitlines()
        count = int(lines[3][:3])
        written = np.array([[float(v) for v in line.split()[:3]] for line in lines[4:4 + count]])
        np.testing.assert_allclose(record.positions[0][:count], written, atol=1e-12)
    assert len(records[0].atomic_numbers) == with_h.GetNumAtoms()
    # The heavy-atom file gets its hydrogens, placed near their atoms.
    assert len(records[1].atomic_numbers) == with_h.GetNumAtoms()
    assert (records[1].atomic_numbers[without_h.GetNumAtoms():] == 1).all()
    x = records[1].positions[0]
    for h in range(without_h.GetNumAtoms(), len(x)):
        assert np.min(np.linalg.norm(x[:without_h.GetNumAtoms()] - x[h], axis=1)) < 1.2
    # Every molecule held out: the corpus is scored whole.
    subprocess.run([ept_binary(), "init", "--out", str(tmp_path / "m.ept"), "--hidden", "16", "--ffn", "32", "--heads",
                    "2", "--layers", "1", "--radial", "8"], check=True, capture_output=True)
    result = subprocess.run([ept_binary(), "validate", "--model", str(tmp_path / "m.ept"), "--corpus", str(out),
                             "--validation-fraction", "1"], check=True, capture_output=True, text=True)
    assert "validation loss" in result.stdout


def test_a_killed_prepare_resumes_without_redoing_finished_shards(tmp_path):
    args = ["prepare", "--max-molecules", "60", "--conformers", "2", "--shard-size", "4", "--threads", "1"]
    subprocess.run([ept_binary(), *args, "--out", str(tmp_path / "straight")], check=True, capture_output=True)
    killed = tmp_path / "killed"
    process = subprocess.Popen([ept_binary(), *args, "--out", str(killed)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    journal = killed / "journal.jsonl"
    kill_at_lines(process, journal, 4, timeout=120)
    lines = journal.read_text().splitlines()
    assert 4 <= len(lines) < 16, "killed while it ran"  # the header and 3 or more of 15 batches
    before = {p.name: p.stat().st_mtime_ns for p in killed.glob("shard-*.cbor")}
    result = subprocess.run([ept_binary(), *args, "--out", str(killed), "--resume"], check=True, capture_output=True,
                            text=True)
    assert f"{len(lines) - 1} of 15 shards already written" in result.stderr
    for name, mtime in before.items():  # finished shards were not written again
        if name in {json.loads(line).get("shard") for line in lines[1:]}:
            assert (killed / name).stat().st_mtime_ns == mtime
    straight = sorted(p.name for p in (tmp_path / "straight").glob("shard-*.cbor"))
    assert sorted(p.name for p in killed.glob("shard-*.cbor")) == straight
    for name in straight:
        assert (killed / name).read_bytes() == (tmp_path / "straight" / name).read_bytes()
    assert json.loads((killed / "manifest.json").read_text()) == json.loads((tmp_path / "straight" / "manifest.json").read_text())
    changed = subprocess.run([ept_binary(), *args[:-2], "--threads", "2", "--seed", "3", "--out", str(killed),
                              "--resume"], capture_output=True, text=True)
    assert changed.returncode != 0 and "differ from those of the run" in changed.stderr


def test_small_molecules_are_grouped_by_scaffold_proteins_by_file(tmp_path):
    (tmp_path / "m.txt").write_text("Cc1ccccc1\nOc1ccccc1\nNC1CCCCC1\nCCO\nCCN\n")
    out = tmp_path / "c"
    subprocess.run([ept_binary(), "prepare", "--out", str(out), "--smiles", str(tmp_path / "m.txt"), "--conformers",
                    "1", "--pdb", str(FIXTURES / "peptide_AGS.pdb"), "--crop", "1"], check=True, capture_output=True)
    groups = {r.source: r.group for r in read_records(out)}
    assert groups["Cc1ccccc1"] == groups["Oc1ccccc1"] == "scaffold:c1ccccc1"
    assert groups["NC1CCCCC1"] == "scaffold:C1CCCCC1"
    assert groups["CCO"] == "acyclic:CCO" and groups["CCN"] == "acyclic:CCN"
    fragments = {g for s, g in groups.items() if ":residues" in s}
    assert len(fragments) == 1 and fragments.pop().startswith("protein:peptide_AGS.pdb ")
    assert sum(":residues" in s for s in groups) == 3
    assert "Bemis-Murcko scaffold" in json.loads((out / "manifest.json").read_text())["split"]


def test_a_pocket_holds_exactly_the_residues_within_the_radius(tmp_path):
    import numpy as np
    import openmm.app as app
    import openmm.unit as unit
    from rdkit import Chem
    from rdkit.Chem import AllChem
    pdb = app.PDBFile(str(FIXTURES / "peptide_AGS.pdb"))
    x = np.array(pdb.positions.value_in_unit(unit.angstrom))
    residue_of = np.array([a.residue.index + 1 for a in pdb.topology.atoms()])
    ligand = Chem.AddHs(Chem.MolFromSmiles("CO"))
    AllChem.EmbedMolecule(ligand, randomSeed=1)
    near, far = Chem.Mol(ligand), Chem.Mol(ligand)
    anchor = x[[a.index for a in pdb.topology.atoms() if a.residue.index == 0 and a.name == "CB"][0]]
    for mol, shift in ((near, anchor + [-3.5, 0.0, 0.0]), (far, anchor + [60.0, 0, 0])):  # near, outside the peptide
        conformer = mol.GetConformer()
        for i in range(mol.GetNumAtoms()):
            p = conformer.GetAtomPosition(i)
            conformer.SetAtomPosition(i, (p.x + shift[0], p.y + shift[1], p.z + shift[2]))
    sdf = tmp_path / "ligands.sdf"
    writer = Chem.SDWriter(str(sdf))
    writer.write(near)
    writer.write(far)
    writer.close()
    written = np.array([[float(v) for v in line.split()[:3]] for line in sdf.read_text().splitlines()[4:4 + near.GetNumAtoms()]])
    distance = np.linalg.norm(x[:, None] - written[None], axis=2).min(axis=1)
    radius = next(r for r in (3.0, 4.0, 5.0, 6.0, 7.0) if 0 < len(set(residue_of[distance <= r])) < 3)
    expected = sorted(set(residue_of[distance <= radius]))
    water = tmp_path / "water.pdb"
    water.write_text("HETATM    1  O   HOH W   1       0.000   0.000   0.000  1.00  0.00           O\n"
                     "HETATM    2  H1  HOH W   1       0.957   0.000   0.000  1.00  0.00           H\n"
                     "HETATM    3  H2  HOH W   1      -0.240   0.927   0.000  1.00  0.00           H\nEND\n")
    out = tmp_path / "c"
    subprocess.run([ept_binary(), "prepare", "--out", str(out), "--smiles", "", "--pocket-radius", str(radius),
                    "--complex", f"{FIXTURES / 'peptide_AGS.pdb'}:{sdf}", "--complex", f"{water}:{sdf}"],
                   check=True, capture_output=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failures"] == {"complex: no protein residue within --pocket-radius of the ligand": 1,
                                    "complex PDB file holds no amino-acid residue": 1}
    [record] = read_records(out)
    assert record.domain == "protein-ligand" and record.group.startswith("complex:peptide_AGS.pdb ")
    names = record.residue_names
    ligand_atoms = sum(r == "LIG" for r in names)
    assert ligand_atoms == near.GetNumAtoms() and names[-ligand_atoms:] == ["LIG"] * ligand_atoms
    pocket_atoms = len(names) - ligand_atoms
    assert pocket_atoms == int(np.isin(residue_of, expected).sum())  # whole residues, exactly those within the radius
    np.testing.assert_allclose(record.positions[0][:pocket_atoms], x[np.isin(residue_of, expected)], atol=1e-6)


def test_an_interface_crop_holds_residues_of_both_partners(tmp_path):
    # The peptide cut into two partners (Ala-Gly and Ser): their windows, and the interface across the cut.
    lines = (FIXTURES / "peptide_AGS.pdb").read_text().splitlines()
    atoms = [line for line in lines if line.startswith("ATOM")]
    (tmp_path / "a.pdb").write_text("\n".join(l for l in atoms if l[17:20] != "SER") + "\nEND\n")
    (tmp_path / "b.pdb").write_text("\n".join(l for l in atoms if l[17:20] == "SER") + "\nEND\n")
    out = tmp_path / "c"
    subprocess.run([ept_binary(), "prepare", "--out", str(out), "--smiles", "", "--crop", "1", "--interface-radius",
                    "4", "--pdb", f"{tmp_path / 'a.pdb'}+{tmp_path / 'b.pdb'}"], check=True, capture_output=True)
    records = read_records(out)
    interface = [r for r in records if r.domain == "protein-complex"]
    assert len(interface) == 1 and {"GLY", "SER"} <= set(interface[0].residue_names)
    assert sorted(r.domain for r in records).count("protein-fragment") == 3  # Ala, Gly; Ser
    assert len({r.group for r in records}) == 1 and records[0].group.startswith("complex:a.pdb+b.pdb ")
    far = tmp_path / "far.pdb"
    far.write_text("\n".join(l[:30] + f"{float(l[30:38]) + 80:8.3f}" + l[38:] for l in atoms if l[17:20] == "SER")
                   + "\nEND\n")
    subprocess.run([ept_binary(), "prepare", "--out", str(tmp_path / "d"), "--smiles", "", "--crop", "1",
                    "--pdb", f"{tmp_path / 'a.pdb'}+{far}"], check=True, capture_output=True)
    failures = json.loads((tmp_path / "d" / "manifest.json").read_text())["failures"]
    assert failures == {"protein complex: no interface within --interface-radius": 1}
    # Every source failing is an error that names the reasons, not an empty corpus.
    r = subprocess.run([ept_binary(), "prepare", "--out", str(tmp_path / "e"), "--smiles", "", "--complex",
                        f"{tmp_path / 'b.pdb'}:{tmp_path / 'a.pdb'}"], capture_output=True, text=True)
    assert r.returncode != 0 and "no record was made: every source failed" in r.stderr
