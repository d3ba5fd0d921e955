"""EPTPotential: ``MLPotential("ept", ...)`` under its own name, with one addition, ``createForce``."""
from typing import Iterable, Optional

import openmm
from openmmml.mlpotential import MLPotential

from .binding import EPTForce


class EPTPotential(MLPotential):
    """The EPT model at ``modelPath`` (default: the shipped model) as an openmm-ml potential: the same object
    ``MLPotential("ept", modelPath=..., **args)`` gives, so ``createSystem`` and ``createMixedSystem`` are
    openmm-ml's, with its argument names and order. See :mod:`openmmept.mlpotential` for the arguments."""

    def __init__(self, modelPath: Optional[str] = None, **args):
        super().__init__("ept", modelPath=modelPath, **args)

    def createMixedSystem(self, topology: openmm.app.Topology, system: openmm.System, atoms: Iterable[int], *args,
                          **kwargs):
        """openmm-ml's createMixedSystem, after a check that names an atom index outside the topology."""
        atoms = [int(a) for a in atoms]
        for a in atoms:
            if not 0 <= a < topology.getNumAtoms():
                raise ValueError(f"ML atom index {a} is outside the topology's {topology.getNumAtoms()} atoms")
        return super().createMixedSystem(topology, system, atoms, *args, **kwargs)

    def createForce(self, topology: openmm.app.Topology, atoms: Optional[Iterable[int]] = None, **args) -> EPTForce:
        """An EPTForce on ``atoms`` of ``topology`` (all if None), for adding to a System by hand."""
        return self._impl.createForce(topology, atoms, **args)
