#include "ept/data/trajectory.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "ept/data/elements.h"
#include "ept/data/npy.h"
#include "ept/error.h"

namespace ept {

std::vector<TrajectoryFrame> read_trajectory_frames(const std::vector<std::string>& paths, size_t n,
                                                    const std::string& topology, int64_t stride) {
  if (stride < 1) throw InputError("--stride must be at least 1");
  std::vector<TrajectoryFrame> frames;
  for (size_t t = 0; t < paths.size(); ++t) {
    if (std::filesystem::path(paths[t]).extension() == ".npy") {
      const NpyArray a = load_npy(paths[t]);
      if (a.shape.size() != 3 || a.shape[2] != 3 || static_cast<size_t>(a.shape[1]) != n)
        throw InputError("the frames '" + paths[t] + "' must be an array of shape (frames, " + std::to_string(n) +
                         ", 3) in Å for the topology '" + topology + "'; its shape has " +
                         (a.shape.size() == 3 ? std::to_string(a.shape[1]) + " atoms" : std::to_string(a.shape.size()) + " dimensions"));
      for (int64_t k = 0; k < a.shape[0]; k += stride) {
        DcdFrame f;
        for (size_t i = 0; i < n; ++i) f.positions.push_back({a.data[3 * (k * n + i)], a.data[3 * (k * n + i) + 1], a.data[3 * (k * n + i) + 2]});
        frames.push_back({t, k, f});
      }
      continue;
    }
    DcdReader reader(paths[t]);
    if (static_cast<size_t>(reader.num_atoms()) != n)
      throw InputError("the trajectory '" + paths[t] + "' has " + std::to_string(reader.num_atoms()) +
                       " atoms but the topology '" + topology + "' has " + std::to_string(n));
    DcdFrame f;
    for (int64_t k = 0; reader.read(f); ++k)
      if (k % stride == 0) frames.push_back({t, k, f});
  }
  return frames;
}

void check_bond_lengths(const AtomTable& table, const DcdFrame& frame, const std::string& where) {
  if (table.bonds.empty() || frame.positions.size() != table.size()) return;
  std::vector<double> ratios;
  for (const auto& [a, b] : table.bonds) {
    double d2 = 0;
    for (int k = 0; k < 3; ++k) d2 += std::pow(frame.positions[a][k] - frame.positions[b][k], 2);
    ratios.push_back(std::sqrt(d2) / (elements::covalent_radius(table.atomic_numbers[a]) +
                                      elements::covalent_radius(table.atomic_numbers[b])));
  }
  std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
  const double median = ratios[ratios.size() / 2];
  if (median >= 0.3 && median <= 3) return;
  std::ostringstream text;
  text.precision(2);
  text << where << ": its bonded atoms are " << (median < 0.3 ? 1 / median : median) << "× "
       << (median < 0.3 ? "closer" : "farther apart") << " than covalent bonds (median over "
       << table.bonds.size() << " bonds); "
       << (median < 0.3 ? "the positions look like nanometres: frames are read in Å (multiply by 10)"
                        : "the positions are not in Å (in pm? divide by 100), or the frame belongs to another topology");
  throw InputError(text.str());
}

}  // namespace ept
