#include "smiles_files.h"

#include <GraphMol/MolOps.h>
#include <GraphMol/ROMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <lzma.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "ept/error.h"

namespace ept::cli {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One CSV line's fields (RFC 4180 quoting: "a, b" and "" for a quote inside quotes).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::string read_maybe_xz(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError("'" + path + "' is a directory, not a SMILES file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("SMILES file '" + path + "' cannot be opened");
  std::ostringstream raw;
  raw << in.rdbuf();
  if (!ends_with(path, ".xz")) return raw.str();
  const std::string packed = raw.str();
  lzma_stream stream = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&stream, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
    throw Error("cannot start an xz decoder for '" + path + "'");
  std::string text;
  std::vector<uint8_t> buffer(1 << 16);
  stream.next_in = reinterpret_cast<const uint8_t*>(packed.data());
  stream.avail_in = packed.size();
  lzma_ret status = LZMA_OK;
  while (status == LZMA_OK) {
    stream.next_out = buffer.data();
    stream.avail_out = buffer.size();
    status = lzma_code(&stream, LZMA_FINISH);
    text.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - stream.avail_out);
  }
  lzma_end(&stream);
  if (status != LZMA_STREAM_END)
    throw InputError("'" + path + "' is not a complete xz file (decoder status " + std::to_string(status) +
                     "); decompress it to check it, or give the plain file");
  return text;
}

std::vector<std::string> read_smiles_file(const std::string& path, const std::string& column) {
  const std::string text = read_maybe_xz(path);
  const std::string name = ends_with(path, ".xz") ? path.substr(0, path.size() - 3) : path;
  std::istringstream lines(text);
  std::string line;
  std::vector<std::string> smiles;
  if (ends_with(lower(name), ".csv")) {
    if (!std::getline(lines, line)) throw InputError("CSV file '" + path + "' is empty: no header line");
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark (spreadsheet exports)
    const auto header = csv_fields(line);
    size_t at = header.size();
    for (size_t k = 0; k < header.size(); ++k)
      if (lower(trimmed(header[k])) == lower(column)) at = k;
    if (at == header.size()) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "'" : ", '") + trimmed(h) + "'";
      throw InputError("CSV file '" + path + "' has no column '" + column + "' (its columns: " + names +
                       "); name the SMILES column with --smiles-column");
    }
    while (std::getline(lines, line)) {
      const auto fields = csv_fields(line);
      if (at < fields.size() && !trimmed(fields[at]).empty()) smiles.push_back(trimmed(fields[at]));
    }
    return smiles;
  }
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string first;
    if (fields >> first && first[0] != '#') smiles.push_back(first);
  }
  return smiles;
}

std::optional<std::string> canonical_parent(const std::string& smiles) {
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!mol || mol->getNumAtoms() == 0) return std::nullopt;
  const auto fragments = RDKit::MolOps::getMolFrags(*mol, /*sanitizeFrags=*/false);
  const auto largest = std::max_element(fragments.begin(), fragments.end(), [](const auto& a, const auto& b) {
    return a->getNumHeavyAtoms() < b->getNumHeavyAtoms();  // the first of equal size wins
  });
  return RDKit::MolToSmiles(**largest);
}

}  // namespace ept::cli
