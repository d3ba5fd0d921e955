#include "journal.h"

#include <filesystem>
#include <fstream>

#include "ept/data/atomic_file.h"
#include "ept/error.h"

namespace ept::cli {

namespace fs = std::filesystem;

std::string journal_path(const std::string& out) { return (fs::path(out) / "journal.jsonl").string(); }

std::vector<nlohmann::json> open_journal(const std::string& out, const nlohmann::json& identity, bool resume,
                                         bool overwrite, const std::vector<std::string>& stale,
                                         const JournalOptions& o) {
  const std::string path = journal_path(out);
  if (fs::exists(out) && !fs::is_directory(out))
    throw InputError("--out '" + out + "' is a file; give the folder " + o.what + " goes into");
  const bool has_run = fs::exists(path) || fs::exists(fs::path(out) / "manifest.json");
  if (resume && !fs::exists(path))
    throw InputError(o.command + " --resume: '" + path + "' does not exist, so there is nothing to resume");
  if (!resume && has_run && !overwrite)
    throw InputError(o.command + ": '" + out + "' already holds " + o.what + "; continue it with --resume, replace it "
                     "with --overwrite, or choose another --out");
  fs::create_directories(out);
  const nlohmann::json header = {{"job", identity}};
  std::vector<nlohmann::json> entries;
  if (resume) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (nlohmann::json::parse(line, nullptr, false) != header)
      throw InputError(o.command + " --resume: the inputs or options differ from those of the run in '" + out + "' (" +
                       o.inputs + "); use --overwrite to start again");
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);  // a line cut short by a kill is simply redone
      if (!j.is_discarded()) entries.push_back(std::move(j));
    }
  } else {
    for (const auto& file : stale) fs::remove(fs::path(out) / file);
    write_file_atomically(path, header.dump() + "\n");
  }
  return entries;
}

}  // namespace ept::cli
