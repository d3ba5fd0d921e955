#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/ForceFieldHelpers/MMFF/MMFF.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/ROMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "commands.h"
#include "ept/dataset.h"
#include "ept/error.h"
#include "ept/structure_io.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {
namespace {

struct Outcome {
  bool ok = false;
  std::string failure;  // reason when not ok
  MoleculeRecord record;
};

// One small molecule: parse, add hydrogens, embed `conformers` ETKDG conformers, relax each with MMFF.
Outcome small_molecule(const std::string& smiles, int conformers, int seed) {
  Outcome out;
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception&) {
    mol.reset();
  }
  if (!mol) return {false, "SMILES did not parse or sanitise", {}};
  RDKit::MolOps::addHs(*mol);
  RDKit::DGeomHelpers::EmbedParameters params = RDKit::DGeomHelpers::ETKDGv3;
  params.randomSeed = seed;
  params.numThreads = 1;
  const auto ids = RDKit::DGeomHelpers::EmbedMultipleConfs(*mol, conformers, params);
  if (ids.empty()) return {false, "ETKDG embedding failed", {}};
  std::vector<std::pair<int, double>> results;
  try {
    RDKit::MMFF::MMFFOptimizeMoleculeConfs(*mol, results, 1, 500);
  } catch (const std::exception&) {
    return {false, "MMFF setup failed", {}};
  }
  out.record.domain = "small-molecule";
  out.record.source = smiles;
  for (int id : ids) {
    const Structure s = structure_from_rdkit(*mol, id);
    out.record.table = s.table;
    out.record.conformers.push_back(s.positions);
  }
  out.ok = true;
  return out;
}

std::vector<std::string> read_smiles(const std::string& path, int64_t limit) {
  std::ifstream in(path);
  if (!in) throw InputError("SMILES file '" + path + "' cannot be opened");
  std::vector<std::string> smiles;
  std::string line;
  while (std::getline(in, line) && (limit <= 0 || static_cast<int64_t>(smiles.size()) < limit)) {
    std::istringstream fields(line);
    std::string first;
    if (fields >> first && first[0] != '#') smiles.push_back(first);
  }
  return smiles;
}

}  // namespace

int prepare(const std::vector<std::string>& args) {
  std::string out, smiles_file = "/usr/share/RDKit/Data/NCI/first_5K.smi";
  int64_t limit = 0, shard_size = 500;
  int conformers = 3, threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), seed = 7;
  po::options_description o("options");
  o.add_options()
      ("out,o", po::value(&out)->required(), "corpus directory to create (manifest.json + shards)")
      ("smiles", po::value(&smiles_file)->default_value(smiles_file), "small molecules, one SMILES per line")
      ("max-molecules", po::value(&limit)->default_value(limit), "use only the first N molecules (0: all)")
      ("conformers", po::value(&conformers)->default_value(conformers), "ETKDG conformers per molecule, MMFF-relaxed")
      ("shard-size", po::value(&shard_size)->default_value(shard_size), "molecules per shard")
      ("threads", po::value(&threads)->default_value(threads), "worker threads")
      ("seed", po::value(&seed)->default_value(seed), "embedding seed (results do not depend on --threads)");
  po::variables_map vm;
  if (!parse_options("ept prepare --out CORPUS [options]\n\n"
                     "Builds a pretraining corpus: small molecules from SMILES (RDKit ETKDG conformers relaxed with\n"
                     "MMFF). Molecules that fail are skipped and counted by reason in manifest.json. Peptide,\n"
                     "protein-fragment and MD-frame domains are not built yet.",
                     o, args, vm))
    return 0;
  if (conformers < 1 || threads < 1 || shard_size < 1) throw InputError("--conformers, --threads and --shard-size must be positive");
  const auto smiles = read_smiles(smiles_file, limit);
  if (smiles.empty()) throw InputError("no SMILES in '" + smiles_file + "'");
  std::filesystem::create_directories(out);

  std::vector<Outcome> outcomes(smiles.size());
  std::atomic<int64_t> next{0}, done{0};
  auto work = [&] {
    for (int64_t k; (k = next++) < static_cast<int64_t>(smiles.size());) {
      outcomes[k] = small_molecule(smiles[k], conformers, seed + static_cast<int>(k));
      ++done;
    }
  };
  Progress progress("molecules", static_cast<int64_t>(smiles.size()));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  while (done < static_cast<int64_t>(smiles.size())) {
    progress.update(done);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (auto& t : pool) t.join();
  progress.update(done);
  progress.finish();

  Manifest manifest;
  std::vector<MoleculeRecord> shard;
  auto flush = [&] {
    if (shard.empty()) return;
    char name[32];
    std::snprintf(name, sizeof(name), "shard-%05zu.cbor", manifest.shards.size());
    manifest.shards.push_back(write_shard(out, name, shard));
    shard.clear();
  };
  for (auto& o : outcomes) {
    if (!o.ok) {
      ++manifest.failures[o.failure];
      continue;
    }
    ++manifest.records_per_domain[o.record.domain];
    manifest.conformers_per_domain[o.record.domain] += static_cast<int64_t>(o.record.conformers.size());
    shard.push_back(std::move(o.record));
    if (static_cast<int64_t>(shard.size()) == shard_size) flush();
  }
  flush();
  write_manifest(out, manifest);
  int64_t failed = 0;
  for (const auto& [reason, count] : manifest.failures) failed += count;
  std::cout << "wrote " << out << ": " << manifest.records_per_domain["small-molecule"] << " molecules, "
            << manifest.conformers_per_domain["small-molecule"] << " conformers in " << manifest.shards.size()
            << " shard(s); " << failed << " skipped (see manifest.json)\n";
  return 0;
}

}  // namespace ept::cli
