#pragma once
// The choices an evaluation is asked for, one enum each for the library, the OpenMM force, SWIG and Python
// (openmmept.OutputMode, openmmept.DescriptorLevel). No torch here: the plugin's public header includes it.
namespace ept {

/// The forces an evaluation returns. Energy: −∂E/∂x of the energy head (conservative, for MD). Direct: the
/// denoising force head, not the gradient of any energy (conserves nothing).
enum class OutputMode { Energy = 0, Direct = 1 };

/// Rows of descriptors: atoms; blocks (residues, heavy-atom groups); segments (chains, molecules); one row per
/// complex (the whole ML region).
enum class DescriptorLevel { Atom = 0, Block = 1, Segment = 2, Molecule = 3 };

}  // namespace ept
