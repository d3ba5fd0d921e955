#!/usr/bin/env python3
"""The routes for running the same EPT weights in OpenMM MD, timed side by side, with TensorNet for scale.

    ./run bench                                    # every row (hours on a small machine)
    ./run bench --quick --systems ala-vacuum,water-1k --routes fused,reference,eager
    eval "$(./run env)"; python tests/benchmarks/md_routes.py --help

Routes (one EPT checkpoint for all of them, by default the shipped model):
  fused      openmmept.EPTForce, property implementation=fused (LibTorch plus hand-written pair kernels)
  reference  the same force with implementation=reference (plain LibTorch ops; the native path before them)
  eager      the network in plain PyTorch (openmmept.torch_model) inside an openmm.PythonForce, eager mode
  compile    the same with torch.compile (the first evaluations compile: see the "warm-up s" column)
  tensornet  TorchMD-Net's TensorNet with random weights (64 channels, 2 layers, 16 radial functions, 5 Å
             cutoff, at most 64 neighbours) through openmm-ml's 'torchmdnet' potential: an outside model of
             comparable width run the way openmm-ml runs PyTorch models (PythonForce, torch.compile after the
             first call). Needs the packages of tests/benchmarks/requirements.txt (`./run bench` installs them).

Systems (built on the spot, the same in every row; nothing is downloaded):
  ala-vacuum   alanine dipeptide (22 atoms), ML on every atom, nothing else
  ala-obc2     alanine dipeptide in amber14 + OBC2 with the ML force added on top (the delta-learning setup of
               `./run demo`, whose ept-delta-amber14 has the sizes of the shipped model: pass it with --model to
               run exactly the demo); this row also times whole MD steps (LangevinMiddle, 2 fs, HBonds constraints)
  peptide-300  ACE-KEFLSWYQKTFLSWYQ-NME (309 atoms) in vacuum, ML on every atom
  mlmm-2500    ACE-AVSTNLA-NME (106 atoms) in TIP3P water (2 500 atoms), PME; ML on the peptide only, through
               openmm-ml's createMixedSystem (the EPT routes through MLPotential("ept"), so every route gets the
               same MM surgery; eager and compile then swap the EPTForce for their PythonForce)
  water-1k, water-5k, water-20k   periodic TIP3P boxes of ~1 000 / 5 000 / 20 000 atoms, ML on every atom

What a row measures. Every row runs in a subprocess of its own (pinned to CPUs 0..N-1 with taskset for N
threads, under a timeout and an address-space cap, with an empty TMPDIR of its own, so torch.compile's cache is
cold in every row, and the malloc settings of `EPT_MALLOC_TUNING=1`, applied by the row itself whatever its
route), so rows cannot disturb one another and a row that crashes, runs out of memory or times out is
reported as such. The ML force sits alone in force group 1; one evaluation is
Context.getState(energy + forces, group 1) after the positions were moved by up to 1e-4 nm (fresh noise about the
starting structure each call, so no result is reused; EPTForce keeps its neighbour list through such moves, as it
does in MD until an atom moved half of its neighborSkin, while the PyTorch routes rebuild their graph every call).
  ms/eval       median over the timed evaluations (after the warm-up evaluations)
  µs/atom       ms/eval per ML atom
  ns/day (ML)   ns/day at 2 fs if each step cost exactly one such evaluation (MM and integration excluded)
  MD ns/day     ala-obc2 only: whole steps of the System, timed over many steps
  warm-up s     the warm-up evaluations together (for compile and tensornet mostly compilation)
  peak MB       the subprocess's peak resident memory (ru_maxrss), imports included
  MB/atom       (peak − resident memory after the imports) per ML atom
  E0            ML energy at the starting structure, kJ/mol: the four EPT routes must agree (float32 rounding)
All routes run on the same OpenMM platform (--platform, default CPU as in the demo; its Threads property is set to
N as well), and only the ML force group is timed, so the platform matters only for the MD column.

Roofline (printed under the table when fused or reference rows ran): this machine's float32 matrix-product rate
(torch.mm of 512² and 2048² matrices, with 1 and 2 threads, each pinned like the rows), the floating-point work of
one EPT energy + forces evaluation counted from the model's sizes (every Linear on atoms and on pairs, the per-pair
logits and aggregations; forward FLOPs = 2 × multiply-adds; energy + forces ≈ 2 × forward, since the backward pass
needs gradients of the inputs only), and the fraction of the 2048² matmul rate each fused/reference row reaches.

Output: progress on stderr, a Markdown table on stdout, and with --out FILE the rows as JSON lines (rewritten
atomically after every row, so an interrupted run keeps what it measured). Times on a machine running other work
are indicative only.
"""
import argparse
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.abspath(__file__)
ROUTES = ("fused", "reference", "eager", "compile", "tensornet")
EPT_ROUTES = ("fused", "reference", "eager", "compile")
SYSTEMS = ("ala-vacuum", "ala-obc2", "peptide-300", "mlmm-2500", "water-1k", "water-5k", "water-20k")
PEPTIDE_300 = "KEFLSWYQKTFLSWYQ"  # 309 atoms with the caps and hydrogens
MLMM_PEPTIDE = "AVSTNLA"  # 106 atoms
MLMM_ATOMS = 2500
WATER_ATOMS = {"water-1k": 1000, "water-5k": 5000, "water-20k": 20000}
NOISE_NM = 1e-4
STEP_FS = 2.0
ROW_TAG = "MD_ROUTES_ROW "
MEMORY_PATTERNS = re.compile(r"MemoryError|bad_alloc|can't allocate memory|Cannot allocate memory|out of memory|"
                             r"DefaultCPUAllocator|failed to map segment", re.IGNORECASE)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# Systems (child side)


def _particles_system(topology):
    import openmm
    system = openmm.System()
    if topology.getPeriodicBoxVectors() is not None:
        system.setDefaultPeriodicBoxVectors(*topology.getPeriodicBoxVectors())
    for atom in topology.atoms():
        system.addParticle(0 if atom.element is None else atom.element.mass)
    return system


def _check_no_overlaps(topology, positions_nm, minimum_nm=0.1):
    """Atoms more than two bonds apart must be at least ``minimum_nm`` apart (peptides only: O(n²))."""
    import numpy as np
    n = len(positions_nm)
    near = [{i} for i in range(n)]
    for a, b in topology.bonds():
        near[a.index].add(b.index)
        near[b.index].add(a.index)
    close = [set().union(*(near[j] for j in near[i])) for i in range(n)]
    d = np.linalg.norm(positions_nm[:, None, :] - positions_nm[None, :, :], axis=-1)
    for i in range(n):
        d[i, list(close[i])] = np.inf
    if d.min() < minimum_nm:
        i, j = np.unravel_index(np.argmin(d), d.shape)
        raise RuntimeError(f"atoms {i} and {j} overlap ({d[i, j]:.3f} nm apart)")


def build_system(name):
    """dict(topology, positions [n, 3] nm, mm: an MM System or None (ML only), ml_atoms: list or None (all),
    kind: "ml" (ML only), "delta" (ML added on top of MM) or "mlmm" (createMixedSystem)). The same in every
    process: Modeller and PDBFixer place hydrogens and water with Python's ``random``, seeded here."""
    import random

    import numpy as np
    import openmm
    import openmm.app as app
    import openmm.unit as unit
    from openmmept.testsystems import alanine_dipeptide, capped_peptide

    random.seed(0)

    def nm(positions):
        return np.array(positions.value_in_unit(unit.nanometer), dtype=np.float64)

    if name in ("ala-vacuum", "ala-obc2"):
        topology, positions = alanine_dipeptide()
        if name == "ala-vacuum":
            return dict(topology=topology, positions=nm(positions), mm=None, ml_atoms=None, kind="ml")
        forcefield = app.ForceField("amber14-all.xml", "implicit/obc2.xml")
        mm = forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
        return dict(topology=topology, positions=nm(positions), mm=mm, ml_atoms=None, kind="delta")
    if name == "peptide-300":
        topology, positions = capped_peptide(PEPTIDE_300)
        x = nm(positions)
        _check_no_overlaps(topology, x)
        return dict(topology=topology, positions=x, mm=None, ml_atoms=None, kind="ml")
    forcefield = app.ForceField("amber14-all.xml", "amber14/tip3p.xml")
    if name == "mlmm-2500":
        topology, positions = capped_peptide(MLMM_PEPTIDE)
        _check_no_overlaps(topology, nm(positions))
        peptide = list(range(topology.getNumAtoms()))
        modeller = app.Modeller(topology, positions)
        modeller.addSolvent(forcefield, model="tip3p", numAdded=(MLMM_ATOMS - len(peptide)) // 3, boxShape="cube")
        mm = forcefield.createSystem(modeller.topology, nonbondedMethod=app.PME, nonbondedCutoff=1.0 * unit.nanometer,
                                     constraints=app.HBonds)
        return dict(topology=modeller.topology, positions=nm(modeller.positions), mm=mm, ml_atoms=peptide,
                    kind="mlmm")
    if name in WATER_ATOMS:
        modeller = app.Modeller(app.Topology(), [])
        modeller.addSolvent(forcefield, model="tip3p", numAdded=WATER_ATOMS[name] // 3, boxShape="cube")
        edge = modeller.topology.getPeriodicBoxVectors()[0][0].value_in_unit(unit.nanometer)
        if edge <= 1.0:  # twice the 5 Å cutoff
            raise RuntimeError(f"{name}: box edge {edge:.2f} nm is not above twice the cutoff")
        return dict(topology=modeller.topology, positions=nm(modeller.positions), mm=None, ml_atoms=None, kind="ml")
    raise ValueError(f"unknown system {name!r} (known: {', '.join(SYSTEMS)})")


# ----------------------------------------------------------------------------------------------------------------
# Routes (child side): a System with the ML force(s) in force group 1 and everything else in group 0


ML_GROUP = 1


def _remove_ept_forces(system):
    import openmmept
    for i in reversed(range(system.getNumForces())):
        if isinstance(system.getForce(i), openmmept.EPTForce):
            system.removeForce(i)


def _tensornet_checkpoint(folder):
    """A TorchMD-Net TensorNet checkpoint with random weights (seed 0), of a width comparable to EPT's."""
    import torch
    from torchmdnet.models.model import create_model

    args = dict(model="tensornet", precision=32, embedding_dimension=64, num_layers=2, num_rbf=16, rbf_type="expnorm",
                trainable_rbf=False, activation="silu", cutoff_lower=0.0, cutoff_upper=5.0, max_z=128,
                max_num_neighbors=64, equivariance_invariance_group="O(3)", derivative=False, atom_filter=-1,
                prior_model=None, output_model="Scalar", reduce_op="sum", static_shapes=False)
    torch.manual_seed(0)
    model = create_model(dict(args))
    path = os.path.join(folder, "tensornet-random.ckpt")
    torch.save({"hyper_parameters": args, "state_dict": model.state_dict()}, path)
    return path


def build_route(route, spec, threads, model_path, folder):
    """The System of ``spec`` with the ML force of ``route`` on its ML atoms, in force group ML_GROUP."""
    import openmm
    import openmmept

    topology, atoms, kind = spec["topology"], spec["ml_atoms"], spec["kind"]
    base = spec["mm"] if kind != "ml" else _particles_system(topology)

    if route in ("fused", "reference"):
        potential = openmmept.EPTPotential(model_path, implementation=route, threads=threads)
        if kind == "mlmm":
            return potential.createMixedSystem(topology, base, atoms, forceGroup=ML_GROUP)
        force = potential.createForce(topology, atoms)
        force.setForceGroup(ML_GROUP)
        base.addForce(force)
        return base

    if route in ("eager", "compile"):
        import torch
        from openmmept.torch_model import create_python_force

        force = create_python_force(model_path, topology, atoms, compile=(route == "compile"), dtype=torch.float32,
                                    threads=threads)
        if kind == "mlmm":
            # The same MM surgery as the other routes (openmm-ml's, through MLPotential("ept")), then the PythonForce
            # in place of the EPTForce.
            base = openmmept.EPTPotential(model_path).createMixedSystem(topology, base, atoms, forceGroup=ML_GROUP)
            _remove_ept_forces(base)
        force.setForceGroup(ML_GROUP)
        base.addForce(force)
        return base

    if route == "tensornet":
        import torch
        from openmmml import MLPotential

        torch.set_num_threads(threads)
        # openmm-ml loads the checkpoint with extra hyper-parameters (check_errors among them), which torchmd-net
        # 3.1 takes for the sign of an old-format checkpoint ("Old-format checkpoint detected") and so permutes
        # some linear weights: harmless here, the weights are random and only the time is measured.
        potential = MLPotential("torchmdnet", modelPath=_tensornet_checkpoint(folder))
        if kind == "mlmm":
            # openmm-ml cannot tell whether a local TorchMD-Net checkpoint reaches beyond its cutoff (EPTForce says
            # it does not) and refuses periodic ML/MM until told: this TensorNet stops at 5 Å.
            return potential.createMixedSystem(topology, base, atoms, forceGroup=ML_GROUP, mlLongRange=False)
        if kind == "delta":
            # openmm-ml has no public call that adds an ML force on top of a complete MM System; its potentials'
            # addForces is what createSystem itself calls.
            potential._impl.addForces(topology, base, None, ML_GROUP)
            return base
        system = potential.createSystem(topology)
        for force in system.getForces():
            if isinstance(force, openmm.PythonForce):
                force.setForceGroup(ML_GROUP)
        return system

    raise ValueError(f"unknown route {route!r} (known: {', '.join(ROUTES)})")


# ----------------------------------------------------------------------------------------------------------------
# Floating-point work of one EPT evaluation


def read_ept_config(path):
    """The ``config`` object of an .ept checkpoint's header: JSON after an 8-byte magic, a uint32 format version
    and a uint64 header length (little-endian)."""
    import struct
    with open(path, "rb") as f:
        preamble = f.read(20)
        if len(preamble) < 20 or preamble[:8] != b"EPTMODEL":
            raise ValueError(f"{path} is not an EPT checkpoint")
        _, length = struct.unpack("<IQ", preamble[8:])
        return json.loads(f.read(length))["config"]


def ept_multiply_adds(config, atoms, pairs, blocks):
    """Multiply-adds of one forward pass (pretrain/src/model/{embedding,attention,feed_forward,model}.cpp): every Linear
    applied to atoms or pairs, the per-pair products, logits and aggregations. ``atoms`` includes the global atoms;
    ``pairs`` are the graph's (dense attention attends over atoms² of them, one complex).
    Element-wise work (layer norms, activations, radial functions) is left out: it is small beside these. The direct
    force head is left out too: an energy + forces evaluation does not run it."""
    d, ffn, heads, layers = config["hidden"], config["ffn"], config["heads"], config["layers"]
    dq = config.get("qk_factor", 1) * d
    pair_features = config["radial"] + config["edge_dim"]
    # Per atom: embedding (edge_receiver, edge_sender, node_mlp 2d→d→d); per layer attention (query, key, value,
    # vector_value on 3 components, out, vector_out on 3) and feed-forward (vector_mix d→2d on 3 components,
    # hidden 2d→ffn, out ffn→2d).
    per_atom = (d * d + d * d + 2 * d * d + d * d
                + layers * (2 * d * dq + d * d + 3 * d * d + d * d + 3 * d * d)
                + layers * (3 * d * 2 * d + 2 * d * ffn + ffn * 2 * d))
    # Per pair of the graph: embedding (edge_pair, edge_out d→2d, the message a ⊙ h_j, the vector r ⊗ g) and per
    # layer the pair bias; per attended pair and layer: q·k, the softmax weights and the aggregation of
    # [scalar ; 3 vector] values (4d per pair).
    per_pair = pair_features * d + d * 2 * d + d + 3 * d + layers * pair_features
    per_attended = layers * (dq + 2 * heads + 4 * d)
    attended = atoms * atoms if config.get("attention") == "dense" else pairs
    per_block = d * d + d  # the energy head
    return atoms * per_atom + pairs * per_pair + attended * per_attended + blocks * per_block


def ept_work(model_path, spec):
    """(FLOPs of one energy + forces evaluation, pairs, atoms incl. global ones) at the starting structure."""
    import numpy as np
    import openmmept
    from openmmept.binding import model_inputs

    config = read_ept_config(model_path)
    force = openmmept.EPTPotential(model_path).createForce(spec["topology"], spec["ml_atoms"])
    x = spec["positions"] if spec["ml_atoms"] is None else spec["positions"][spec["ml_atoms"]]
    box = spec["topology"].getPeriodicBoxVectors()
    box = [] if box is None else (np.array([[v.x, v.y, v.z] for v in box]) * 10.0).reshape(-1).tolist()
    sparse = 0 if config.get("attention") == "dense" else 1
    raw = model_inputs(force, (x * 10.0).reshape(-1).tolist(), box, sparse, float(config["cutoff"]),
                       bool(config.get("envelope", True)))
    pairs = len(raw["receiver"])
    atoms = int(raw["num_atoms"][0])
    blocks = int(raw["num_real_blocks"][0])
    forward = 2 * ept_multiply_adds(config, atoms, pairs, blocks)
    return 2 * forward, pairs, atoms


# ----------------------------------------------------------------------------------------------------------------
# One row (child side)


def _resident_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run_matmul(threads, quick):
    import torch
    torch.set_num_threads(threads)
    result = {"route": "matmul", "system": "-", "threads": threads, "status": "ok"}
    for n in (512, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(2):
            torch.mm(a, b)
        budget, times = (0.5 if quick else 2.0), []
        start = time.perf_counter()
        while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 200):
            t0 = time.perf_counter()
            torch.mm(a, b)
            times.append(time.perf_counter() - t0)
        result[f"gflops_{n}"] = 2.0 * n ** 3 / statistics.median(times) / 1e9
    return result


def run_row(route, system_name, threads, args):
    import warnings
    warnings.simplefilter("ignore")  # openmm-ml's and torchmd-net's advice on models is not what is measured here
    if route == "matmul":
        return run_matmul(threads, args.quick)

    row = {"route": route, "system": system_name, "threads": threads, "platform": args.platform, "status": "ok"}
    # Imports first, so that the memory after them is the baseline of MB/atom.
    import numpy as np
    import openmm
    import openmm.unit as unit
    import openmmept
    if route in ("eager", "compile", "tensornet"):
        import torch  # noqa: F401
        if route == "tensornet":
            try:
                import torchmdnet.models.model  # noqa: F401
            except Exception as e:  # ImportError, or a dependency that cannot start on this machine
                row["status"] = f"unavailable: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                return row
        else:
            import openmmept.torch_model  # noqa: F401
    model_path = args.model or openmmept.default_model_path()
    row["model"] = model_path
    baseline = _resident_mb()

    started = time.perf_counter()
    spec = build_system(system_name)
    n_atoms = spec["topology"].getNumAtoms()
    ml_atoms = n_atoms if spec["ml_atoms"] is None else len(spec["ml_atoms"])
    row.update(atoms=n_atoms, ml_atoms=ml_atoms)
    if route in EPT_ROUTES:
        row["flops"], row["pairs"], row["model_atoms"] = ept_work(model_path, spec)
    log(f"    built {system_name} ({n_atoms} atoms, {ml_atoms} ML) in {time.perf_counter() - started:.1f} s")

    with tempfile.TemporaryDirectory(prefix="md_routes_") as folder:
        system = build_route(route, spec, threads, model_path, folder)
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                                     STEP_FS * unit.femtosecond)
        platform = openmm.Platform.getPlatformByName(args.platform)
        properties = {"Threads": str(threads)} if args.platform == "CPU" else {}
        context = openmm.Context(system, integrator, platform, properties)
        base = spec["positions"]
        rng = np.random.default_rng(0)

        def evaluate(positions):
            context.setPositions(positions * unit.nanometer)
            t0 = time.perf_counter()
            state = context.getState(getEnergy=True, getForces=True, groups={ML_GROUP})
            seconds = time.perf_counter() - t0
            return seconds, state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)

        def jittered():
            return base + rng.uniform(-NOISE_NM, NOISE_NM, base.shape)

        slow_start = route in ("compile", "tensornet")  # tensornet: eager first call, compiled from the second
        warmups = (2 if slow_start else 1) if args.quick else (3 if slow_start else 2)
        repeats = args.repeats or (3 if args.quick else 10)
        budget = args.budget or (20.0 if args.quick else 90.0)
        warm = 0.0
        for k in range(warmups):
            seconds, energy = evaluate(base if k == 0 else jittered())
            if k == 0:
                row["energy_kj"] = energy
            warm += seconds
            log(f"    warm-up evaluation {k + 1}/{warmups}: {seconds * 1e3:.1f} ms")
        row["warmup_s"] = warm
        times, start = [], time.perf_counter()
        while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget):
            times.append(evaluate(jittered())[0])
        median = statistics.median(times)
        row.update(repeats=len(times), ms_per_eval=median * 1e3, us_per_atom=median * 1e6 / ml_atoms,
                   ns_per_day_ml=86400.0 / median * STEP_FS * 1e-6,
                   ms_min=min(times) * 1e3, ms_max=max(times) * 1e3)
        log(f"    {len(times)} evaluations: median {median * 1e3:.2f} ms")

        if system_name == "ala-obc2":
            # Whole MD steps, as in the demo: short minimisation, velocities at 300 K, then dynamics.
            context.setPositions(base * unit.nanometer)
            openmm.LocalEnergyMinimizer.minimize(context, 10.0, 50)
            context.setVelocitiesToTemperature(300 * unit.kelvin, 1)
            integrator.step(10)
            steps_wanted = 50 if args.quick else 500
            steps, seconds = 0, 0.0
            while steps < steps_wanted and (steps == 0 or seconds < budget):
                t0 = time.perf_counter()
                integrator.step(10)
                seconds += time.perf_counter() - t0
                steps += 10
            row.update(md_steps=steps, md_ns_per_day=steps * STEP_FS * 1e-6 / seconds * 86400.0)
            log(f"    {steps} MD steps: {row['md_ns_per_day']:.2f} ns/day")
        del context, integrator

    peak = _peak_mb()
    row.update(peak_mb=peak, baseline_mb=baseline, mb_per_atom=(peak - baseline) / ml_atoms)
    return row


def keep_freed_memory():
    """The malloc settings of ept/model/allocator.h (EPT_MALLOC_TUNING=1) for this row's process, whatever its route:
    tensors up to 2 GiB from the heap, freed memory never handed back to the kernel. Without them glibc maps and
    unmaps every large tensor and the kernel zeroes its pages again at every evaluation, for every route alike."""
    libc = ctypes.CDLL("libc.so.6")
    m_top_pad, m_trim_threshold, m_mmap_threshold = -2, -1, -3  # <malloc.h>
    return (libc.mallopt(m_mmap_threshold, 2**31 - 1) == 1 and libc.mallopt(m_trim_threshold, -1) == 1
            and libc.mallopt(m_top_pad, 256 << 20) == 1)


def child_main(args):
    route, system_name, threads = args.row[0], args.row[1], int(args.row[2])
    if not keep_freed_memory():
        print("md_routes: glibc refused the malloc settings; rows run with its defaults", file=sys.stderr)
    try:
        row = run_row(route, system_name, threads, args)
    except MemoryError:
        row = {"route": route, "system": system_name, "threads": threads, "status": "oom"}
    except Exception as e:  # reported in the table, the run goes on
        text = f"{type(e).__name__}: {e}"
        status = "oom" if MEMORY_PATTERNS.search(text) else "failed: " + " ".join(text.split())[:160]
        row = {"route": route, "system": system_name, "threads": threads, "status": status}
        import traceback
        traceback.print_exc()
    print(ROW_TAG + json.dumps(row), flush=True)
    return 0


# ----------------------------------------------------------------------------------------------------------------
# The parent: one subprocess per row


def run_child(route, system_name, threads, args):
    command = [sys.executable, HERE, "--row", route, system_name, str(threads), "--platform", args.platform,
               "--repeats", str(args.repeats or 0), "--budget", str(args.budget or 0)]
    if args.quick:
        command.append("--quick")
    if args.model:
        command += ["--model", args.model]
    if shutil.which("taskset"):
        command = ["taskset", "-c", ",".join(str(c) for c in range(threads))] + command
    cap = int(args.memory_gb * 2 ** 30)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    base = {"route": route, "system": system_name, "threads": threads}
    # A temporary directory of the row's own, removed after it even when the row is killed; torch.compile keeps its
    # cache there, so every compiling row starts cold.
    scratch = tempfile.mkdtemp(prefix="md_routes_row_")
    started = time.perf_counter()
    try:
        with tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=None if args.verbose else err,
                                       text=True, preexec_fn=limit, start_new_session=True,
                                       env=dict(os.environ, TMPDIR=scratch))
            try:
                out, _ = process.communicate(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the row's own process group (compile workers included)
                process.communicate()
                return dict(base, status=f"timeout (> {args.timeout:g} s)", wall_s=time.perf_counter() - started)
            err.seek(0)
            stderr = err.read()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    wall = time.perf_counter() - started
    rows = [json.loads(line[len(ROW_TAG):]) for line in out.splitlines() if line.startswith(ROW_TAG)]
    if rows:
        row = rows[-1]
    elif MEMORY_PATTERNS.search(stderr):
        row = dict(base, status="oom")
    elif process.returncode < 0:
        name = signal.Signals(-process.returncode).name
        row = dict(base, status=f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else ""))
    else:
        last = [line for line in stderr.splitlines() if line.strip()][-1:] or ["no output"]
        row = dict(base, status=f"failed (exit {process.returncode}): {last[0][:160]}")
    if row.get("status") == "oom":
        row["status"] = f"out of memory (> {args.memory_gb:g} GB)"
    if row.get("status") != "ok" and stderr and not args.verbose:
        log("    " + "\n    ".join(stderr.strip().splitlines()[-15:]))
    row["wall_s"] = wall
    return row


def write_jsonl(path, rows):
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".md_routes_", suffix=".jsonl", dir=folder)
    with os.fdopen(fd, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    os.replace(temporary, path)


def _fmt(value, digits=3):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10 ** digits:
        return f"{value:,.0f}"
    decimals = max(0, digits - 1 - int(f"{magnitude:e}".split("e")[1]))
    return f"{value:.{decimals}f}"


def markdown_table(rows):
    header = ["route", "system", "atoms (ML)", "threads", "ms/eval", "µs/atom", "ns/day (ML)", "MD ns/day",
              "warm-up s", "peak MB", "MB/atom", "E0 kJ/mol", "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        atoms = "—" if "atoms" not in r else (f"{r['atoms']}" if r["atoms"] == r["ml_atoms"]
                                              else f"{r['atoms']} ({r['ml_atoms']})")
        energy = r.get("energy_kj")
        cells = [r["route"], r["system"], atoms, str(r["threads"]), _fmt(r.get("ms_per_eval")),
                 _fmt(r.get("us_per_atom")), _fmt(r.get("ns_per_day_ml")), _fmt(r.get("md_ns_per_day")),
                 _fmt(r.get("warmup_s")), _fmt(r.get("peak_mb"), 4), _fmt(r.get("mb_per_atom")),
                 "—" if energy is None else f"{energy:.6g}", r["status"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def roofline_lines(rows, matmul):
    if not matmul:
        return []
    lines = ["", "Roofline: float32 torch.mm on this machine: " + "; ".join(
        f"{m['threads']} thread{'s' if m['threads'] > 1 else ''}: 512² {m['gflops_512']:.1f} GFLOP/s, "
        f"2048² {m['gflops_2048']:.1f} GFLOP/s" for m in matmul if m.get("status") == "ok")]
    rate = {m["threads"]: m["gflops_2048"] for m in matmul if m.get("status") == "ok"}
    for r in rows:
        if r["route"] not in ("fused", "reference") or r.get("status") != "ok" or "flops" not in r:
            continue
        achieved = r["flops"] / (r["ms_per_eval"] * 1e-3) / 1e9
        share = f", {achieved / rate[r['threads']]:.1%} of the 2048² matmul rate" if r["threads"] in rate else ""
        lines.append(f"- {r['route']} {r['system']} {r['threads']} thread(s): {r['flops'] / 1e9:.3g} GFLOP per "
                     f"energy + forces ({r['model_atoms']} atoms incl. global ones, {r['pairs']} pairs) in "
                     f"{r['ms_per_eval']:.3g} ms = {achieved:.1f} GFLOP/s{share}")
    return lines


def split(text, known, what):
    items = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in items if s not in known]
    if unknown:
        raise SystemExit(f"md_routes.py: unknown {what} {', '.join(unknown)} (known: {', '.join(known)})")
    return items


def parent_main(args):
    systems = split(args.systems, SYSTEMS, "system(s)")
    routes = split(args.routes, ROUTES, "route(s)")
    try:
        threads = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        raise SystemExit(f"md_routes.py: --threads takes integers separated by commas, got {args.threads!r}")
    if any(t < 1 for t in threads):
        raise SystemExit("md_routes.py: thread counts must be at least 1")
    if not shutil.which("taskset"):
        log("md_routes.py: taskset not found; rows run unpinned")

    plan = [(route, system, n) for system in systems for route in routes for n in threads]
    rows, matmul = [], []
    if any(r in ("fused", "reference") for r in routes) and not args.no_roofline:
        for n in threads:
            log(f"[roofline] torch.mm with {n} thread(s)")
            m = run_child("matmul", "-", n, args)
            if m.get("status") == "ok":
                log(f"    512²: {m['gflops_512']:.1f} GFLOP/s, 2048²: {m['gflops_2048']:.1f} GFLOP/s")
            matmul.append(m)
    for k, (route, system, n) in enumerate(plan, 1):
        log(f"[{k}/{len(plan)}] {route} {system} {n} thread(s)")
        row = run_child(route, system, n, args)
        detail = f"{_fmt(row['ms_per_eval'])} ms/eval" if row.get("status") == "ok" else row["status"]
        log(f"    -> {detail} ({row['wall_s']:.1f} s)")
        rows.append(row)
        if args.out:
            write_jsonl(args.out, matmul + rows)
    print(markdown_table(rows))
    for line in roofline_lines(rows, matmul):
        print(line)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of the systems "
                        f"(default: all: {','.join(SYSTEMS)})")
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated subset of the routes "
                        f"(default: all: {','.join(ROUTES)})")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts, one row each (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="few warm-ups, 3 timed evaluations, 50 MD steps")
    parser.add_argument("--repeats", type=int, default=0,
                        help="timed evaluations per row (default 10, --quick 3; fewer when --budget runs out, "
                             "never fewer than 3)")
    parser.add_argument("--budget", type=float, default=0,
                        help="seconds of timed evaluations per row after which it stops early (default 90, --quick 20)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per row before it is killed (default 600)")
    parser.add_argument("--memory-gb", type=float, default=20,
                        help="address-space cap of each row's process in GB (RLIMIT_AS; default 20)")
    parser.add_argument("--platform", default="CPU", choices=["CPU", "Reference"],
                        help="OpenMM platform of every row (default CPU, as the demo)")
    parser.add_argument("--model", default=None, help="EPT checkpoint of every EPT route (default: the shipped model, "
                        "openmmept.default_model_path())")
    parser.add_argument("--out", default=None, help="also write the rows (and the matmul rates) as JSON lines here")
    parser.add_argument("--no-roofline", action="store_true", help="skip the matmul-rate measurement")
    parser.add_argument("--verbose", action="store_true", help="show each row's own output as it runs")
    parser.add_argument("--row", nargs=3, metavar=("ROUTE", "SYSTEM", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return child_main(args) if args.row else parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
