#pragma once
// NumPy .npy files of float64 arrays, written atomically.
#include <cstdint>
#include <string>
#include <vector>

namespace ept {

/// Bytes of a C-ordered little-endian float64 .npy file of the given shape.
std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<double>& data);
void save_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<double>& data);

}  // namespace ept
