#include "ept/data/extxyz.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ept/data/elements.h"
#include "ept/data/number.h"
#include "ept/error.h"

namespace ept {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char by) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, by)) parts.push_back(part);
  return parts;
}

double number(const std::string& text, const std::string& where) {
  if (const auto v = parse_finite(text)) return *v;
  throw InputError(where + ": '" + text + "' is not a finite number");
}

struct Column {
  std::string name;
  char type;
  int width;
};

}  // namespace

std::map<std::string, std::string> parse_extxyz_info(const std::string& line) {
  std::map<std::string, std::string> info;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  };
  auto token = [&](bool is_value) {
    std::string out;
    if (i < line.size() && (line[i] == '"' || line[i] == '\'' || line[i] == '{')) {
      const char close = line[i] == '{' ? '}' : line[i];
      for (++i; i < line.size() && line[i] != close; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) ++i;
        out += line[i];
      }
      if (i >= line.size())
        throw InputError("a value opens with " + std::string(1, close == '}' ? '{' : close) + " and does not close: '" +
                         out + "'");
      ++i;  // the closing quote
      return out;
    }
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])) && (is_value || line[i] != '='))
      out += line[i++];
    return out;
  };
  for (skip_space(); i < line.size(); skip_space()) {
    const std::string key = token(false);
    skip_space();
    if (i < line.size() && line[i] == '=') {
      ++i;
      skip_space();
      info[key] = token(true);
    } else {
      info[key] = "T";
    }
  }
  return info;
}

std::vector<ExtxyzFrame> parse_extxyz(const std::string& text, const std::string& label) {
  std::vector<ExtxyzFrame> frames;
  std::istringstream in(text);
  std::string line;
  size_t line_number = 0;
  auto where = [&](size_t n) { return "extended XYZ '" + label + "' line " + std::to_string(n); };
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines between configurations
    ExtxyzFrame f;
    f.line = line_number;
    std::string count_text = line;
    count_text.erase(count_text.find_last_not_of(" \t\r") + 1);
    count_text.erase(0, count_text.find_first_not_of(" \t"));
    const double count = number(count_text, where(line_number) + " (the atom count of a configuration)");
    if (count < 1 || count > 1e9 || count != std::floor(count))
      throw InputError(where(line_number) + ": the atom count must be a whole number from 1 to 10⁹, got '" +
                       count_text + "'");
    const auto n = static_cast<size_t>(count);
    if (!std::getline(in, line))
      throw InputError(where(line_number) + ": the file ends before the comment line of this configuration");
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    try {
      f.info = parse_extxyz_info(line);
    } catch (const InputError& e) {
      throw InputError(where(line_number) + ": " + e.what());
    }
    std::string properties = "species:S:1:pos:R:3";
    for (const auto& [key, value] : f.info)
      if (lower(key) == "properties") properties = value;
    std::vector<Column> columns;
    const auto fields = split(properties, ':');
    if (fields.size() % 3 != 0)
      throw InputError(where(line_number) + ": Properties='" + properties + "' is not name:type:columns triples");
    for (size_t k = 0; k < fields.size(); k += 3) {
      const std::string type = fields[k + 1];
      if (type.size() != 1 || std::string("SRIL").find(type[0]) == std::string::npos)
        throw InputError(where(line_number) + ": Properties column '" + fields[k] + "' has type '" + type +
                         "' (S, R, I or L)");
      const double width = number(fields[k + 2], where(line_number) + " (Properties column '" + fields[k] + "')");
      if (width < 1 || width > 1000 || width != std::floor(width))
        throw InputError(where(line_number) + ": Properties column '" + fields[k] + "' has " + fields[k + 2] +
                         " columns (a whole number from 1 to 1000)");
      for (const auto& c : columns)
        if (c.name == fields[k])
          throw InputError(where(line_number) + ": Properties names the column '" + fields[k] + "' twice");
      columns.push_back({fields[k], type[0], static_cast<int>(width)});
    }
    bool has_species = false, has_positions = false, species_symbols = false;
    for (const auto& c : columns) {
      has_species |= (c.name == "species" && c.type == 'S' && c.width == 1) || (c.name == "Z" && c.type == 'I' && c.width == 1);
      species_symbols |= c.name == "species" && c.type == 'S' && c.width == 1;
      has_positions |= c.name == "pos" && c.type == 'R' && c.width == 3;
    }
    if (!has_species || !has_positions)
      throw InputError(where(line_number) + ": Properties='" + properties + "' needs species:S:1 (or Z:I:1) and pos:R:3");
    for (size_t a = 0; a < n; ++a) {
      if (!std::getline(in, line))
        throw InputError(where(line_number) + ": the file ends after " + std::to_string(a) + " of the " +
                         std::to_string(n) + " atoms of the configuration at line " + std::to_string(f.line));
      ++line_number;
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string s; words >> s;) w.push_back(s);
      size_t at = 0;
      for (const auto& c : columns) {
        if (at + c.width > w.size())
          throw InputError(where(line_number) + ": " + std::to_string(w.size()) + " fields, but Properties names " +
                           "more (column '" + c.name + "' needs fields " + std::to_string(at + 1) + "–" +
                           std::to_string(at + c.width) + ")");
        if (c.name == "species" && species_symbols) {
          const int z = elements::atomic_number(w[at]);
          if (z == 0)
            throw InputError(where(line_number) + ": species '" + w[at] + "' is not an element (atom " +
                             std::to_string(a + 1) + " of the " + std::to_string(n) +
                             " the configuration at line " + std::to_string(f.line) + " declares)");
          f.atomic_numbers.push_back(z);
        } else if (c.name == "Z" && c.type == 'I' && c.width == 1 && !species_symbols) {
          const double z = number(w[at], where(line_number));
          if (z < 1 || z > 118 || z != std::floor(z))
            throw InputError(where(line_number) + ": Z '" + w[at] + "' is not an atomic number (1..118)");
          f.atomic_numbers.push_back(static_cast<int>(z));
        } else if (c.name == "pos") {
          f.positions.push_back({number(w[at], where(line_number)), number(w[at + 1], where(line_number)),
                                 number(w[at + 2], where(line_number))});
        } else if (c.type == 'R' || c.type == 'I') {
          for (int k = 0; k < c.width; ++k) f.columns[c.name].push_back(number(w[at + k], where(line_number)));
          f.widths[c.name] = c.width;
        }
        at += c.width;
      }
      if (at != w.size())
        throw InputError(where(line_number) + ": " + std::to_string(w.size()) + " fields, but Properties names " +
                         std::to_string(at));
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

std::vector<ExtxyzFrame> read_extxyz(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError("'" + path + "' is a directory, not an extended-XYZ file");
  if (!std::filesystem::exists(path)) throw InputError("extended-XYZ file '" + path + "' does not exist");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto frames = parse_extxyz(text.str(), path);
  if (frames.empty()) throw InputError("extended-XYZ file '" + path + "' holds no configuration");
  return frames;
}

}  // namespace ept
