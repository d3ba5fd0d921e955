#include "ept/error.h"

namespace ept {

const char* to_string(CheckpointError::Kind kind) {
  switch (kind) {
    case CheckpointError::Kind::Missing: return "missing";
    case CheckpointError::Kind::Foreign: return "not an EPT checkpoint";
    case CheckpointError::Kind::WrongVersion: return "unsupported version";
    case CheckpointError::Kind::Truncated: return "truncated";
    case CheckpointError::Kind::Corrupt: return "corrupt";
    case CheckpointError::Kind::Incompatible: return "incompatible";
    case CheckpointError::Kind::NonFinite: return "non-finite weights";
    case CheckpointError::Kind::Io: return "I/O error";
  }
  return "unknown";
}

CheckpointError::CheckpointError(Kind kind, const std::string& path, const std::string& detail)
    : Error("checkpoint '" + path + "': " + to_string(kind) + ": " + detail), kind_(kind), path_(path) {}

}  // namespace ept
