#pragma once
// GFN2-xTB single points with gradients through the `xtb` program (Debian's xtb 6.5): one process per
// conformation, in a folder of its own, so that several run side by side.
#include <string>
#include <vector>

#include "ept/model/neighbors.h"

namespace ept {

struct XtbOptions {
  std::string executable = "xtb";  // found on PATH unless a path is given
  int charge = 0;                  // total charge (e)
  int unpaired = 0;                // unpaired electrons
  std::string solvent;             // ALPB implicit solvent ("water"); empty: gas phase
  /// The command line after the coordinate file, for the record (what a data set's manifest states).
  std::vector<std::string> arguments() const;
};

struct XtbResult {
  double energy = 0;         // kJ/mol
  std::vector<Vec3> forces;  // kJ/mol/Å, −gradient
};

/// Runs xtb on one conformation (Å) in a fresh folder under `scratch`, removed afterwards. Throws Error with the
/// reason xtb failed (could not start, exit status and the last lines it printed, no or malformed gradient file),
/// so that a labelling run can record it and go on.
XtbResult xtb_single_point(const std::vector<int>& atomic_numbers, const std::vector<Vec3>& positions,
                           const XtbOptions& options, const std::string& scratch);

}  // namespace ept
