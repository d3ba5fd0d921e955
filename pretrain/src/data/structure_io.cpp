#include "ept/data/structure_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "ept/data/elements.h"
#include "ept/data/number.h"
#include "ept/error.h"

namespace ept {
namespace {

constexpr double kBondTolerance = 0.45;  // Å beyond the sum of covalent radii
constexpr double kMinBondLength = 0.40;  // Å; closer atoms are overlapping copies, not bonded

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(' ');
  auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Columns [first, first + count) (1-based, as the PDB format numbers them), "" past the end of a short line.
std::string columns(const std::string& line, size_t first, size_t count) {
  return first - 1 < line.size() ? line.substr(first - 1, count) : "";
}

std::string where(const std::string& label, size_t line_number) {
  return "PDB file '" + label + "' line " + std::to_string(line_number);
}

double coordinate(const std::string& line, size_t first, const std::string& label, size_t line_number) {
  const std::string field = trimmed(columns(line, first, 8));
  if (const auto value = parse_finite(field)) return *value;
  throw InputError(where(label, line_number) + ": coordinate '" + field + "' (columns " + std::to_string(first) +
                     "–" + std::to_string(first + 7) + ") is not a finite number");
}

// The element of an ATOM/HETATM record: columns 77–78, else the atom name (columns 13–16), where PDB files write
// the element right-justified in columns 13–14 (" CA " is carbon, "CA  " calcium). Four-character hydrogen names
// such as "HG11" fill column 13, so two letters are read only in mixed case (" Cl "), or from columns 13–14 in
// HETATM records and where the atom is its own residue (an ion "NA" in residue "NA").
int element_of(const std::string& line, bool hetero, const std::string& label, size_t line_number) {
  std::string symbol = trimmed(columns(line, 77, 2));
  symbol.erase(std::remove_if(symbol.begin(), symbol.end(), [](unsigned char c) { return !std::isalpha(c); }),
               symbol.end());
  if (!symbol.empty()) {
    if (int z = elements::atomic_number(symbol)) return z;
    throw InputError(where(label, line_number) + ": element '" + symbol + "' (columns 77–78) is not an element");
  }
  const std::string name = columns(line, 13, 4) + "    ";
  const std::string letters = name.substr(std::min(name.find_first_not_of(" 0123456789"), name.size())) + "  ";
  auto alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  const bool mixed_case = alpha(letters[0]) && std::islower(static_cast<unsigned char>(letters[1]));
  const bool flush_left = alpha(name[0]) && alpha(name[1]) &&
                          (hetero || trimmed(name) == trimmed(columns(line, 18, 3)));  // ions: "NA" in residue "NA"
  if (mixed_case || flush_left)
    if (int z = elements::atomic_number(letters.substr(0, 2))) return z;
  for (char c : name)
    if (std::isalpha(static_cast<unsigned char>(c)))
      if (int z = elements::atomic_number(std::string(1, c))) return z;
  throw InputError(where(label, line_number) + ": no element in columns 77–78 and none readable from the atom name '" +
                   trimmed(name) + "'; write the element symbol in columns 77–78");
}

// A PDB integer field: decimal, or hexadecimal where a number outgrew its columns (OpenMM's files past 99 999
// atoms or 9 999 residues).
std::optional<int64_t> pdb_integer(const std::string& field) {
  for (int base : {10, 16}) {
    try {
      size_t used = 0;
      const int64_t value = std::stoll(field, &used, base);
      if (used == field.size()) return value;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

// Pairs closer than their covalent radii allow, found on a grid of cells as wide as the longest possible bond.
void add_proximity_bonds(const std::vector<int>& z, const std::vector<std::array<double, 3>>& x,
                         std::set<std::pair<int64_t, int64_t>>& bonds) {
  const size_t n = x.size();
  std::vector<double> radius(n);
  double largest = 0;
  for (size_t i = 0; i < n; ++i) largest = std::max(largest, radius[i] = elements::covalent_radius(z[i]));
  const double cell = 2 * largest + kBondTolerance;
  using Key = std::tuple<int64_t, int64_t, int64_t>;
  auto key = [&](const std::array<double, 3>& p) {
    return Key{static_cast<int64_t>(std::floor(p[0] / cell)), static_cast<int64_t>(std::floor(p[1] / cell)),
               static_cast<int64_t>(std::floor(p[2] / cell))};
  };
  std::map<Key, std::vector<size_t>> cells;
  for (size_t i = 0; i < n; ++i) cells[key(x[i])].push_back(i);
  for (size_t i = 0; i < n; ++i) {
    const auto [cx, cy, cz] = key(x[i]);
    for (int64_t dx = -1; dx <= 1; ++dx)
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dz = -1; dz <= 1; ++dz) {
          auto found = cells.find(Key{cx + dx, cy + dy, cz + dz});
          if (found == cells.end()) continue;
          for (size_t j : found->second) {
            if (j <= i || (z[i] == 1 && z[j] == 1)) continue;
            double d2 = 0;
            for (int k = 0; k < 3; ++k) d2 += (x[i][k] - x[j][k]) * (x[i][k] - x[j][k]);
            const double longest = radius[i] + radius[j] + kBondTolerance;
            if (d2 > kMinBondLength * kMinBondLength && d2 <= longest * longest)
              bonds.insert({static_cast<int64_t>(i), static_cast<int64_t>(j)});
          }
        }
  }
}

}  // namespace

bool is_water_residue(const std::string& residue) {
  static const std::set<std::string> names = {"HOH", "WAT", "H2O", "SOL", "TIP", "TIP3", "TP3", "T3P", "TIP4", "DOD"};
  return names.count(residue) > 0;
}

Structure parse_pdb(const std::string& text, const std::string& label) {
  Structure s;
  AtomTable& t = s.table;
  std::map<int64_t, int64_t> index_of_serial;
  std::vector<std::pair<int64_t, int64_t>> conect;
  std::set<std::string> seen_alternates;  // atoms (chain, residue, name) of which one location was kept
  bool first_model_done = false;
  std::istringstream lines(text);
  std::string line;
  size_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string record = columns(line, 1, 6);
    if (trimmed(record) == "END") break;
    if (record == "ENDMDL") first_model_done = true;  // atoms of later models skipped, CONECT after them kept
    const bool hetero = record == "HETATM";
    if ((record == "ATOM  " || record == "ATOM" || hetero) && !first_model_done) {
      const char altloc = line.size() > 16 ? line[16] : ' ';
      // The first location of each atom (per atom, not per file: an atom may have only B and C).
      if (altloc != ' ' && !seen_alternates.insert(columns(line, 13, 4) + columns(line, 18, 10)).second) continue;
      const int z = element_of(line, hetero, label, line_number);
      s.positions.push_back({coordinate(line, 31, label, line_number), coordinate(line, 39, label, line_number),
                             coordinate(line, 47, label, line_number)});
      t.atomic_numbers.push_back(z);
      t.atom_names.push_back(trimmed(columns(line, 13, 4)));
      t.residue_names.push_back(trimmed(columns(line, 18, 4)));  // CHARMM writes 4-letter names (TIP3)
      const std::string chain = columns(line, 22, 1);
      t.chain_ids.push_back(chain.empty() ? " " : chain);
      const std::string residue = trimmed(columns(line, 23, 4));
      const auto id = residue.empty() ? std::optional<int64_t>(0) : pdb_integer(residue);
      if (!id) throw InputError(where(label, line_number) + ": residue number '" + residue + "' is not an integer");
      t.residue_ids.push_back(*id);
      // Serials past 99 999 are hexadecimal in OpenMM's files and stars in others: the latter take no CONECT.
      if (const auto serial = pdb_integer(trimmed(columns(line, 7, 5))))
        index_of_serial[*serial] = static_cast<int64_t>(t.atomic_numbers.size()) - 1;
    } else if (record == "CONECT") {
      auto serial = [&](size_t first) -> int64_t {
        const std::string field = trimmed(columns(line, first, 5));
        return field.empty() ? -1 : pdb_integer(field).value_or(-1);
      };
      const int64_t from = serial(7);
      for (size_t first = 12; first <= 27; first += 5)
        if (int64_t to = serial(first); from >= 0 && to >= 0) conect.emplace_back(from, to);
    }
  }
  if (t.atomic_numbers.empty()) throw InputError("PDB file '" + label + "' holds no atoms (no ATOM or HETATM records)");
  std::set<std::pair<int64_t, int64_t>> bonds, near;
  for (auto [from, to] : conect) {
    auto a = index_of_serial.find(from), b = index_of_serial.find(to);
    if (a == index_of_serial.end() || b == index_of_serial.end() || a->second == b->second) continue;
    bonds.insert(std::minmax(a->second, b->second));
  }
  // Proximity bonds across residues only between elements that bond covalently there (a peptide bond, a
  // disulfide, a linked sugar), never to water or to an ion: Na⁺ 2.4 Å from a water oxygen is not bonded to it.
  add_proximity_bonds(t.atomic_numbers, s.positions, near);
  std::vector<int64_t> residue(t.size(), 0);
  for (size_t i = 1; i < t.size(); ++i)
    residue[i] = residue[i - 1] + (t.residue_ids[i] != t.residue_ids[i - 1] || t.chain_ids[i] != t.chain_ids[i - 1] ||
                                   t.residue_names[i] != t.residue_names[i - 1]);
  auto links_residues = [&](int64_t i) {
    static const std::set<int> covalent = {1, 5, 6, 7, 8, 14, 15, 16, 33, 34};  // H B C N O Si P S As Se
    return covalent.count(t.atomic_numbers[i]) && !is_water_residue(t.residue_names[i]);
  };
  for (auto [a, b] : near)
    if (residue[a] == residue[b] || (links_residues(a) && links_residues(b))) bonds.insert({a, b});
  for (auto [a, b] : bonds) t.bonds.push_back({a, b});
  return s;
}

std::vector<std::array<int64_t, 2>> proximity_bonds(const std::vector<int>& atomic_numbers,
                                                    const std::vector<std::array<double, 3>>& positions) {
  std::set<std::pair<int64_t, int64_t>> bonds;
  add_proximity_bonds(atomic_numbers, positions, bonds);
  std::vector<std::array<int64_t, 2>> out;
  for (auto [a, b] : bonds) out.push_back({a, b});
  return out;
}

Structure read_pdb(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError("'" + path + "' is a directory, not a PDB file");
  if (!std::filesystem::exists(path)) throw InputError("file '" + path + "' does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("PDB file '" + path + "' could not be opened");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_pdb(text.str(), path);
}

}  // namespace ept
