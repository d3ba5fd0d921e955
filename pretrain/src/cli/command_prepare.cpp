#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "commands.h"
#include "corpus_sources.h"
#include "smiles_files.h"
#include "ept/data/atomic_file.h"
#include "ept/data/checksum.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "journal.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {
namespace {

// The files of a --pdb value: one, or the partners of a complex joined by '+'.
std::vector<std::string> partner_files(const std::string& spec) {
  if (std::filesystem::is_regular_file(spec)) return {spec};  // one file whose name holds a '+'
  std::vector<std::string> parts;
  for (size_t start = 0, plus; start <= spec.size(); start = plus + 1) {
    plus = std::min(spec.find('+', start), spec.size());
    parts.push_back(spec.substr(start, plus - start));
  }
  return parts;
}

// The two files of an option's FIRST:SECOND value, each checked to exist; InputError naming the option otherwise.
std::pair<std::string, std::string> file_pair(const std::string& option, const std::string& value,
                                              const std::string& first, const std::string& second,
                                              const std::string& form) {
  const auto colon = value.find(':');
  if (colon == std::string::npos) throw InputError(option + " takes " + form + ", got '" + value + "'");
  const std::pair<std::string, std::string> files{value.substr(0, colon), value.substr(colon + 1)};
  for (const auto& [what, path] : {std::pair{first, files.first}, std::pair{second, files.second}})
    if (!std::filesystem::is_regular_file(path))
      throw InputError(option + " " + what + " '" + path + "' does not exist");
  return files;
}

}  // namespace

int prepare(const std::vector<std::string>& args) {
  std::string out, smiles_column = "smiles";
  std::vector<std::string> smiles_files{"/usr/share/RDKit/Data/NCI/first_5K.smi"}, sdfs, pdbs, md, complexes;
  double pocket_radius = 8, interface_radius = 8;
  int64_t limit = 0, shard_size = 500;
  int conformers = 3, peptides = 0, crop = 5, md_stride = 1, seed = 7;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool overwrite = false, resume = false;
  po::options_description o("options");
  o.add_options()
      ("out,o", po::value(&out)->required(), "corpus directory to create (manifest.json + shards)")
      ("overwrite", po::bool_switch(&overwrite), "replace a corpus already in OUT (its manifest and shards)")
      ("resume", po::bool_switch(&resume), "continue a killed run in OUT (same inputs and options): finished shards kept")
      ("smiles", po::value(&smiles_files)->composing()->default_value(smiles_files, smiles_files[0]),
       "small molecules: .txt/.smi (one SMILES a line, the first field) or .csv (the --smiles-column), plain or .xz; "
       "repeatable; '' for none")
      ("smiles-column", po::value(&smiles_column)->default_value(smiles_column), "the SMILES column of .csv files, any case")
      ("max-molecules", po::value(&limit)->default_value(limit), "use only the first N SMILES of all files (0: all)")
      ("sdf", po::value(&sdfs)->composing(), "3D molecules as given (coordinates kept, one record per SDF record; "
       "repeatable)")
      ("conformers", po::value(&conformers)->default_value(conformers), "ETKDG conformers per molecule, MMFF-relaxed")
      ("peptides", po::value(&peptides)->default_value(peptides), "random peptides of 3-8 residues built from sequence")
      ("pdb", po::value(&pdbs)->composing(), "PDB file cropped into windows of --crop residues, or the partners of "
       "a complex as A.pdb+B.pdb: their windows and the interface (repeatable)")
      ("interface-radius", po::value(&interface_radius)->default_value(interface_radius), "Å: a complex's interface "
       "holds each partner's residues within it of another partner")
      ("crop", po::value(&crop)->default_value(crop), "residues per protein fragment")
      ("complex", po::value(&complexes)->composing(), "protein-ligand complexes as PROTEIN.pdb:LIGANDS.sdf: per "
       "posed ligand, the pocket (residues within --pocket-radius) and the ligand (repeatable)")
      ("pocket-radius", po::value(&pocket_radius)->default_value(pocket_radius), "Å from any ligand atom")
      ("md", po::value(&md)->composing(), "MD frames as TOPOLOGY.pdb:TRAJECTORY.dcd (repeatable)")
      ("md-stride", po::value(&md_stride)->default_value(md_stride), "keep every n-th MD frame")
      ("shard-size", po::value(&shard_size)->default_value(shard_size), "sources per shard (a SMILES, a sequence, an "
       "SDF, PDB or MD file): the unit of work a killed run redoes")
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
  if (!(pocket_radius > 0) || !std::isfinite(pocket_radius))
    throw InputError("--pocket-radius must be a distance > 0 Å");
  if (!(interface_radius > 0) || !std::isfinite(interface_radius))
    throw InputError("--interface-radius must be a distance > 0 Å");

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
    const auto parts = partner_files(pdb);
    for (const auto& part : parts)
      if (!std::filesystem::is_regular_file(part))
        throw InputError("PDB file '" + part + "' " + (std::filesystem::exists(part) ? "is not a file" : "does not exist"));
    if (parts.size() == 1)
      jobs.push_back([&, pdb] { return protein_fragments(pdb, crop); });
    else
      jobs.push_back([&, parts] { return protein_complex(parts, crop, interface_radius); });
  }
  for (const auto& pair : complexes) {
    const auto [protein, ligands] = file_pair("--complex", pair, "protein", "ligands", "PROTEIN.pdb:LIGANDS.sdf");
    jobs.push_back([&, protein, ligands] { return complex_pockets(protein, ligands, pocket_radius); });
  }
  for (const auto& pair : md) {
    const auto [top, dcd] = file_pair("--md", pair, "topology", "trajectory", "TOPOLOGY.pdb:TRAJECTORY.dcd");
    jobs.push_back([&, top, dcd] { return std::vector<SourceOutcome>{md_frames(top, dcd, md_stride)}; });
  }
  if (jobs.empty()) throw InputError("nothing to prepare: give SMILES, --sdf, --peptides, --pdb, --complex or --md");

  // The folder, journalled: every finished batch of --shard-size sources is one shard and one journal line, so a
  // killed run continues with --resume (finished shards kept, checked by CRC) and memory holds one batch.
  namespace fs = std::filesystem;
  nlohmann::json identity = {{"smiles", smiles_files}, {"smiles_column", smiles_column}, {"max_molecules", limit},
                             {"sdf", sdfs}, {"pdb", pdbs}, {"md", md},
                             {"complex", complexes}, {"pocket_radius", pocket_radius},
                             {"interface_radius", interface_radius}, {"conformers", conformers},
                             {"peptides", peptides}, {"crop", crop}, {"md_stride", md_stride},
                             {"shard_size", shard_size}, {"seed", seed}};
  nlohmann::json inputs = nlohmann::json::array();
  std::vector<std::string> complex_files;  // the files of --complex and --md pairs
  for (const auto* pairs : {&complexes, &md})
    for (const auto& pair : *pairs)
      for (const auto& path : {pair.substr(0, pair.find(':')), pair.substr(pair.find(':') + 1)})
        complex_files.push_back(path);
  std::vector<std::string> pdb_files;
  for (const auto& pdb : pdbs)
    for (const auto& part : partner_files(pdb)) pdb_files.push_back(part);
  for (const auto* files : {&smiles_files, &sdfs, &pdb_files, &complex_files})
    for (const auto& path : *files)
      if (!path.empty()) inputs.push_back(crc32_hex(crc32_of(read_file(path))));
  identity["input_crc32"] = inputs;
  // Stale shards of a replaced run are removed with its manifest.
  std::vector<std::string> stale{"manifest.json"};
  if (fs::is_directory(out))
    for (const auto& entry : fs::directory_iterator(out)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("shard-", 0) == 0 && entry.path().extension() == ".cbor") stale.push_back(name);
    }
  std::map<int64_t, nlohmann::json> finished;  // batch -> its journal line
  for (const auto& j : open_journal(out, identity, resume, overwrite, stale,
                                    {"prepare", "a corpus", "the sources, their files' bytes and the options"})) {
    if (!j.contains("batch")) continue;
    const std::string shard = j.value("shard", "");
    if (!shard.empty() && (!fs::exists(fs::path(out) / shard) ||
                           crc32_hex(crc32_of(read_file((fs::path(out) / shard).string()))) != j.value("crc32", "")))
      continue;  // a shard that was not written whole is made again
    finished[j["batch"].get<int64_t>()] = j;
  }
  const std::string journal_path = cli::journal_path(out);

  const int64_t total = static_cast<int64_t>(jobs.size());
  const int64_t batches = (total + shard_size - 1) / shard_size;
  std::ofstream journal(journal_path, std::ios::app);
  Progress progress("sources", total);
  int64_t sources_done = 0;
  for (const auto& [batch, line] : finished) sources_done += std::min(shard_size, total - batch * shard_size);
  if (resume)
    std::cerr << "ept prepare: " << finished.size() << " of " << batches << " shards already written, "
              << total - sources_done << " sources to go\n";
  for (int64_t batch = 0; batch < batches; ++batch) {
    if (finished.count(batch)) continue;
    const int64_t first = batch * shard_size, last = std::min(total, first + shard_size);
    std::vector<std::vector<SourceOutcome>> results(last - first);
    std::atomic<int64_t> next{first};
    auto work = [&] {
      for (int64_t k; (k = next++) < last;) {
        try {
          results[k - first] = jobs[k]();
        } catch (const std::exception& e) {
          results[k - first] = {{false, std::string("error: ") + e.what(), {}}};
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < std::min<int64_t>(threads, last - first); ++t) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    nlohmann::json line = {{"batch", batch}, {"shard", ""}, {"records", nlohmann::json::object()},
                           {"conformers", nlohmann::json::object()}, {"failures", nlohmann::json::object()}};
    std::vector<MoleculeRecord> shard;
    for (auto& outcomes : results)
      for (auto& o : outcomes) {
        if (!o.ok) {
          line["failures"][o.failure] = line["failures"].value(o.failure, 0) + 1;
          continue;
        }
        const std::string& domain = o.record.domain;
        line["records"][domain] = line["records"].value(domain, 0) + 1;
        line["conformers"][domain] = line["conformers"].value(domain, 0) + static_cast<int64_t>(o.record.conformers.size());
        shard.push_back(std::move(o.record));
      }
    if (!shard.empty()) {
      char name[32];
      std::snprintf(name, sizeof(name), "shard-%05lld.cbor", static_cast<long long>(batch));
      const ShardInfo info = write_shard(out, name, shard);
      line["shard"] = info.file;
      line["crc32"] = info.crc32;
    }
    journal << line.dump() << "\n" << std::flush;
    finished[batch] = line;
    sources_done += last - first;
    progress.update(sources_done);
  }
  progress.finish();

  // The manifest: the batches in order.
  Manifest manifest;
  manifest.failures = skipped;
  manifest.split = "validation holds out whole groups (by a hash of the group): small molecules by Bemis-Murcko "
                   "scaffold (an acyclic molecule alone), protein fragments by protein file, protein-ligand pockets by "
                   "the complex's protein file (a target), MD frames by topology "
                   "file, peptides each alone; never by conformer";
  for (const auto& [batch, line] : finished) {
    if (!line["shard"].get<std::string>().empty()) {
      int64_t records = 0, count = 0;
      for (const auto& [domain, n] : line["records"].items()) records += n.get<int64_t>();
      for (const auto& [domain, n] : line["conformers"].items()) count += n.get<int64_t>();
      manifest.shards.push_back({line["shard"], records, count, line["crc32"]});
    }
    for (const auto& [domain, n] : line["records"].items()) manifest.records_per_domain[domain] += n.get<int64_t>();
    for (const auto& [domain, n] : line["conformers"].items())
      manifest.conformers_per_domain[domain] += n.get<int64_t>();
    for (const auto& [reason, n] : line["failures"].items()) manifest.failures[reason] += n.get<int64_t>();
  }
  write_manifest(out, manifest);
  if (manifest.shards.empty()) {
    std::string why;
    for (const auto& [reason, count] : manifest.failures) why += "; " + std::to_string(count) + " × " + reason;
    throw InputError("no record was made: every source failed or was skipped" + why);
  }
  std::cout << "wrote " << out << " (" << manifest.shards.size() << " shards):\n";
  for (const auto& [domain, count] : manifest.records_per_domain)
    std::cout << "  " << domain << ": " << count << " records, " << manifest.conformers_per_domain[domain]
              << " conformers\n";
  for (const auto& [reason, count] : manifest.failures) std::cout << "  skipped " << count << ": " << reason << "\n";
  return 0;
}

}  // namespace ept::cli
