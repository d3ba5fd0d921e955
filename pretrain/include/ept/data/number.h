#pragma once
// Numbers in text files and options: a field is a number only when all of it spells one, and a finite one.
#include <optional>
#include <string>

namespace ept {

/// The finite number that the whole of `text` spells ("1.5", "-2e3"); nullopt for "", "1.5x", "nan", "inf".
std::optional<double> parse_finite(const std::string& text);

}  // namespace ept
