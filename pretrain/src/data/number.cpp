#include "ept/data/number.h"

#include <cmath>
#include <stdexcept>

namespace ept {

std::optional<double> parse_finite(const std::string& text) {
  size_t used = 0;
  double value = NAN;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace ept
