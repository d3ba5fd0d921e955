#pragma once
// Base64 (RFC 4648) for binary blobs inside text formats: OpenMM XML, JSON metadata.
#include <string>

namespace ept {

std::string base64_encode(const std::string& bytes);
/// Throws ept::Error on characters outside the alphabet or a bad length.
std::string base64_decode(const std::string& text);

}  // namespace ept
