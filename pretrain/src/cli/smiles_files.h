#pragma once
// Files of SMILES for `ept prepare --smiles`: one SMILES a line (.txt, .smi: the first field) or a CSV table with a
// header (.csv: the column named by --smiles-column, any case), either plain or xz-compressed (.xz), and the key that
// says two SMILES are the same molecule.
#include <optional>
#include <string>
#include <vector>

namespace ept::cli {

/// The bytes of a file, decompressed when its name ends in .xz. InputError naming the file when it cannot be read.
std::string read_maybe_xz(const std::string& path);

/// The SMILES of a .txt/.smi or .csv file (plain or .xz), in file order; empty fields and '#' lines skipped.
/// For a CSV table, `column` names the column (any case); InputError naming the file and its columns when absent.
std::vector<std::string> read_smiles_file(const std::string& path, const std::string& column = "smiles");

/// The molecule a SMILES stands for, as the corpus keeps it: the largest fragment (by heavy atoms) of a salt or
/// mixture, as canonical SMILES — the key that deduplicates molecules across files. nullopt when RDKit cannot
/// parse and sanitise it.
std::optional<std::string> canonical_parent(const std::string& smiles);

}  // namespace ept::cli
