"""EPT in openmm-ml: ``MLPotential("ept")`` (the shipped model) or ``MLPotential("ept", modelPath=...)``.

Registered in the ``openmmml.potentials`` entry-point group, so openmm-ml's own ``createSystem`` and
``createMixedSystem`` (its MM surgery: bonded terms, NonbondedForce and CustomNonbondedForce exclusions, PME,
constraints, link atoms, ``lambda_interpolate``) build the Systems; this file only adds the EPTForce.

Arguments, to ``MLPotential(...)`` or to ``createSystem``/``createMixedSystem`` (which take precedence):
``modelPath`` (checkpoint; default the shipped model), ``outputMode`` ("energy", conservative, or "direct", the
denoising force head, which conserves nothing), ``energyScale`` (multiplies the model's energy), ``precision``
("float32" or "float64"), ``threads`` (LibTorch threads for this force's evaluations, set for each one and
restored after; 0 leaves LibTorch's count), ``neighborSkin`` (nm) and ``implementation`` ("fused", the default
pair kernels, or "reference", plain LibTorch ops: same results to rounding, slower).
"""
import warnings
from typing import Iterable, Optional

import openmm
from openmmml.mlpotential import MLPotentialImpl, MLPotentialImplFactory

from .binding import EPTForce, OutputMode
from .chemistry import set_chemistry_from_topology

_PROPERTIES = ("precision", "threads", "neighborSkin", "implementation")
_OURS = ("modelPath", "outputMode", "energyScale") + _PROPERTIES
# Arguments openmm-ml's embeddings read themselves and pass on to addForces.
_EMBEDDING = ("linkAtomDistances", "mlLongRange")


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
                          f"(it takes {', '.join(_OURS)})", stacklevel=4)
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
                          stacklevel=4)
        force.setForceGroup(forceGroup)
        system.addForce(force)

    def getMLLongRange(self) -> bool:
        # Every interaction of the model lies within its cutoff: nothing long-ranged to hand to the embedding.
        return False
