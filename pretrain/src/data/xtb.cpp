#include "ept/data/xtb.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ept/error.h"
#include "ept/data/vocabulary.h"

extern char** environ;

namespace ept {
namespace {

constexpr double kHartree = 2625.4996394799;  // kJ/mol
constexpr double kBohr = 0.529177210903;      // Å

std::string last_lines(const std::string& path, size_t count) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  std::string out;
  for (size_t k = lines.size() > count ? lines.size() - count : 0; k < lines.size(); ++k)
    out += (out.empty() ? "" : " | ") + lines[k].substr(lines[k].find_first_not_of(" \t"));
  return out;
}

// Runs `argv` in `folder` with stdout and stderr to folder/xtb.out and one OpenMP thread; returns the exit status.
int run_in(const std::string& folder, const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, folder.c_str());
  const std::string out = folder + "/xtb.out";
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OMP_NUM_THREADS=", 16) && std::strncmp(*e, "OMP_STACKSIZE=", 14)) env_strings.push_back(*e);
  env_strings.push_back("OMP_NUM_THREADS=1");  // parallelism comes from running several conformations at once
  env_strings.push_back("OMP_STACKSIZE=500M");
  std::vector<char*> args, env;
  for (auto& a : const_cast<std::vector<std::string>&>(argv)) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    throw Error("xtb: cannot start '" + argv[0] + "' (" + std::strerror(spawned) +
                "); install Debian's xtb package or pass its path with --xtb");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(std::string("xtb: waiting for the process failed: ") + std::strerror(errno));
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

std::vector<std::string> XtbOptions::arguments() const {
  std::vector<std::string> a = {"--gfn", "2", "--grad", "--chrg", std::to_string(charge), "--uhf",
                                std::to_string(unpaired)};
  if (!solvent.empty()) a.insert(a.end(), {"--alpb", solvent});
  return a;
}

XtbResult xtb_single_point(const std::vector<int>& atomic_numbers, const std::vector<Vec3>& positions,
                           const XtbOptions& options, const std::string& scratch) {
  namespace fs = std::filesystem;
  static std::atomic<uint64_t> counter{0};
  const fs::path folder = fs::absolute(scratch) / ("xtb-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(folder);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(p, ignored);
    }
  } cleanup{folder};
  std::ostringstream xyz;
  xyz.precision(10);
  xyz << positions.size() << "\n\n";
  for (size_t i = 0; i < positions.size(); ++i)
    xyz << vocab::block_name(vocab::element_block_type(atomic_numbers[i])) << " " << positions[i][0] << " "
        << positions[i][1] << " " << positions[i][2] << "\n";
  std::ofstream((folder / "frame.xyz").string()) << xyz.str();
  std::vector<std::string> argv = {options.executable, "frame.xyz"};
  for (const auto& a : options.arguments()) argv.push_back(a);
  const int status = run_in(folder.string(), argv);
  if (status != 0)
    throw Error("xtb exited with status " + std::to_string(status) + ": " +
                last_lines((folder / "xtb.out").string(), 3));
  // frame.engrad: comment lines (#), then the atom count, the energy (Eh) and 3N gradient components (Eh/bohr).
  std::ifstream in((folder / "frame.engrad").string());
  if (!in) throw Error("xtb wrote no gradient file (frame.engrad): " + last_lines((folder / "xtb.out").string(), 3));
  std::vector<double> numbers;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    for (double v; words >> v;) numbers.push_back(v);
  }
  const size_t n = positions.size();
  if (numbers.size() < 2 + 3 * n || static_cast<size_t>(numbers[0]) != n)
    throw Error("xtb's gradient file frame.engrad is malformed (" + std::to_string(numbers.size()) +
                " numbers for " + std::to_string(n) + " atoms)");
  XtbResult r;
  r.energy = numbers[1] * kHartree;
  r.forces.resize(n);
  for (size_t i = 0; i < n; ++i)
    for (int d = 0; d < 3; ++d) r.forces[i][d] = -numbers[2 + 3 * i + d] * kHartree / kBohr;
  if (!std::isfinite(r.energy)) throw Error("xtb returned a non-finite energy");
  for (const auto& f : r.forces)
    for (double v : f)
      if (!std::isfinite(v)) throw Error("xtb returned a non-finite gradient");
  return r;
}

}  // namespace ept
