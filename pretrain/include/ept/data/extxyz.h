#pragma once
// Extended XYZ, ASE's format (and MACE's and NequIP's training format): per configuration a line with the atom
// count, a comment line of key=value pairs (values bare, "quoted" or {braced}; a key alone means True) with
// `Properties=name:type:columns:...` naming the per-atom columns (type S string, R real, I integer, L logical),
// then one line per atom. Positions (`pos`) are in Å.
#include <map>
#include <string>
#include <vector>

#include "ept/model/neighbors.h"

namespace ept {

struct ExtxyzFrame {
  std::vector<int> atomic_numbers;
  std::vector<Vec3> positions;                             // Å
  std::map<std::string, std::string> info;                 // the comment line's pairs, values unquoted
  std::map<std::string, std::vector<double>> columns;      // per-atom R and I columns (not pos), row-major
  std::map<std::string, int> widths;                       // columns per atom of each of them
  size_t line = 0;                                         // line number of the atom-count line in its file
};

/// Every configuration of an extended-XYZ file. InputError naming the file, the line and what is wrong.
std::vector<ExtxyzFrame> read_extxyz(const std::string& path);
/// The same from text; `label` names it in errors.
std::vector<ExtxyzFrame> parse_extxyz(const std::string& text, const std::string& label);
/// The key=value pairs of a comment line, values unquoted ('Lattice="1 0 0 ..."', 'pbc="F F F"', 'free').
std::map<std::string, std::string> parse_extxyz_info(const std::string& line);

}  // namespace ept
