#pragma once
// Job folders that survive a kill: OUT/journal.jsonl holds the job's identity on its first line, then one JSON line
// per finished unit of work (a labelled frame, a corpus shard), appended as each finishes. `ept label` and
// `ept prepare` keep their folders this way; --resume continues a run, --overwrite replaces it.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ept::cli {

struct JournalOptions {
  std::string command;  // "label", "prepare": for messages
  std::string what;     // "a data set", "a corpus": what the folder holds
  std::string inputs;   // what the identity covers, for the message when a resume's differs
};

/// Opens the journal of `out` for a run of `identity`. A fresh run refuses a folder that holds one (manifest or
/// journal) unless `overwrite`, removes `stale` files of the folder and starts the journal; a resumed run checks
/// that the journal exists and is of the same identity, and returns its entries (a line cut short by a kill is
/// dropped). InputError names the folder and what to do.
std::vector<nlohmann::json> open_journal(const std::string& out, const nlohmann::json& identity, bool resume,
                                         bool overwrite, const std::vector<std::string>& stale,
                                         const JournalOptions& options);
/// The journal's path in `out`.
std::string journal_path(const std::string& out);

}  // namespace ept::cli
