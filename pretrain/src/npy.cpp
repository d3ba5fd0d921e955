#include "ept/npy.h"

#include "ept/atomic_file.h"
#include "ept/error.h"

namespace ept {

std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<double>& data) {
  int64_t count = 1;
  std::string dims;
  for (int64_t d : shape) {
    count *= d;
    dims += std::to_string(d) + ", ";
  }
  if (count != static_cast<int64_t>(data.size())) throw Error("npy: the shape does not match the data");
  if (shape.size() > 1) dims.erase(dims.size() - 2);  // "(3,)" keeps its comma, "(2, 3)" does not
  else if (!shape.empty()) dims.pop_back();
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(double));
  return out;
}

void save_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<double>& data) {
  write_file_atomically(path, npy_bytes(shape, data));
}

}  // namespace ept
