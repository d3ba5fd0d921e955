#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "commands.h"
#include "corpus_sources.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {
namespace {

std::vector<std::string> read_smiles(const std::string& path, int64_t limit) {
  std::ifstream in(path);
  if (!in) throw InputError("SMILES file '" + path + "' cannot be opened");
  std::vector<std::string> smiles;
  std::string line;
  while ((limit <= 0 || static_cast<int64_t>(smiles.size()) < limit) && std::getline(in, line)) {
    std::istringstream fields(line);
    std::string first;
    if (fields >> first && first[0] != '#') smiles.push_back(first);
  }
  return smiles;
}

}  // namespace

int prepare(const std::vector<std::string>& args) {
  std::string out, smiles_file = "/usr/share/RDKit/Data/NCI/first_5K.smi";
  std::vector<std::string> pdbs, md;
  int64_t limit = 0, shard_size = 500;
  int conformers = 3, peptides = 0, crop = 5, md_stride = 1, seed = 7;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool overwrite = false;
  po::options_description o("options");
  o.add_options()
      ("out,o", po::value(&out)->required(), "corpus directory to create (manifest.json + shards)")
      ("overwrite", po::bool_switch(&overwrite), "replace a corpus already in OUT (its manifest and shards)")
      ("smiles", po::value(&smiles_file)->default_value(smiles_file), "small molecules, one SMILES per line ('' for none)")
      ("max-molecules", po::value(&limit)->default_value(limit), "use only the first N SMILES (0: all)")
      ("conformers", po::value(&conformers)->default_value(conformers), "ETKDG conformers per molecule, MMFF-relaxed")
      ("peptides", po::value(&peptides)->default_value(peptides), "random peptides of 3-8 residues built from sequence")
      ("pdb", po::value(&pdbs)->composing(), "PDB file cropped into windows of --crop residues (repeatable)")
      ("crop", po::value(&crop)->default_value(crop), "residues per protein fragment")
      ("md", po::value(&md)->composing(), "MD frames as TOPOLOGY.pdb:TRAJECTORY.dcd (repeatable)")
      ("md-stride", po::value(&md_stride)->default_value(md_stride), "keep every n-th MD frame")
      ("shard-size", po::value(&shard_size)->default_value(shard_size), "records per shard")
      ("threads", po::value(&threads)->default_value(threads), "worker threads")
      ("seed", po::value(&seed)->default_value(seed), "embedding and sequence seed (results do not depend on --threads)");
  po::variables_map vm;
  if (!parse_options("ept prepare --out CORPUS [options]\n\n"
                     "Builds a pretraining corpus from four domains: small molecules from SMILES (default: the NCI\n"
                     "set of rdkit-data), peptides from sequence, protein fragments cropped from PDB files, and MD\n"
                     "frames. Records that fail are skipped and counted by reason in manifest.json.",
                     o, args, vm))
    return 0;
  if (conformers < 1 || threads < 1 || shard_size < 1 || crop < 1 || md_stride < 1 || peptides < 0)
    throw InputError("--conformers, --threads, --shard-size, --crop and --md-stride must be positive");

  // Jobs in a fixed order; each yields records (or failures). Seeds depend on the job, not on the thread.
  std::vector<std::function<std::vector<SourceOutcome>()>> jobs;
  const auto smiles = smiles_file.empty() ? std::vector<std::string>{} : read_smiles(smiles_file, limit);
  for (size_t k = 0; k < smiles.size(); ++k)
    jobs.push_back([&, k] { return std::vector<SourceOutcome>{small_molecule(smiles[k], conformers, seed + int(k))}; });
  const auto sequences = random_peptide_sequences(peptides, seed);
  for (size_t k = 0; k < sequences.size(); ++k)
    jobs.push_back([&, k] { return std::vector<SourceOutcome>{peptide(sequences[k], conformers, seed + int(k))}; });
  for (const auto& pdb : pdbs) {
    if (!std::filesystem::exists(pdb)) throw InputError("PDB file '" + pdb + "' does not exist");
    jobs.push_back([&, pdb] { return protein_fragments(pdb, crop); });
  }
  for (const auto& pair : md) {
    const auto colon = pair.find(':');
    if (colon == std::string::npos) throw InputError("--md takes TOPOLOGY.pdb:TRAJECTORY.dcd, got '" + pair + "'");
    const std::string top = pair.substr(0, colon), dcd = pair.substr(colon + 1);
    for (const auto& [what, path] : {std::pair{"topology", top}, std::pair{"trajectory", dcd}})
      if (!std::filesystem::exists(path))
        throw InputError(std::string("--md ") + what + " '" + path + "' does not exist");
    jobs.push_back([&, top, dcd] { return std::vector<SourceOutcome>{md_frames(top, dcd, md_stride)}; });
  }
  if (jobs.empty()) throw InputError("nothing to prepare: give SMILES, --peptides, --pdb or --md");
  // A used folder would keep stale shards next to the new ones.
  if (std::filesystem::exists(std::filesystem::path(out) / "manifest.json") && !overwrite)
    throw InputError("'" + out + "' already holds a corpus; replace it with --overwrite or choose another --out");
  std::filesystem::create_directories(out);
  if (overwrite)
    for (const auto& entry : std::filesystem::directory_iterator(out)) {
      const std::string name = entry.path().filename().string();
      if (name == "manifest.json" || (name.rfind("shard-", 0) == 0 && entry.path().extension() == ".cbor"))
        std::filesystem::remove(entry.path());
    }

  std::vector<std::vector<SourceOutcome>> results(jobs.size());
  std::atomic<int64_t> next{0}, done{0};
  std::exception_ptr error;
  auto work = [&] {
    for (int64_t k; (k = next++) < static_cast<int64_t>(jobs.size());) {
      try {
        results[k] = jobs[k]();
      } catch (const std::exception& e) {
        results[k] = {{false, std::string("error: ") + e.what(), {}}};
      }
      ++done;
    }
  };
  Progress progress("sources", static_cast<int64_t>(jobs.size()));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  while (done < static_cast<int64_t>(jobs.size())) {
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
  for (auto& outcomes : results)
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
  std::cout << "wrote " << out << " (" << manifest.shards.size() << " shards):\n";
  for (const auto& [domain, count] : manifest.records_per_domain)
    std::cout << "  " << domain << ": " << count << " records, " << manifest.conformers_per_domain[domain]
              << " conformers\n";
  for (const auto& [reason, count] : manifest.failures) std::cout << "  skipped " << count << ": " << reason << "\n";
  return 0;
}

}  // namespace ept::cli
