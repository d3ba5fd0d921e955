#pragma once
// The frames of MD trajectories of one topology, whatever their file: DCD (OpenMM's DCDReporter; Å, unit cells)
// or .npy arrays of shape (frames, atoms, 3) in Å (float32 or float64).
#include <string>
#include <vector>

#include "ept/data/dcd.h"
#include "ept/data/molecule.h"

namespace ept {

struct TrajectoryFrame {
  size_t trajectory;  // which of the files
  int64_t index;      // frame number in its file
  DcdFrame data;
};

/// Every `stride`-th frame (0, stride, 2·stride, ...) of each file, file by file. InputError naming the file and
/// `topology` when its atom count is not `num_atoms`; a DCD cut short gives its complete frames.
std::vector<TrajectoryFrame> read_trajectory_frames(const std::vector<std::string>& paths, size_t num_atoms,
                                                    const std::string& topology, int64_t stride = 1);

/// Checks that a frame's bonded atoms lie about a bond length apart (the median over the table's bonds of the
/// distance over the sum of covalent radii between 0.3 and 3): a frame in nm instead of Å, or in pm, is refused
/// with an InputError naming `where` and the likely unit mistake. Tables without bonds pass.
void check_bond_lengths(const AtomTable& table, const DcdFrame& frame, const std::string& where);

}  // namespace ept
