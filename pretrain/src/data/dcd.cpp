#include "ept/data/dcd.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "ept/error.h"

namespace ept {
namespace {

template <typename T>
T at(const std::string& bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

constexpr double kDegree = M_PI / 180.0;

// Unit cell angles may be stored as degrees or (old CHARMM) as cosines.
double angle_cosine(double value) { return std::abs(value) <= 1.0 ? value : std::cos(value * kDegree); }

}  // namespace

std::string DcdReader::read_record(const char* what, bool allow_end, bool in_frame) {
  // The file ends inside this record: inside a frame that is a cut-short last frame (what a killed writer leaves),
  // elsewhere a damaged file.
  auto ends_here = [&](const std::string& detail) -> std::string {
    if (in_frame) {
      truncated_ = true;
      return {};
    }
    throw InputError("DCD file '" + path_ + "': the file ends inside " + what + detail);
  };
  int32_t size = 0;
  if (!in_.read(reinterpret_cast<char*>(&size), 4)) {
    if (allow_end && in_.gcount() == 0) return {};
    return ends_here("");
  }
  if (size < 0 || size > (1 << 30)) throw InputError("DCD file '" + path_ + "': bad record length in " + what);
  if (static_cast<int64_t>(size) + 4 > file_size_ - static_cast<int64_t>(in_.tellg()))  // never allocate past the file
    return ends_here("");
  std::string bytes(static_cast<size_t>(size), '\0');
  int32_t end = 0;
  if (!in_.read(bytes.data(), size) || !in_.read(reinterpret_cast<char*>(&end), 4))
    return ends_here(" (frame " + std::to_string(frames_read_) + "); a run writing it was probably killed");
  if (end != size) throw InputError("DCD file '" + path_ + "': record markers disagree in " + what);
  return bytes;
}

DcdReader::DcdReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw InputError("DCD file '" + path + "' cannot be opened (does it exist?)");
  in_.seekg(0, std::ios::end);
  file_size_ = in_.tellg();
  in_.seekg(0);
  int32_t first = 0;
  in_.read(reinterpret_cast<char*>(&first), 4);
  if (first != 84) {
    throw InputError("DCD file '" + path + "' is not a little-endian DCD file (first record length " +
                     std::to_string(first) + ", expected 84)");
  }
  in_.seekg(0);
  const std::string header = read_record("the header");
  if (header.compare(0, 4, "CORD") != 0) throw InputError("DCD file '" + path + "' does not start with CORD");
  num_frames_ = at<int32_t>(header, 4);
  const int32_t fixed = at<int32_t>(header, 4 + 8 * 4);
  unit_cell_ = at<int32_t>(header, 4 + 10 * 4) != 0;
  if (at<int32_t>(header, 4 + 11 * 4) != 0) throw InputError("DCD file '" + path + "': 4D coordinates are not supported");
  if (fixed != 0) throw InputError("DCD file '" + path + "': fixed atoms are not supported");
  read_record("the title");
  const std::string atoms = read_record("the atom count");
  num_atoms_ = at<int32_t>(atoms, 0);
  if (num_atoms_ <= 0) throw InputError("DCD file '" + path + "' declares no atoms");
}

bool DcdReader::read(DcdFrame& frame) {
  std::string cell;
  if (unit_cell_) {
    cell = read_record("a unit cell", /*allow_end=*/true, /*in_frame=*/true);
    if (cell.empty()) return false;
    if (cell.size() != 48) throw InputError("DCD file '" + path_ + "': unit cell record of unexpected size");
  }
  std::array<std::string, 3> xyz;
  const char* names[3] = {"x coordinates", "y coordinates", "z coordinates"};
  for (int k = 0; k < 3; ++k) {
    xyz[k] = read_record(names[k], /*allow_end=*/!unit_cell_ && k == 0, /*in_frame=*/true);
    if (xyz[k].empty()) return false;
    if (static_cast<int64_t>(xyz[k].size()) != 4 * num_atoms_)
      throw InputError("DCD file '" + path_ + "': frame " + std::to_string(frames_read_) + " has the wrong atom count");
  }
  frame.positions.resize(num_atoms_);
  for (int64_t i = 0; i < num_atoms_; ++i)
    for (int k = 0; k < 3; ++k) frame.positions[i][k] = at<float>(xyz[k], 4 * i);
  frame.box = Box();
  if (unit_cell_) {  // a, cos γ, b, cos β, cos α, c
    const double a = at<double>(cell, 0), b = at<double>(cell, 16), c = at<double>(cell, 40);
    const double cg = angle_cosine(at<double>(cell, 8)), cb = angle_cosine(at<double>(cell, 24)),
                 ca = angle_cosine(at<double>(cell, 32));
    const double sg = std::sqrt(std::max(0.0, 1 - cg * cg));
    const double cx = c * cb, cy = c * (ca - cb * cg) / sg;
    frame.box = Box::triclinic({a, 0, 0}, {b * cg, b * sg, 0}, {cx, cy, std::sqrt(std::max(0.0, c * c - cx * cx - cy * cy))});
  }
  ++frames_read_;
  return true;
}

}  // namespace ept
