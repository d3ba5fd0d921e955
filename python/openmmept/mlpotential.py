"""EPT in openmm-ml: ``MLPotential("ept")`` (the shipped model) or ``MLPotential("ept", modelPath=...)``.

Registered in the ``openmmml.potentials`` entry-point group, so openmm-ml's own ``createSystem`` and
``createMixedSystem`` (its MM surgery: bonded terms, NonbondedForce and CustomNonbondedForce exclusions, PME,
constraints, link atoms, ``lambda_interpolate``) build the Systems; this file adds the EPTForce, and after
openmm-ml's mechanical embedding gives its link-atom sites to the forces openmm-ml leaves without them (implicit
solvent, ...: :func:`openmmept.mlmm.complete_link_sites`), so that the mixed System runs.

Arguments, to ``MLPotential(...)`` or to ``createSystem``/``createMixedSystem`` (which take precedence):
``modelPath`` (checkpoint; default the shipped model), ``outputMode`` ("energy", conservative, or "direct", the
denoising force head, which conserves nothing), ``energyScale`` (multiplies the model's energy), ``precision``
("float32" or "float64"), ``threads`` (LibTorch threads for this force's evaluations, set for each one and
restored after; 0 leaves LibTorch's count), ``neighborSkin`` (nm) and ``implementation`` ("fused", the default
pair kernels, or "reference", plain LibTorch ops: same results to rounding, slower).
"""
import os
import sys
import warnings
from typing import Iterable, List, Optional

import openmm
import openmmml
from openmmml.embeddings.mechanicalembedding import MechanicalEmbeddingFactory
from openmmml.mlpotential import MLPotentialImpl, MLPotentialImplFactory

from .binding import EPTForce, OutputMode
from .chemistry import set_chemistry_from_topology
from .mlmm import complete_link_sites, join_link_sites_to_residues

_PROPERTIES = ("precision", "threads", "neighborSkin", "implementation")
_OURS = ("modelPath", "outputMode", "energyScale") + _PROPERTIES
# Arguments openmm-ml's embeddings read themselves and pass on to addForces.
_EMBEDDING = ("linkAtomDistances", "mlLongRange")


def _callers_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` in the function calling this one that names the first frame outside
    openmm-ml and openmm-ept: the user's line, however many of their calls lie between."""
    inside = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
              os.path.dirname(os.path.abspath(openmmml.__file__)) + os.sep)
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def ml_atoms(topology: openmm.app.Topology, atoms: Iterable[int]) -> List[int]:
    """The ML region's atom indices as a list of ints, each once and inside ``topology``; ValueError naming the
    first bad one (checked before openmm-ml's surgery, which would fail on them far from the cause)."""
    atoms = [int(a) for a in atoms]
    if not atoms:
        raise ValueError("the ML region is empty: give the indices of the atoms EPT models (e.g. a ligand's, or "
                         "[a.index for a in topology.atoms() if a.residue.index < 2])")
    seen = set()
    for a in atoms:
        if not 0 <= a < topology.getNumAtoms():
            raise ValueError(f"ML atom index {a} is outside the topology's {topology.getNumAtoms()} atoms "
                             f"(0..{topology.getNumAtoms() - 1})")
        if a in seen:
            raise ValueError(f"ML atom index {a} is given twice; give each atom of the ML region once")
        seen.add(a)
    return atoms


def output_mode(value) -> OutputMode:
    """An OutputMode, or its name ("energy", "direct")."""
    if isinstance(value, OutputMode):
        return value
    for member in OutputMode:
        if str(value).lower() == member.name.lower():
            return member
    raise ValueError(f"outputMode must be 'energy' or 'direct' (or an openmmept.OutputMode), got {value!r}")


class EPTPotentialImplFactory(MLPotentialImplFactory):
    def createImpl(self, name: str, **args) -> MLPotentialImpl:
        return EPTPotentialImpl(name, **args)


class EPTPotentialImpl(MLPotentialImpl):
    def __init__(self, name: str, **args):
        self.name = name
        unknown = sorted(set(args) - set(_OURS))
        if unknown:
            raise TypeError(f"MLPotential('{name}') got unexpected arguments {', '.join(unknown)} "
                            f"(it takes {', '.join(_OURS)})")
        self.args = {k: v for k, v in args.items() if v is not None}

    def _settings(self, args: dict) -> dict:
        unknown = sorted(set(args) - set(_OURS) - set(_EMBEDDING))
        if unknown:
            warnings.warn(f"the '{self.name}' potential does not use the arguments {', '.join(unknown)} "
                          f"(it takes {', '.join(_OURS)})", stacklevel=_callers_stacklevel())
        settings = dict(self.args)
        settings.update({k: v for k, v in args.items() if k in _OURS and v is not None})
        return settings

    def createForce(self, topology: openmm.app.Topology, atoms: Optional[Iterable[int]] = None,
                    **args) -> EPTForce:
        """An EPTForce on ``atoms`` of ``topology`` (all if None), periodic when the topology has a box."""
        from . import default_model_path
        settings = self._settings(args)
        force = EPTForce(str(settings.get("modelPath") or default_model_path()))
        set_chemistry_from_topology(force, topology, None if atoms is None else list(atoms))
        force.setOutputMode(output_mode(settings.get("outputMode", OutputMode.Energy)))
        force.setEnergyScale(float(settings.get("energyScale", 1.0)))
        force.setUsesPeriodicBoundaryConditions(topology.getPeriodicBoxVectors() is not None)
        for name in _PROPERTIES:
            if name in settings:
                force.setProperty(name, str(settings[name]))
        return force

    def addForces(self, topology: openmm.app.Topology, system: openmm.System, atoms: Optional[Iterable[int]],
                  forceGroup: int, **args) -> None:
        # openmm-ml interpolation hands over an empty System to collect the ML forces in; any other must match.
        if system.getNumParticles() not in (0, topology.getNumAtoms()):
            raise ValueError(f"the topology has {topology.getNumAtoms()} atoms but the System "
                             f"{system.getNumParticles()} particles; pass the System made from this topology")
        force = self.createForce(topology, atoms, **args)
        meaning = force.getEnergyMeaning()
        if force.getOutputMode() == OutputMode.Energy and meaning != "total":
            what = ("its energy head is untrained (a pretrained model's is), so EPT replaces the force field with a "
                    "meaningless energy and molecules fall apart" if meaning == "untrained" else
                    f"its energy is a correction to {meaning[6:]}, to be added to that force field, not to replace it")
            warnings.warn(f"the '{self.name}' model {force.getModelPath()} stands in for the force field here, but "
                          f"{what}; `ept info --model MODEL` says what its energy means. Add a correction with "
                          "EPTPotential.createForce instead, or use a model whose energy is a total energy",
                          stacklevel=_callers_stacklevel())
        force.setForceGroup(forceGroup)
        system.addForce(force)

    def getSupportedEmbeddings(self) -> List[str]:
        # openmm-ml hands an embedding this potential names to createMixedSystem below instead of running it itself:
        # that is the one place after its surgery where the mixed System can still be completed.
        return ["mechanical"]

    def createMixedSystem(self, topology: openmm.app.Topology, system: openmm.System, atoms: List[int],
                          forceGroup: int, interpolate: bool, embedding: str, returnInfo: bool = False, **args):
        """openmm-ml's mechanical embedding, unchanged, then :func:`openmmept.mlmm.complete_link_sites` on the System
        it made: the link-atom sites it appends get entries that change nothing in every force that has one entry
        per particle (a force where that is impossible is refused by name)."""
        atoms = ml_atoms(topology, atoms)
        made = MechanicalEmbeddingFactory().createEmbedding(embedding).createMixedSystem(
            self, topology, system, atoms, forceGroup, interpolate, **({"returnInfo": True} if returnInfo else {}),
            **args)
        mixed = made["system"] if isinstance(made, dict) else made
        complete_link_sites(mixed, system.getNumParticles())
        join_link_sites_to_residues(mixed, system.getNumParticles())
        sites = mixed.getNumParticles() - system.getNumParticles()
        if sites and not returnInfo:
            warnings.warn(f"the ML region cuts {sites} covalent bond(s), so openmm-ml added {sites} link-atom site(s): "
                          f"the mixed System has {mixed.getNumParticles()} particles for the topology's "
                          f"{system.getNumParticles()} atoms. Set positions with openmmept.mixed_positions(system, "
                          "positions); returnInfo=True also gives the topology with the sites, for Simulation and its "
                          "reporters", stacklevel=_callers_stacklevel())
        return made

    def getMLLongRange(self) -> bool:
        # Every interaction of the model lies within its cutoff: nothing long-ranged to hand to the embedding.
        return False
