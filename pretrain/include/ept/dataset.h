#pragma once
// The pretraining corpus on disk: shards of molecules (CBOR; topology arrays and one or more conformers in Å)
// and a manifest (JSON) with counts per domain, failures by reason and a CRC-32 per shard.
//
//   corpus/manifest.json
//   corpus/shard-00000.cbor ...
#include <map>
#include <string>
#include <vector>

#include "ept/molecule.h"
#include "ept/neighbors.h"

namespace ept {

struct MoleculeRecord {
  std::string domain;  // "small-molecule", "peptide", "protein-fragment", "md-frame"
  std::string source;  // where it came from (SMILES, file:residues, ...)
  AtomTable table;
  std::vector<std::vector<Vec3>> conformers;  // Å
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
  Corpus() = default;
  Corpus(Corpus&&) = default;
  Corpus(const Corpus&) = delete;  // entries point into records and complexes
  /// Loads `directory` (manifest + shards, checksums verified).
  static Corpus load(const std::string& directory);
};

}  // namespace ept
