"""openmmept: the Equivariant Pretrained Transformer (EPT) in OpenMM.

    import openmmept
    force = openmmept.EPTForce(openmmept.default_model_path())
    openmmept.set_chemistry_from_topology(force, pdb.topology)
    system.addForce(force)

or, in the style of openmm-ml, ``openmmept.EPTPotential().createSystem(topology)`` and ``createMixedSystem``.
Units at the OpenMM boundary are nm and kJ/mol.
"""
import os

import openmm

from . import _build_paths


def _load_plugin() -> None:
    # OpenMM registers kernels per platform; load the Reference/CPU kernels unless OPENMM_PLUGIN_DIR already did.
    reference = openmm.Platform.getPlatformByName("Reference")
    if not reference.supportsKernels(["CalcEPTForce"]):
        openmm.Platform.loadPluginLibrary(_build_paths.REFERENCE_PLUGIN)


_load_plugin()

from .binding import EPTForce  # noqa: E402
from .chemistry import set_chemistry_from_rdkit, set_chemistry_from_topology  # noqa: E402
from .describe import Describer, DescriptorReporter, describe, descriptors_in_context  # noqa: E402
from .potential import EPTPotential  # noqa: E402


def default_model_path() -> str:
    """Path of the model shipped with openmm-ept (``EPT_MODEL`` in the environment overrides it)."""
    path = os.environ.get("EPT_MODEL", _build_paths.DEFAULT_MODEL)
    if not os.path.exists(path):
        raise FileNotFoundError(f"the default EPT model '{path}' does not exist; run `./run build` to make it")
    return path


__all__ = ["Describer", "DescriptorReporter", "EPTForce", "EPTPotential", "default_model_path", "describe",
           "descriptors_in_context", "set_chemistry_from_rdkit", "set_chemistry_from_topology"]
