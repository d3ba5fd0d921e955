#include "ept/data/trajectory.h"

#include <filesystem>

#include "ept/error.h"
#include "ept/data/npy.h"

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

}  // namespace ept
