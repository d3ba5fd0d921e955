#include "ept/data/checksum.h"

#include <zlib.h>

#include <cstdio>

namespace ept {

uint32_t crc32_of(const std::string& bytes, size_t length) {
  return static_cast<uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const unsigned char*>(bytes.data()), length));
}

std::string crc32_hex(uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof(text), "%08x", crc);
  return text;
}

}  // namespace ept
