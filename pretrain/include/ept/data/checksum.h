#pragma once
// CRC-32 (zlib) of byte strings: detects damaged checkpoints and corpus shards.
#include <cstdint>
#include <string>

namespace ept {

uint32_t crc32_of(const std::string& bytes, size_t length);
inline uint32_t crc32_of(const std::string& bytes) { return crc32_of(bytes, bytes.size()); }
/// Eight lower-case hex digits.
std::string crc32_hex(uint32_t crc);

}  // namespace ept
