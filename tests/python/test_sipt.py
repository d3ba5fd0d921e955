"""Structure-inducing finetuning from Python and the command line: the graphs of openmmept.graphs (time lag, RMSD
against mdtraj's RMSD by brute force, labels, edge lists and their files), `ept finetune --objective sipt` on
DCD trajectories whose model then works in EPTForce and describe(), and bad inputs named."""
import json
import subprocess

import mdtraj
import numpy as np
import openmm.app as app
import pytest

import openmmept
from conftest import ept_binary, simulate_alanine_dipeptide
from openmmept import graphs


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    """ACE-ALA-NME: a topology and three short amber14 + OBC2 trajectories of 16 frames each."""
    return simulate_alanine_dipeptide(tmp_path_factory.mktemp("sipt-md"), runs=3, frames=16, interval=25,
                                      temperature=600, seed=5)


def trajectories(md):
    return [mdtraj.load(str(md / f"run{r}.dcd"), top=str(md / "ala.pdb")) for r in range(3)]


def finetune(md, out, *extra, check=True):
    command = [ept_binary(), "finetune", "--objective", "sipt", "--topology", str(md / "ala.pdb"),
               "--init", openmmept.model_path("ept-small"), "--out", str(out), "--steps", "6", "--anchors", "4",
               "--warmup", "2", "--validate-every", "3"]
    command += [a for r in range(3) for a in ("--trajectory", str(md / f"run{r}.dcd"))]
    return subprocess.run(command + list(extra), check=check, capture_output=True, text=True)


def test_time_lag_and_label_graphs():
    g = graphs.time_lag_graph([4, 3], 2)
    assert g.edges.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3], [4, 5], [4, 6], [5, 6]]
    assert g.components.tolist() == [0, 0, 0, 0, 1, 1, 1] and g.num_components == 2
    assert g.has_edge(3, 1) and not g.has_edge(3, 4)
    labels = graphs.label_graph([0, 1, 0, -1, 1, 0])
    assert labels.edges.tolist() == [[0, 2], [0, 5], [1, 4], [2, 5]]
    assert [list(n) for n in labels.neighbours()] == [[2, 5], [4], [0, 5], [], [1], [0, 2]]


def test_rmsd_graph_equals_brute_force_with_mdtraj(md):
    frames = mdtraj.join(trajectories(md))
    heavy = [a.index for a in frames.topology.atoms if a.element.symbol != "H"]
    brute = np.array([mdtraj.rmsd(frames, frames, k, atom_indices=heavy) for k in range(frames.n_frames)])  # nm
    for radius in (np.quantile(brute, 0.1), np.quantile(brute, 0.4)):
        expected = {(i, j) for i in range(frames.n_frames) for j in range(i + 1, frames.n_frames) if brute[i, j] <= radius}
        # Pairs within rounding of the radius are decided either way; none may be missing or extra elsewhere.
        near = {(i, j) for i in range(frames.n_frames) for j in range(i + 1, frames.n_frames) if abs(brute[i, j] - radius) < 1e-5}
        g = graphs.rmsd_graph(frames, radius, atoms=heavy, threads=2)
        assert {tuple(e) for e in g.edges.tolist()} ^ expected <= near
        assert 10 < len(expected) < frames.n_frames * (frames.n_frames - 1) / 2
    assert graphs.superposed_rmsd(frames.xyz[0], frames.xyz[5], heavy) == pytest.approx(brute[0, 5], abs=1e-6)


def test_edge_lists_round_trip_and_name_bad_lines(tmp_path):
    g = graphs.time_lag_graph([5], 2)
    g.write(tmp_path / "g.edges")
    again = graphs.read_edge_list(tmp_path / "g.edges", 5)
    assert again.edges.tolist() == g.edges.tolist()
    (tmp_path / "bad.edges").write_text("0 1\n# a comment\n1 7\n")
    with pytest.raises(Exception, match=r"line 3.*node 7 does not exist"):
        graphs.read_edge_list(tmp_path / "bad.edges", 5)
    with pytest.raises(Exception, match="itself"):
        graphs.ConformationGraph.from_edges(3, [[1, 1]])


def test_sipt_finetuning_gives_a_model_for_eptforce_and_describe(md, tmp_path):
    out = tmp_path / "run"
    result = finetune(md, out, "--graph", "time-lag:3", "--lambda", "0.5", "--level", "block")
    assert "48 conformations" in result.stderr and "3 connected components" in result.stderr, result.stderr
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["step"] == 0 and "validation_structure_loss" in lines[0]
    steps = [line for line in lines if "loss" in line]
    assert len(steps) == 6
    for line in steps:
        assert line["loss"] == pytest.approx(0.5 * line["denoising_loss"] + 0.5 * line["structure_loss"], rel=1e-5)
    # The graph trained on, and what the model's metadata says.
    graph = graphs.read_edge_list(out / "graph.edges", 48)
    assert graph.num_edges == 3 * (15 + 14 + 13) and graph.num_components == 3
    info = subprocess.run([ept_binary(), "info", "--model", str(out / "model.ept")], capture_output=True, text=True, check=True)
    assert "SIPT" in info.stdout and '"lambda":0.5' in info.stdout.replace(" ", "")
    # The finetuned model in an EPTForce (a Describer's Context of its own) gives descriptors of its own.
    pdb = app.PDBFile(str(md / "ala.pdb"))
    describer = openmmept.Describer(pdb.topology, model=str(out / "model.ept"), level="block", platform="Reference")
    assert describer.force.getModelChecksum() != openmmept.EPTPotential(openmmept.model_path("ept-small")).createForce(pdb.topology).getModelChecksum()
    offline = describer(pdb.positions)
    pretrained = openmmept.describe(pdb.topology, pdb.positions, level="block", model=openmmept.model_path("ept-small"))[0]
    assert offline.shape == pretrained.shape == (6, 128) and np.all(np.isfinite(offline))  # 6 blocks × [h ; |V|]
    assert np.abs(offline - pretrained).max() > 1e-4


def test_every_graph_kind_trains(md, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"{k % 3}\n" for k in range(48)))
    edges = tmp_path / "mine.edges"
    graphs.time_lag_graph([16, 16, 16], 1).write(edges)
    # An RMSD radius (Å) that links about half of the pairs, whatever the trajectories hold.
    frames = mdtraj.join(trajectories(md))
    heavy = [a.index for a in frames.topology.atoms if a.element.symbol != "H"]
    radius = 10 * np.median([mdtraj.rmsd(frames, frames, k, atom_indices=heavy) for k in range(frames.n_frames)])
    for k, spec in enumerate([f"labels:{labels}", f"edges:{edges}", f"rmsd:{radius:.4f}:heavy"]):
        result = finetune(md, tmp_path / f"run{k}", "--graph", spec, "--loss", "multi-similarity",
                          "--validation-fraction", "0", check=False)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / f"run{k}" / "model.ept").exists()


@pytest.mark.parametrize("extra, message", [
    (["--lambda", "1.5"], "--lambda must be in [0, 1]"),
    (["--lambda", "-0.1"], "--lambda must be in [0, 1]"),
    (["--graph", "edges:{folder}/missing.edges"], "missing.edges"),
    (["--graph", "edges:{folder}/bad.edges"], "node 48 does not exist"),
    (["--graph", "edges:{folder}/empty.edges"], "has no edges"),
    (["--graph", "time-lag:ten"], "'ten' is not a finite number"),
    (["--graph", "distance:3"], "is not known: use time-lag:FRAMES"),
    (["--graph", "labels:{folder}/short.txt"], "48"),
    (["--loss", "triplet"], "unknown structure loss 'triplet'"),
    ([], "--objective sipt needs --graph"),
])
def test_bad_inputs_are_named(md, tmp_path, extra, message):
    (tmp_path / "bad.edges").write_text("0 1\n2 48\n")
    (tmp_path / "empty.edges").write_text("# nothing\n")
    (tmp_path / "short.txt").write_text("0\n1\n")
    extra = [e.format(folder=tmp_path) for e in extra]
    if "--graph" not in extra and message != "--objective sipt needs --graph":
        extra += ["--graph", "time-lag:2"]
    result = finetune(md, tmp_path / "run", *extra, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "terminate called" not in result.stderr


def test_a_trajectory_of_another_molecule_is_named(md, tmp_path):
    other = tmp_path / "other.dcd"
    frames = mdtraj.load(str(md / "run0.dcd"), top=str(md / "ala.pdb")).atom_slice(range(21))
    frames.save_dcd(str(other))
    result = subprocess.run([ept_binary(), "finetune", "--objective", "sipt", "--topology", str(md / "ala.pdb"),
                             "--trajectory", str(other), "--graph", "time-lag:2", "--init",
                             openmmept.model_path("ept-small"), "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert f"the trajectory '{other}' has 21 atoms but the topology" in result.stderr, result.stderr


def test_the_shipped_sipt_model_gives_descriptors_of_its_own(md):
    path = openmmept.model_path("ept-sipt-ala")
    info = subprocess.run([ept_binary(), "info", "--model", path], capture_output=True, text=True, check=True).stdout
    assert "SIPT" in info and '"lambda":0.1' in info.replace(" ", "") and "untrained" in info
    pdb = app.PDBFile(str(md / "ala.pdb"))
    sipt = openmmept.describe(pdb.topology, pdb.positions, level="block", model=path)[0]
    pretrained = openmmept.describe(pdb.topology, pdb.positions, level="block", model=openmmept.model_path("ept-small"))[0]
    assert sipt.shape == pretrained.shape and np.abs(sipt - pretrained).max() > 1e-3


def metadata_strings(model: str) -> list:
    """Every string in a model's metadata (`ept info`'s metadata line)."""
    info = subprocess.run([ept_binary(), "info", "--model", model], check=True, capture_output=True, text=True).stdout
    metadata = json.loads(next(line for line in info.splitlines() if line.startswith("metadata:"))[len("metadata:"):])

    def walk(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in walk(v)]
        if isinstance(value, list):
            return [s for v in value for s in walk(v)]
        return [value] if isinstance(value, str) else []
    return walk(metadata)


def test_a_model_records_the_file_name_of_its_start_not_the_folders_of_the_machine(md, tmp_path):
    finetune(md, tmp_path / "run", "--graph", "time-lag:2")
    strings = metadata_strings(str(tmp_path / "run" / "model.ept"))
    assert f"model.ept ({openmmept.EPTForce(openmmept.model_path('ept-small')).getModelChecksum()})" in strings
    assert not [s for s in strings if any(word.startswith("/") for word in s.split())], strings
    for name in ("ept-small", "ept-sipt-ala", "ept-delta-amber14"):  # the shipped models
        paths = [s for s in metadata_strings(openmmept.model_path(name)) if any(w.startswith("/") for w in s.split())]
        assert not paths, (name, paths)
