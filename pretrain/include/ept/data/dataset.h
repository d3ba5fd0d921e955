#pragma once
// A corpus on disk: shards of molecules (CBOR; topology arrays and one or more conformers in Å) and a manifest
// (JSON) with counts per domain, failures by reason and a CRC-32 per shard. A labelled data set (`ept label`) is a
// corpus whose records also carry an energy and forces per conformer, and whose manifest says what they are.
//
//   corpus/manifest.json
//   corpus/shard-00000.cbor ...
#include <map>
#include <string>
#include <vector>

#include "ept/data/molecule.h"
#include "ept/model/neighbors.h"

namespace ept {

struct MoleculeRecord {
  std::string domain;  // "small-molecule", "peptide", "protein-fragment", "md-frame"
  std::string source;  // where it came from (SMILES, file:residues, ...)
  // What validation holds out together with this record ("scaffold:c1ccccc1", "protein:1abc.pdb"); empty: the
  // record alone (its source).
  std::string group;
  AtomTable table;
  std::vector<std::vector<Vec3>> conformers;  // Å
  // Labels, in a labelled data set: one energy (kJ/mol) and one force per atom (kJ/mol/Å) per conformer.
  std::vector<double> energies;
  std::vector<std::vector<Vec3>> forces;
  bool labelled() const { return !energies.empty(); }
};

struct ShardInfo {
  std::string file;
  int64_t records = 0, conformers = 0;
  std::string crc32;
};

struct Manifest {
  int version = 1;
  std::vector<ShardInfo> shards;
  std::map<std::string, int64_t> records_per_domain, conformers_per_domain;
  std::map<std::string, int64_t> failures;  // "reason" -> count
  std::string split;                         // how records are grouped for validation (a corpus's card)
  /// Labelled data sets: a JSON object with "energy" ("total" or "delta:FORCE-FIELD", as in a checkpoint's
  /// metadata), the method, units and settings; empty for a pretraining corpus.
  std::string labels;
};

/// Writes records as one shard (atomically) and returns its manifest entry.
ShardInfo write_shard(const std::string& directory, const std::string& file, const std::vector<MoleculeRecord>& records);
/// Reads a shard; checks its CRC-32 against `expected_crc` when given. InputError names file and problem.
std::vector<MoleculeRecord> read_shard(const std::string& path, const std::string& expected_crc = "");

void write_manifest(const std::string& directory, const Manifest& manifest);
Manifest read_manifest(const std::string& directory);

/// Every conformer of every record of a corpus, in memory, with the record's blocks built once.
struct Corpus {
  struct Entry {
    const MoleculeRecord* record;
    const Complex* complex;
    size_t conformer;
  };
  std::vector<MoleculeRecord> records;
  std::vector<Complex> complexes;
  std::vector<Entry> entries;
  std::string fingerprint;  // CRC-32 over the manifest's shard names and checksums: which corpus this is
  std::string labels;       // the manifest's labels (JSON object), empty when unlabelled
  Corpus() = default;
  Corpus(Corpus&&) = default;
  Corpus(const Corpus&) = delete;  // entries point into records and complexes
  /// Loads `directory` (manifest + shards, checksums verified).
  static Corpus load(const std::string& directory);
  /// Several corpora as one (labelled data sets of different molecules, say); their labels must mean the same.
  static Corpus load(const std::vector<std::string>& directories);
  /// Records held in memory (frames read from trajectories, say); `fingerprint` identifies the data.
  static Corpus from_records(std::vector<MoleculeRecord> records, std::string fingerprint, std::string labels = "");
};

}  // namespace ept
