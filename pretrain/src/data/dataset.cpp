#include "ept/data/dataset.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ept/data/atomic_file.h"
#include "ept/data/checksum.h"
#include "ept/error.h"

namespace ept {
namespace {

using nlohmann::json;

json to_json(const MoleculeRecord& r) {
  std::vector<double> xyz;
  for (const auto& conf : r.conformers)
    for (const auto& p : conf) xyz.insert(xyz.end(), p.begin(), p.end());
  std::vector<int64_t> bonds;
  for (auto [a, b] : r.table.bonds) bonds.insert(bonds.end(), {a, b});
  json j = {{"domain", r.domain}, {"source", r.source}, {"z", r.table.atomic_numbers},
            {"names", r.table.atom_names}, {"residues", r.table.residue_names}, {"residue_ids", r.table.residue_ids},
            {"chains", r.table.chain_ids}, {"bonds", bonds}, {"conformers", r.conformers.size()}, {"xyz", xyz}};
  if (!r.group.empty()) j["group"] = r.group;
  if (r.labelled()) {
    std::vector<double> forces;
    for (const auto& conf : r.forces)
      for (const auto& f : conf) forces.insert(forces.end(), f.begin(), f.end());
    j["energy"] = r.energies;
    j["forces"] = forces;
  }
  return j;
}

MoleculeRecord from_json(const json& j) {
  MoleculeRecord r;
  r.domain = j.at("domain").get<std::string>();
  r.source = j.at("source").get<std::string>();
  r.group = j.value("group", "");
  r.table.atomic_numbers = j.at("z").get<std::vector<int>>();
  r.table.atom_names = j.at("names").get<std::vector<std::string>>();
  r.table.residue_names = j.at("residues").get<std::vector<std::string>>();
  r.table.residue_ids = j.at("residue_ids").get<std::vector<int64_t>>();
  r.table.chain_ids = j.at("chains").get<std::vector<std::string>>();
  const auto bonds = j.at("bonds").get<std::vector<int64_t>>();
  for (size_t k = 0; k + 1 < bonds.size(); k += 2) r.table.bonds.push_back({bonds[k], bonds[k + 1]});
  const auto xyz = j.at("xyz").get<std::vector<double>>();
  const size_t n = r.table.size(), count = j.at("conformers").get<size_t>();
  if (xyz.size() != 3 * n * count) throw InputError("coordinates do not match the atom and conformer counts");
  r.conformers.resize(count, std::vector<Vec3>(n));
  for (size_t c = 0; c < count; ++c)
    for (size_t i = 0; i < n; ++i)
      for (int d = 0; d < 3; ++d) r.conformers[c][i][d] = xyz[3 * (c * n + i) + d];
  if (j.contains("energy")) {
    r.energies = j.at("energy").get<std::vector<double>>();
    const auto forces = j.at("forces").get<std::vector<double>>();
    if (r.energies.size() != count || forces.size() != 3 * n * count)
      throw InputError("labels do not match the atom and conformer counts of '" + r.source + "'");
    r.forces.resize(count, std::vector<Vec3>(n));
    for (size_t c = 0; c < count; ++c)
      for (size_t i = 0; i < n; ++i)
        for (int d = 0; d < 3; ++d) r.forces[c][i][d] = forces[3 * (c * n + i) + d];
  }
  return r;
}

}  // namespace

ShardInfo write_shard(const std::string& directory, const std::string& file, const std::vector<MoleculeRecord>& records) {
  json list = json::array();
  ShardInfo info;
  info.file = file;
  for (const auto& r : records) {
    list.push_back(to_json(r));
    ++info.records;
    info.conformers += static_cast<int64_t>(r.conformers.size());
  }
  const auto cbor = json::to_cbor(list);
  const std::string bytes(cbor.begin(), cbor.end());
  info.crc32 = crc32_hex(crc32_of(bytes));
  write_file_atomically((std::filesystem::path(directory) / file).string(), bytes);
  return info;
}

std::vector<MoleculeRecord> read_shard(const std::string& path, const std::string& expected_crc) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const std::exception& e) {
    throw InputError(std::string("corpus shard: ") + e.what());
  }
  if (!expected_crc.empty() && crc32_hex(crc32_of(bytes)) != expected_crc)
    throw InputError("corpus shard '" + path + "' is damaged (CRC-32 " + crc32_hex(crc32_of(bytes)) + ", manifest says " +
                     expected_crc + "); run `ept prepare` again");
  std::vector<MoleculeRecord> records;
  try {
    for (const auto& j : json::from_cbor(bytes)) records.push_back(from_json(j));
  } catch (const std::exception& e) {
    throw InputError("corpus shard '" + path + "' cannot be read: " + e.what());
  }
  return records;
}

void write_manifest(const std::string& directory, const Manifest& m) {
  json shards = json::array();
  for (const auto& s : m.shards)
    shards.push_back({{"file", s.file}, {"records", s.records}, {"conformers", s.conformers}, {"crc32", s.crc32}});
  json j = {{"format", "ept-corpus"}, {"version", m.version}, {"shards", shards},
            {"records_per_domain", m.records_per_domain}, {"conformers_per_domain", m.conformers_per_domain},
            {"failures", m.failures}};
  if (!m.labels.empty()) j["labels"] = json::parse(m.labels);
  if (!m.split.empty()) j["split"] = m.split;
  write_file_atomically((std::filesystem::path(directory) / "manifest.json").string(), j.dump(1));
}

Manifest read_manifest(const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / "manifest.json").string();
  if (!std::filesystem::exists(path))
    throw InputError("'" + directory + "' is not a corpus (no manifest.json); make one with `ept prepare`");
  Manifest m;
  try {
    const json j = json::parse(read_file(path));
    if (j.at("format") != "ept-corpus") throw InputError("not an ept corpus manifest");
    m.version = j.at("version").get<int>();
    if (m.version != 1) throw InputError("unsupported corpus version " + std::to_string(m.version));
    for (const auto& s : j.at("shards"))
      m.shards.push_back({s.at("file").get<std::string>(), s.at("records").get<int64_t>(),
                          s.at("conformers").get<int64_t>(), s.at("crc32").get<std::string>()});
    m.records_per_domain = j.at("records_per_domain").get<std::map<std::string, int64_t>>();
    m.conformers_per_domain = j.at("conformers_per_domain").get<std::map<std::string, int64_t>>();
    m.failures = j.at("failures").get<std::map<std::string, int64_t>>();
    m.split = j.value("split", "");
    if (j.contains("labels")) {
      if (!j["labels"].is_object() || !j["labels"].contains("energy"))
        throw InputError("\"labels\" must be an object naming what the energies are (\"energy\")");
      m.labels = j["labels"].dump();
    }
  } catch (const InputError& e) {
    throw InputError("corpus manifest '" + path + "': " + e.what());
  } catch (const std::exception& e) {
    throw InputError("corpus manifest '" + path + "' cannot be read: " + e.what());
  }
  return m;
}

Corpus Corpus::load(const std::string& directory) { return load(std::vector<std::string>{directory}); }

Corpus Corpus::load(const std::vector<std::string>& directories) {
  Corpus corpus;
  std::string identity;
  for (size_t d = 0; d < directories.size(); ++d) {
    const std::string& directory = directories[d];
    const Manifest m = read_manifest(directory);
    const std::string meaning = m.labels.empty() ? "" : json::parse(m.labels).at("energy").get<std::string>();
    if (d > 0) {
      const std::string before = corpus.labels.empty() ? "" : json::parse(corpus.labels).at("energy").get<std::string>();
      if (meaning != before)
        throw InputError("'" + directory + "' holds " + (meaning.empty() ? "no labels" : "labels '" + meaning + "'") +
                         " but '" + directories[0] + "' " + (before.empty() ? "no labels" : "labels '" + before + "'") +
                         ": data sets trained together must label the same quantity");
      const auto e0 = [](const std::string& labels) {
        return labels.empty() ? json() : json::parse(labels).value("e0", json::object());
      };
      if (e0(m.labels) != e0(corpus.labels))
        throw InputError("'" + directory + "' and '" + directories[0] + "' give different isolated-atom energies (E0s): "
                         "data sets trained together must share one reference (import them with the same "
                         "--isolated-atoms)");
    } else {
      corpus.labels = m.labels;
    }
    for (const auto& s : m.shards) identity += s.file + ":" + s.crc32 + ";";
    for (const auto& s : m.shards) {
      auto records = read_shard((std::filesystem::path(directory) / s.file).string(), s.crc32);
      for (auto& r : records) {
        if (!m.labels.empty() && !r.labelled())
          throw InputError("'" + directory + "' is a labelled data set, but its record '" + r.source + "' has no labels");
        corpus.records.push_back(std::move(r));
      }
    }
  }
  return from_records(std::move(corpus.records), crc32_hex(crc32_of(identity)), corpus.labels);
}

Corpus Corpus::from_records(std::vector<MoleculeRecord> records, std::string fingerprint, std::string labels) {
  Corpus corpus;
  corpus.records = std::move(records);
  corpus.fingerprint = std::move(fingerprint);
  corpus.labels = std::move(labels);
  corpus.complexes.reserve(corpus.records.size());
  for (const auto& r : corpus.records) corpus.complexes.push_back(build_complex(r.table));
  for (size_t k = 0; k < corpus.records.size(); ++k)
    for (size_t c = 0; c < corpus.records[k].conformers.size(); ++c)
      corpus.entries.push_back({&corpus.records[k], &corpus.complexes[k], c});
  return corpus;
}

}  // namespace ept
