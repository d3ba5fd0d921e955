// `ept import`: a labelled data set (the format `ept label` writes) from extended-XYZ files of the user's own
// quantum-chemistry data: total energies and forces, isolated-atom energies (E0s), bonds perceived from geometry.
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "commands.h"
#include "ept/data/atomic_file.h"
#include "ept/data/dataset.h"
#include "ept/data/elements.h"
#include "ept/data/extxyz.h"
#include "ept/data/number.h"
#include "ept/data/structure_io.h"
#include "ept/error.h"
#include "options.h"

namespace ept::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// kJ/mol per unit (CODATA 2018).
constexpr double kJPerEV = 96.48533212331002, kJPerHartree = 2625.4996394798254, kJPerKcal = 4.184;
constexpr double kBohr = 0.529177210903;  // Å

double energy_unit(const std::string& name) {
  if (name == "eV") return kJPerEV;
  if (name == "kJ/mol") return 1;
  if (name == "kcal/mol") return kJPerKcal;
  if (name == "Hartree") return kJPerHartree;
  throw InputError("--energy-unit must be eV, kJ/mol, kcal/mol or Hartree, got '" + name + "'");
}

double force_unit(const std::string& name) {
  if (name == "Hartree/Bohr") return kJPerHartree / kBohr;
  const auto slash = name.rfind("/Å") != std::string::npos ? name.rfind("/Å") : name.rfind("/A");
  if (slash == std::string::npos || (name.substr(slash) != "/Å" && name.substr(slash) != "/A"))
    throw InputError("--force-unit must be an energy unit per Å (eV/Å, kJ/mol/Å, kcal/mol/Å, Hartree/Å) or "
                     "Hartree/Bohr, got '" + name + "'");
  return energy_unit(name.substr(0, slash));
}

// The value of `key` in a configuration's info ("energy", "REF_energy": the key exactly as given), or null.
const std::string* find_key(const ExtxyzFrame& f, const std::string& key) {
  auto it = f.info.find(key);
  return it == f.info.end() ? nullptr : &it->second;
}

double info_number(const ExtxyzFrame& f, const std::string& key, const std::string& where) {
  const std::string& text = *find_key(f, key);
  if (const auto v = parse_finite(text)) return *v;
  throw InputError(where + ": " + key + "='" + text + "' is not a finite number");
}

// Why the bonds of a configuration cannot be perceived from its geometry, or "" when they can: every hydrogen
// has exactly one bonded neighbour and every atom at least one (a molecule, not scattered atoms).
std::string unperceived(const std::vector<int>& z, const std::vector<std::array<int64_t, 2>>& bonds) {
  std::vector<int> degree(z.size(), 0);
  for (auto [a, b] : bonds) ++degree[a], ++degree[b];
  for (size_t i = 0; i < z.size(); ++i) {
    if (z[i] == 1 && degree[i] != 1) return "bonds not perceived: a hydrogen with 0 or ≥ 2 bonded neighbours";
    if (degree[i] == 0) return "bonds not perceived: an atom with no bonded neighbour";
  }
  return "";
}

}  // namespace

int import_data(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::string out, isolated, energy_key = "energy", forces_key = "forces", charge_key = "charge";
  std::string energy_name = "eV", force_name, level;
  int charge = 0;
  bool overwrite = false;
  po::options_description o("options");
  o.add_options()
      ("extxyz", po::value(&files)->required(), "extended-XYZ file (ASE's format); repeat for several")
      ("out,o", po::value(&out)->required(), "data set folder: manifest.json, shard-00000.cbor, configurations.jsonl")
      ("isolated-atoms", po::value(&isolated), "extended XYZ of single atoms: their energies are the E0s (without it, "
       "single-atom configurations of the --extxyz files serve, else E0s are fitted by least squares)")
      ("energy-key", po::value(&energy_key)->default_value(energy_key), "comment-line key of the total energy")
      ("forces-key", po::value(&forces_key)->default_value(forces_key), "per-atom column of the forces (3 columns)")
      ("energy-unit", po::value(&energy_name)->default_value(energy_name), "eV, kJ/mol, kcal/mol or Hartree")
      ("force-unit", po::value(&force_name), "default: the energy unit per Å; or Hartree/Bohr")
      ("charge", po::value(&charge)->default_value(charge), "total charge (e) where a configuration has no charge key")
      ("charge-key", po::value(&charge_key)->default_value(charge_key), "comment-line key of the total charge")
      ("level-of-theory", po::value(&level), "what computed the labels (e.g. 'PBE/def2-SVP'), for the data set's card")
      ("overwrite", po::bool_switch(&overwrite), "replace a data set already in OUT");
  po::variables_map vm;
  if (!parse_options("ept import --extxyz FILE [--extxyz FILE ...] --out DATA [options]\n\n"
                     "A labelled data set for `ept finetune --objective energy` from extended-XYZ files (ASE's\n"
                     "format, which MACE and NequIP train from): total energies from the comment line's `energy=`\n"
                     "and forces from the `forces` columns, by default in eV and eV/Å, stored in kJ/mol and\n"
                     "kJ/mol/Å. Bonds (for EPT's blocks) are perceived from each geometry (covalent radii + 0.45 Å);\n"
                     "configurations of one molecule with the same bonds, config_type and charge make one record.\n"
                     "Configurations without an energy or forces, or whose bonds cannot be perceived, are counted\n"
                     "by reason in the manifest, not silently dropped. Every imported configuration's own keys\n"
                     "(config_type, ...) are kept in OUT/configurations.jsonl.",
                     o, args, vm))
    return 0;
  const double to_kj = energy_unit(energy_name);
  if (force_name.empty()) force_name = energy_name + "/Å";
  const double force_to_kj = force_unit(force_name);
  if (fs::exists(out) && !fs::is_directory(out))
    throw InputError("--out '" + out + "' is a file; give the folder the data set goes into");
  if (fs::exists(fs::path(out) / "manifest.json") && !overwrite)
    throw InputError("import: '" + out + "' already holds a data set; replace it with --overwrite or choose another --out");

  // E0s: from the isolated-atom file, or single-atom configurations of the data, in kJ/mol.
  std::map<int, double> e0;
  std::string e0_source;
  auto add_e0 = [&](const ExtxyzFrame& f, const std::string& where) {
    if (!find_key(f, energy_key))
      throw InputError(where + ": the isolated atom has no '" + energy_key + "' (see --energy-key)");
    const double e = info_number(f, energy_key, where) * to_kj;
    const int z = f.atomic_numbers[0];
    if (e0.count(z) && std::abs(e0[z] - e) > 1e-6 * std::max(1.0, std::abs(e)))
      throw InputError(where + ": a second isolated-atom energy for " + elements::symbol(z) + " that differs from the first");
    e0[z] = e;
  };
  if (!isolated.empty()) {
    for (const auto& f : read_extxyz(isolated)) {
      const std::string where = "'" + isolated + "' line " + std::to_string(f.line);
      if (f.atomic_numbers.size() != 1)
        throw InputError(where + ": --isolated-atoms holds single atoms only, this configuration has " +
                         std::to_string(f.atomic_numbers.size()));
      add_e0(f, where);
    }
    e0_source = "isolated atoms: " + fs::path(isolated).filename().string();
  }

  using Key = std::tuple<size_t, std::vector<int>, std::vector<std::array<int64_t, 2>>, std::string, int>;
  std::map<Key, size_t> record_of;
  std::vector<MoleculeRecord> records;
  std::vector<ordered_json> configurations;
  Manifest manifest;
  int64_t imported = 0;
  for (size_t file = 0; file < files.size(); ++file) {
    const auto frames = read_extxyz(files[file]);
    const std::string name = fs::path(files[file]).filename().string();
    bool any_energy = false;
    for (size_t k = 0; k < frames.size(); ++k) {
      const ExtxyzFrame& f = frames[k];
      const std::string where = "'" + files[file] + "' line " + std::to_string(f.line);
      any_energy |= find_key(f, energy_key) != nullptr;
      if (f.atomic_numbers.size() == 1) {
        if (isolated.empty()) {
          add_e0(f, where);
          e0_source = "single-atom configurations of the data";
        }
        ++manifest.failures["single atom: an isolated-atom energy (E0), not a training configuration"];
        continue;
      }
      if (!find_key(f, energy_key)) {
        ++manifest.failures["no energy (key '" + energy_key + "')"];
        continue;
      }
      auto forces = f.columns.find(forces_key);
      if (forces == f.columns.end()) {
        ++manifest.failures["no forces (column '" + forces_key + "')"];
        continue;
      }
      if (f.widths.at(forces_key) != 3)
        throw InputError(where + ": the forces column '" + forces_key + "' has " +
                         std::to_string(f.widths.at(forces_key)) + " values per atom, not 3");
      if (const std::string* pbc = find_key(f, "pbc"); pbc && pbc->find_first_of("Tt") != std::string::npos) {
        ++manifest.failures["periodic configuration (pbc): not supported, EPT's import takes molecules"];
        continue;
      }
      const auto bonds = proximity_bonds(f.atomic_numbers, f.positions);
      if (const std::string why = unperceived(f.atomic_numbers, bonds); !why.empty()) {
        ++manifest.failures[why];
        continue;
      }
      const double energy = info_number(f, energy_key, where) * to_kj;
      const int q = find_key(f, charge_key) ? static_cast<int>(std::lround(info_number(f, charge_key, where))) : charge;
      const std::string config_type = find_key(f, "config_type") ? *find_key(f, "config_type") : "";
      const Key key{file, f.atomic_numbers, bonds, config_type, q};
      auto [it, fresh] = record_of.emplace(key, records.size());
      if (fresh) {
        MoleculeRecord r;
        r.domain = "dft";
        r.source = name + (config_type.empty() ? "" : " config_type=" + config_type) +
                   (q != 0 ? " charge=" + std::to_string(q) : "");
        r.table.atomic_numbers = f.atomic_numbers;
        r.table.bonds = bonds;
        records.push_back(std::move(r));
      }
      MoleculeRecord& r = records[it->second];
      std::vector<Vec3> fk(f.atomic_numbers.size());
      for (size_t i = 0; i < fk.size(); ++i)
        for (int d = 0; d < 3; ++d) fk[i][d] = forces->second[3 * i + d] * force_to_kj;
      ordered_json info(f.info);
      configurations.push_back({{"file", name}, {"index", k}, {"record", it->second},
                                {"conformer", r.conformers.size()}, {"info", info}});
      r.conformers.push_back(f.positions);
      r.energies.push_back(energy);
      r.forces.push_back(std::move(fk));
      ++imported;
    }
    if (!any_energy) {
      std::set<std::string> keys;
      for (const auto& f : frames)
        for (const auto& [key, value] : f.info) keys.insert(key);
      std::string list;
      for (const auto& key : keys) list += (list.empty() ? "" : ", ") + key;
      throw InputError("no configuration of '" + files[file] + "' has the energy key '" + energy_key +
                       "' (its keys: " + list + "); give the right one with --energy-key");
    }
  }
  if (imported == 0) {
    std::string why;
    for (const auto& [reason, count] : manifest.failures) why += "; " + std::to_string(count) + " × " + reason;
    throw InputError("import: no configuration could be imported" + why);
  }
  // Every element of the data needs an E0 when some are given; without any, the trainer fits them.
  std::set<int> present;
  for (const auto& r : records) present.insert(r.table.atomic_numbers.begin(), r.table.atomic_numbers.end());
  if (!e0.empty())
    for (int z : present)
      if (!e0.count(z))
        throw InputError("the isolated-atom energies (" + e0_source + ") have none for " + elements::symbol(z) +
                         ", which the data hold; add it, or leave the E0s to a least-squares fit (no --isolated-atoms)");

  fs::create_directories(out);
  for (const char* stale : {"shard-00000.cbor", "configurations.jsonl"}) fs::remove(fs::path(out) / stale);
  manifest.shards.push_back(write_shard(out, "shard-00000.cbor", records));
  for (const auto& r : records) {
    ++manifest.records_per_domain[r.domain];
    manifest.conformers_per_domain[r.domain] += static_cast<int64_t>(r.conformers.size());
  }
  ordered_json e0_json = ordered_json::object();
  for (auto [z, e] : e0) e0_json[elements::symbol(z)] = e;
  ordered_json sources = ordered_json::array();
  for (const auto& path : files) sources.push_back(fs::path(path).filename().string());
  manifest.labels = ordered_json{{"energy", "total"}, {"method", level.empty() ? "not given" : level},
                                 {"files", sources}, {"keys", {{"energy", energy_key}, {"forces", forces_key}}},
                                 {"source_units", {{"energy", energy_name}, {"forces", force_name}}},
                                 {"e0", e0_json},
                                 {"e0_source", e0.empty() ? "fitted by least squares when training" : e0_source},
                                 {"units", {{"positions", "Å"}, {"energy", "kJ/mol"}, {"forces", "kJ/mol/Å"}}}}
                        .dump();
  std::string lines;
  for (const auto& c : configurations) lines += c.dump() + "\n";
  write_file_atomically((fs::path(out) / "configurations.jsonl").string(), lines);
  write_manifest(out, manifest);
  std::cout << "wrote " << out << ": " << imported << " configurations of " << records.size() << " molecules (total "
            << "energies, kJ/mol; E0s: " << (e0.empty() ? "fitted when training" : e0_source) << ")";
  int64_t skipped = 0;
  for (const auto& [reason, count] : manifest.failures) skipped += count;
  if (skipped) std::cout << ", " << skipped << " not imported (reasons in the manifest)";
  std::cout << "\n";
  return 0;
}

}  // namespace ept::cli
