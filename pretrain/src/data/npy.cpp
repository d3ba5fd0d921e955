#include "ept/data/npy.h"

#include <cstring>
#include <regex>

#include "ept/data/atomic_file.h"
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

NpyArray load_npy(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const std::exception& e) {
    throw InputError(std::string(".npy: ") + e.what());
  }
  auto bad = [&](const std::string& what) { return InputError("'" + path + "' is not a readable .npy file: " + what); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw bad("no NumPy magic");
  const int major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3) throw bad("format version " + std::to_string(major));
  const size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) throw bad("cut short");
  size_t header_length = 0;
  for (size_t k = 0; k < length_bytes; ++k) header_length |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + k])) << (8 * k);
  const size_t start = 8 + length_bytes;
  if (header_length > bytes.size() - start) throw bad("the header runs past the end of the file");
  const std::string header = bytes.substr(start, header_length);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<=]?)(f[48])'")))
    throw bad("the data type is not little-endian float32 or float64 (save with dtype float32 or float64)");
  const size_t item = m[2] == "f8" ? 8 : 4;
  if (!std::regex_search(header, std::regex("'fortran_order':\\s*False")))
    throw bad("Fortran order (save a C-ordered array: numpy.ascontiguousarray)");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([0-9,\\s]*)\\)"))) throw bad("no shape");
  NpyArray out;
  size_t count = 1;
  const std::string dims = m[1];
  const std::regex number("[0-9]+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    if (it->str().size() > 12) throw bad("a dimension too large");
    const int64_t d = std::stoll(it->str());
    out.shape.push_back(d);
    if (d != 0 && count > (bytes.size() - start - header_length) / static_cast<size_t>(d)) throw bad("shorter than its shape");
    count *= static_cast<size_t>(d);
  }
  const size_t data_start = start + header_length;
  if (count * item > bytes.size() - data_start) throw bad("shorter than its shape");
  out.data.resize(count);
  for (size_t k = 0; k < count; ++k) {
    if (item == 8) {
      std::memcpy(&out.data[k], bytes.data() + data_start + 8 * k, 8);
    } else {
      float v;
      std::memcpy(&v, bytes.data() + data_start + 4 * k, 4);
      out.data[k] = v;
    }
  }
  return out;
}

}  // namespace ept
