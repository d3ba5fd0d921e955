#pragma once
// NumPy .npy files: float64 arrays written atomically; float32/float64 arrays read.
#include <cstdint>
#include <string>
#include <vector>

namespace ept {

/// Bytes of a C-ordered little-endian float64 .npy file of the given shape.
std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<double>& data);
void save_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<double>& data);

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;  // C order
};
/// Reads a little-endian, C-ordered float32 or float64 .npy file (format versions 1–3). InputError naming the
/// file and the problem for anything else, a damaged header or a file shorter than its shape.
NpyArray load_npy(const std::string& path);

}  // namespace ept
