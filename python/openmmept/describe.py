"""Descriptors of conformations: live from a Simulation (DescriptorReporter) and offline from frames or
trajectories (describe). Levels: "atom", "block" (residues, heavy-atom groups), "segment", "molecule"."""
import os
import struct
import sys
from typing import Optional, Sequence

import numpy as np
import openmm
import openmm.unit as unit

from .binding import DescriptorLevel, EPTForce
from .frames import FrameWriter
from .potential import EPTPotential

def descriptor_level(level) -> DescriptorLevel:
    """A DescriptorLevel, or its name in lower case ("atom", "block", "segment", "molecule")."""
    if isinstance(level, DescriptorLevel):
        return level
    for member in DescriptorLevel:
        if level == member.name.lower():
            return member
    raise ValueError(f"unknown descriptor level {level!r} (use atom, block, segment or molecule, "
                     "or an openmmept.DescriptorLevel)")


def descriptors_in_context(force: EPTForce, context: openmm.Context, level: str = "block") -> np.ndarray:
    """Descriptors of the positions in ``context`` from an EPTForce of its System: (rows, 2·d)."""
    code = descriptor_level(level)
    values = np.array(force.getDescriptors(context, code))
    return values.reshape(force.getNumDescriptorRows(code), force.getNumDescriptorColumns())


def _nm(positions) -> np.ndarray:
    if unit.is_quantity(positions):
        positions = positions.value_in_unit(unit.nanometer)
    return np.asarray(positions, dtype=float)


class Describer:
    """Evaluates descriptors of ``atoms`` (default: all) of ``topology`` for any positions, in a Context of its
    own (no other forces), so it works beside any simulation."""

    def __init__(self, topology, model: Optional[str] = None, level: str = "block",
                 atoms: Optional[Sequence[int]] = None, platform: str = "CPU", threads: int = 0):
        self.code = descriptor_level(level)
        self.level = self.code.name.lower()
        self.num_atoms = topology.getNumAtoms()
        self.atoms = list(range(self.num_atoms)) if atoms is None else [int(a) for a in atoms]
        from . import default_model_path
        self.model = str(model) if model is not None else default_model_path()
        self.force = EPTPotential(self.model, threads=threads).createForce(topology, None if atoms is None else self.atoms)
        system = openmm.System()
        for _ in range(self.num_atoms):
            system.addParticle(1.0)
        box = topology.getPeriodicBoxVectors()
        if box is not None:
            system.setDefaultPeriodicBoxVectors(*box)
        system.addForce(self.force)
        self.context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                                      openmm.Platform.getPlatformByName(platform))
        self.labels = list(self.force.getDescriptorLabels(self.code))
        self.shape = (len(self.labels), self.force.getNumDescriptorColumns())

    def __call__(self, positions, box_vectors=None, where: str = "the positions") -> np.ndarray:
        """Descriptors of one frame; ``where`` names it in errors (e.g. "frame 12 of 'run.dcd'")."""
        x = _nm(positions)
        if x.shape != (self.num_atoms, 3):
            raise ValueError(f"{where}: positions of shape {x.shape} for a topology of {self.num_atoms} atoms")
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if bad.size:
            raise ValueError(f"{where}: atom {bad[0]} has a non-finite position (NaN or inf)"
                             + (f", and {bad.size - 1} more atoms" if bad.size > 1 else ""))
        if box_vectors is not None:
            self.context.setPeriodicBoxVectors(*[openmm.Vec3(*v) for v in _nm(box_vectors)])
        self.context.setPositions(x)
        return descriptors_in_context(self.force, self.context, self.level)

    def metadata(self) -> dict:
        return {"model": os.path.abspath(self.model), "model_checksum": self.force.getModelChecksum(),
                "level": self.level, "labels": self.labels, "columns": "[h (d) ; |V| (d)]",
                "atoms": self.atoms}


def describe(topology, positions, level: str = "block", model: Optional[str] = None, batch: int = 100,
             atoms: Optional[Sequence[int]] = None, progress: bool = False) -> np.ndarray:
    """Descriptors of many frames: (frames, rows, 2·d).

    ``positions``: one frame (atoms × 3, nm), an array of frames (frames × atoms × 3, nm), an
    ``mdtraj.Trajectory``, or the path of a trajectory file mdtraj reads (read ``batch`` frames at a time).
    ``topology``: an ``openmm.app.Topology``; None takes it from the mdtraj trajectory.
    """
    import mdtraj

    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a whole number of frames ≥ 1, got {batch!r}")
    source = "the positions"
    if isinstance(positions, (str, os.PathLike)):
        path = os.fspath(positions)
        source = f"'{path}'"
        if topology is None:
            raise ValueError("describe() needs a topology to read a trajectory file")
        _check_trajectory_file(path, topology.getNumAtoms())
        if batch * topology.getNumAtoms() * 12 > 2**30:
            raise ValueError(f"batch={batch} frames of {topology.getNumAtoms()} atoms would take "
                             f"{batch * topology.getNumAtoms() * 12 / 2**30:.0f} GiB at once; frames are read batch "
                             f"by batch, so a batch of 100–1000 frames costs nothing in speed")
        top = mdtraj.Topology.from_openmm(topology)
        chunks = mdtraj.iterload(path, top=top, chunk=batch)
    elif isinstance(positions, mdtraj.Trajectory):
        topology = topology if topology is not None else positions.topology.to_openmm()
        chunks = [positions]
    else:
        x = _nm(positions)
        chunks = [x[None] if x.ndim == 2 else x]
    describer = None
    frames = []
    for chunk in chunks:
        if isinstance(chunk, mdtraj.Trajectory):
            if chunk.n_atoms != topology.getNumAtoms():
                raise ValueError(f"the trajectory has {chunk.n_atoms} atoms but the topology "
                                 f"{topology.getNumAtoms()}")
            xyz, boxes = chunk.xyz, chunk.unitcell_vectors
        else:
            xyz, boxes = chunk, None
        if describer is None:
            describer = Describer(topology, model, level, atoms)
        for k, x in enumerate(xyz):
            frames.append(describer(x, None if boxes is None else boxes[k], f"frame {len(frames)} of {source}"))
            if progress and len(frames) % 50 == 0:
                print(f"\rdescribed {len(frames)} frames", end="", file=sys.stderr)
    if progress:
        print(f"\rdescribed {len(frames)} frames", file=sys.stderr)
    if isinstance(positions, (str, os.PathLike)) and os.fspath(positions).lower().endswith(".dcd"):
        _warn_if_cut_short(os.fspath(positions), len(frames), topology.getNumAtoms())
    if describer is None:
        raise ValueError("no frames to describe")
    return np.stack(frames)


def _check_trajectory_file(path: str, atoms: int) -> None:
    """Our own checks of a trajectory file before mdtraj reads it: a file (not a folder), not empty, and for DCD
    files the atom count and at least one frame, read from the header, in our words."""
    if os.path.isdir(path):
        raise ValueError(f"trajectory '{path}' is a directory; give a trajectory file (.dcd, .xtc, ...)")
    if not os.path.exists(path):
        raise FileNotFoundError(f"trajectory '{path}' does not exist")
    if os.path.getsize(path) == 0:
        raise ValueError(f"trajectory '{path}' is empty (0 bytes): the run that writes it wrote nothing yet")
    if not path.lower().endswith(".dcd"):
        return
    try:
        header_atoms, header_end, frame_bytes = _dcd_layout(path)
    except (OSError, struct.error, ValueError) as e:
        raise ValueError(f"trajectory '{path}' is not a DCD file OpenMM or CHARMM writes ({e})") from None
    if header_atoms != atoms:
        raise ValueError(f"the trajectory '{path}' has {header_atoms} atoms but the topology has {atoms}; give the "
                         "topology the trajectory was written with")
    if os.path.getsize(path) - header_end < frame_bytes:
        raise ValueError(f"trajectory '{path}' holds no complete frame (a header only: the run wrote no frame yet)")


def _dcd_layout(path: str):
    """(atoms, bytes of the header records, bytes per frame) of a DCD file: three header records, each
    <length> bytes <length>, then per frame an optional unit-cell record and the x, y, z records."""
    with open(path, "rb") as f:
        offset, has_cell, atoms = 0, False, 0
        for record in range(3):  # header, title, atom count
            f.seek(offset)
            (length,) = struct.unpack("<i", f.read(4))
            if not 0 < length < 1 << 20:
                raise ValueError(f"record {record} has length {length}")
            if record == 0:
                has_cell = struct.unpack("<i", f.read(48)[44:48])[0] != 0
            if record == 2:
                (atoms,) = struct.unpack("<i", f.read(4))
            offset += 8 + length
    return atoms, offset, (56 if has_cell else 0) + 3 * (8 + 4 * atoms)


def _warn_if_cut_short(path: str, frames: int, atoms: int) -> None:
    """mdtraj stops at the last complete frame of a DCD file without a word; say so when bytes follow it (what a
    killed writer leaves), as `ept describe` does."""
    import warnings
    _, offset, frame_bytes = _dcd_layout(path)
    extra = os.path.getsize(path) - offset - frames * frame_bytes
    if extra > 0:
        warnings.warn(f"'{path}' ends inside frame {frames} ({extra} bytes of a frame cut short, as a killed run "
                      f"leaves); described the {frames} complete frames", stacklevel=3)


class DescriptorReporter:
    """A Simulation reporter that writes descriptors every ``reportInterval`` steps to ``file`` (.npy, one frame
    per report, with a JSON sidecar ``file.json``: model checksum, level, row labels, times in ps).

    If the Simulation's System has an EPTForce, its model and atoms are used (and a force evaluation at the same
    positions is reused); otherwise ``model`` (default: the shipped model) describes ``atoms`` (default: all).
    ``append=True`` continues an existing file (a restarted run keeps every complete frame written before).
    """

    def __init__(self, file: str, reportInterval: int, level: str = "block", model: Optional[str] = None,
                 atoms: Optional[Sequence[int]] = None, append: bool = False):
        level = descriptor_level(level).name.lower()
        if (isinstance(reportInterval, bool) or not isinstance(reportInterval, (int, np.integer))
                or reportInterval < 1):
            raise ValueError(f"reportInterval must be a whole number of steps ≥ 1, got {reportInterval!r}")
        self.file, self.interval, self.level = os.fspath(file), int(reportInterval), level
        self.model, self.atoms, self.append = model, atoms, append
        self._writer = None
        self._source = None

    def describeNextReport(self, simulation):
        steps = self.interval - simulation.currentStep % self.interval
        return (steps, True, False, False, False)  # positions (for a describer of its own), no velocities, ...

    def _open(self, simulation) -> None:
        forces = [f for f in simulation.system.getForces() if EPTForce.isinstance(f)]
        if forces and self.model is None and self.atoms is None:
            force = EPTForce.cast(forces[0])
            self._source = lambda state: descriptors_in_context(force, simulation.context, self.level)
            code = descriptor_level(self.level)
            metadata = {"model": force.getModelPath(), "model_checksum": force.getModelChecksum(),
                        "level": self.level, "labels": list(force.getDescriptorLabels(code)),
                        "columns": "[h (d) ; |V| (d)]", "atoms": list(force.getAtoms())}
            shape = (force.getNumDescriptorRows(code), force.getNumDescriptorColumns())
        else:
            describer = Describer(simulation.topology, self.model, self.level, self.atoms)
            self._source = lambda state: describer(state.getPositions(asNumpy=True),
                                                   state.getPeriodicBoxVectors(asNumpy=True)
                                                   if simulation.topology.getPeriodicBoxVectors() else None)
            metadata, shape = describer.metadata(), describer.shape
        self._writer = FrameWriter(self.file, shape[0], shape[1], metadata, append=self.append)

    def report(self, simulation, state) -> None:
        if self._writer is None:
            self._open(simulation)
        time = state.getTime().value_in_unit(unit.picosecond)
        self._writer.append(self._source(state), time)

    def __del__(self):
        if getattr(self, "_writer", None) is not None:
            self._writer.close()
