#pragma once
// Reading DCD trajectories (CHARMM/NAMD/OpenMM format, little-endian): coordinates in Å and, when present, the
// unit cell of each frame as box vectors in OpenMM's reduced form.
#include <fstream>
#include <string>
#include <vector>

#include "ept/model/neighbors.h"

namespace ept {

struct DcdFrame {
  std::vector<Vec3> positions;  // Å
  Box box;                      // periodic when the file has unit cells
};

class DcdReader {
 public:
  /// Opens and checks the header; throws InputError naming the file and the problem.
  explicit DcdReader(const std::string& path);
  int64_t num_atoms() const { return num_atoms_; }
  /// Frames the header announces (some writers leave 0; reading then goes to the end of the file).
  int64_t num_frames_in_header() const { return num_frames_; }
  bool has_unit_cell() const { return unit_cell_; }
  /// The next frame; false at the end of the file, and also where the file ends inside a frame (what a killed
  /// writer leaves): truncated() then says so. Damage inside the file raises InputError.
  bool read(DcdFrame& frame);
  /// Whether reading stopped at a last frame that was cut short (the complete frames before it were read).
  bool truncated() const { return truncated_; }
  int64_t frames_read() const { return frames_read_; }

 private:
  std::string read_record(const char* what, bool allow_end = false, bool in_frame = false);
  std::string path_;
  std::ifstream in_;
  int64_t num_atoms_ = 0, num_frames_ = 0, frames_read_ = 0, file_size_ = 0;
  bool unit_cell_ = false, truncated_ = false;
};

}  // namespace ept
