#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "commands.h"
#include "corpus_sources.h"
#include "smiles_files.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {
namespace {

}  // namespace

int prepare(const std::vector<std::string>& args) {
  std::string out, smiles_column = "smiles";
  std::vector<std::string> smiles_files{"/usr/share/RDKit/Data/NCI/first_5K.smi"}, sdfs, pdbs, md;
  int64_t limit = 0, shard_size = 500;
  int conformers = 3, peptides = 0, crop = 5, md_stride = 1, seed = 7;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool overwrite = false;
  po::options_description o("options");
  o.add_options()
      ("out,o", po::value(&out)->required(), "corpus directory to create (manifest.json + shards)")
      ("overwrite", po::bool_switch(&overwrite), "replace a corpus already in OUT (its manifest and shards)")
      ("smiles", po::value(&smiles_files)->composing()->default_value(smiles_files, smiles_files[0]),
       "small molecules: .txt/.smi (one SMILES a line, the first field) or .csv (the --smiles-column), plain or .xz; "
       "repeatable; '' for none")
      ("smiles-column", po::value(&smiles_column)->default_value(smiles_column), "the SMILES column of .csv files, any case")
      ("max-molecules", po::value(&limit)->default_value(limit), "use only the first N SMILES of all files (0: all)")
      ("sdf", po::value(&sdfs)->composing(), "3D molecules as given (coordinates kept, one record per SDF record; "
       "repeatable)")
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
                     "set of rdkit-data) or 3D SDF files, peptides from sequence, protein fragments cropped from PDB\n"
                     "files, and MD frames. SMILES are deduplicated across all files by the canonical SMILES of\n"
                     "their largest fragment (salts and mixtures keep the largest molecule, by heavy atoms), which is\n"
                     "what gets conformers. Records that fail or repeat are skipped and counted by reason in\n"
                     "manifest.json.",
                     o, args, vm))
    return 0;
  if (conformers < 1 || threads < 1 || shard_size < 1 || crop < 1 || md_stride < 1 || peptides < 0)
    throw InputError("--conformers, --threads, --shard-size, --crop and --md-stride must be positive");

  // Jobs in a fixed order; each yields records (or failures). Seeds depend on the job, not on the thread.
  std::vector<std::function<std::vector<SourceOutcome>()>> jobs;
  std::map<std::string, int64_t> skipped;  // SMILES left out before any job, by reason
  std::vector<std::string> smiles;
  std::set<std::string> seen;
  int64_t stripped = 0, taken = 0;
  for (const auto& file : smiles_files) {
    if (file.empty()) continue;
    for (const auto& entry : read_smiles_file(file, smiles_column)) {
      if (limit > 0 && taken >= limit) break;
      ++taken;
      const auto parent = canonical_parent(entry);
      if (!parent) {
        ++skipped["SMILES did not parse or sanitise"];
        continue;
      }
      stripped += entry.find('.') != std::string::npos && parent->find('.') == std::string::npos;
      if (seen.insert(*parent).second)
        smiles.push_back(*parent);
      else
        ++skipped["duplicate molecule (the canonical SMILES of its largest fragment came before)"];
    }
  }
  if (stripped) std::cerr << "ept prepare: " << stripped << " salts or mixtures reduced to their largest fragment\n";
  for (size_t k = 0; k < smiles.size(); ++k)
    jobs.push_back([&, k] { return std::vector<SourceOutcome>{small_molecule(smiles[k], conformers, seed + int(k))}; });
  const auto sequences = random_peptide_sequences(peptides, seed);
  for (size_t k = 0; k < sequences.size(); ++k)
    jobs.push_back([&, k] { return std::vector<SourceOutcome>{peptide(sequences[k], conformers, seed + int(k))}; });
  for (const auto& sdf : sdfs) {
    if (!std::filesystem::is_regular_file(sdf)) throw InputError("SDF file '" + sdf + "' does not exist");
    jobs.push_back([&, sdf] { return sdf_molecules(sdf); });
  }
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
  if (jobs.empty()) throw InputError("nothing to prepare: give SMILES, --sdf, --peptides, --pdb or --md");
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
  manifest.failures = skipped;
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
