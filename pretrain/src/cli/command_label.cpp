// `ept label`: GFN2-xTB energies and forces of MD conformations, optionally minus a force field's (Δ-learning),
// written as a labelled data set (a corpus whose records carry labels). Resumable: every finished frame is
// appended to OUT/journal.jsonl at once, and --resume skips the frames it holds.
#include <OpenMM.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "ept/data/atomic_file.h"
#include "ept/data/checksum.h"
#include "ept/data/dataset.h"
#include "ept/data/dcd.h"
#include "ept/error.h"
#include "ept/data/structure_io.h"
#include "ept/data/trajectory.h"
#include "ept/data/xtb.h"
#include "journal.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The force field's energy (kJ/mol) and forces (kJ/mol/Å) of every frame, on OpenMM's Reference platform.
class ForceFieldLabels {
 public:
  ForceFieldLabels(const std::string& path, size_t num_atoms) {
    std::ifstream in(path);
    if (!in) throw InputError("--system: cannot read '" + path + "'");
    try {
      system_.reset(OpenMM::XmlSerializer::deserialize<OpenMM::System>(in));
    } catch (const std::exception& e) {
      throw InputError("--system: '" + path + "' is not an OpenMM System in XML (" + e.what() + ")");
    }
    if (static_cast<size_t>(system_->getNumParticles()) != num_atoms)
      throw InputError("--system: '" + path + "' has " + std::to_string(system_->getNumParticles()) +
                       " particles but the topology has " + std::to_string(num_atoms) + " atoms");
    integrator_ = std::make_unique<OpenMM::VerletIntegrator>(0.001);
    context_ = std::make_unique<OpenMM::Context>(*system_, *integrator_, OpenMM::Platform::getPlatformByName("Reference"));
  }
  /// Total charge of the System's NonbondedForce, which must be an integer.
  std::optional<int> charge() const {
    for (int k = 0; k < system_->getNumForces(); ++k)
      if (const auto* nb = dynamic_cast<const OpenMM::NonbondedForce*>(&system_->getForce(k))) {
        double q = 0, sigma, epsilon, total = 0;
        for (int i = 0; i < nb->getNumParticles(); ++i) {
          nb->getParticleParameters(i, q, sigma, epsilon);
          total += q;
        }
        if (std::abs(total - std::round(total)) > 1e-3)
          throw InputError("--system: its charges sum to " + std::to_string(total) + " e, not an integer; give --charge");
        return static_cast<int>(std::lround(total));
      }
    return std::nullopt;
  }
  std::pair<double, std::vector<Vec3>> operator()(const DcdFrame& frame) {
    std::vector<OpenMM::Vec3> x;
    for (const auto& p : frame.positions) x.emplace_back(p[0] / 10, p[1] / 10, p[2] / 10);
    if (frame.box.periodic) {
      const auto& v = frame.box.vectors;
      context_->setPeriodicBoxVectors({v[0][0] / 10, v[0][1] / 10, v[0][2] / 10}, {v[1][0] / 10, v[1][1] / 10, v[1][2] / 10},
                                      {v[2][0] / 10, v[2][1] / 10, v[2][2] / 10});
    }
    context_->setPositions(x);
    const auto state = context_->getState(OpenMM::State::Energy | OpenMM::State::Forces);
    std::vector<Vec3> f;
    for (const auto& g : state.getForces()) f.push_back({g[0] / 10, g[1] / 10, g[2] / 10});
    return {state.getPotentialEnergy(), f};
  }

 private:
  std::unique_ptr<OpenMM::System> system_;
  std::unique_ptr<OpenMM::VerletIntegrator> integrator_;
  std::unique_ptr<OpenMM::Context> context_;
};

// What identifies a labelling job: a resumed run must have the same inputs and settings.
json job_identity(const std::string& topology, const std::vector<std::string>& trajectories, const std::string& system,
                  const XtbOptions& xtb, int64_t stride) {
  json files = json::array();
  for (const auto& path : trajectories) files.push_back({{"path", path}, {"crc32", crc32_hex(crc32_of(read_file(path)))}});
  return {{"topology_crc32", crc32_hex(crc32_of(read_file(topology)))}, {"trajectories", files},
          {"system_crc32", system.empty() ? "" : crc32_hex(crc32_of(read_file(system)))},
          {"xtb", xtb.arguments()}, {"stride", stride}};
}

}  // namespace

int label(const std::vector<std::string>& args) {
  std::string topology_path, out, system_path, force_field, xtb_path = "xtb", solvent;
  std::vector<std::string> trajectories;
  int workers = 1;
  int64_t stride = 1;
  double max_force = 2000;
  bool resume = false, overwrite = false;
  std::optional<int> charge;
  int charge_value = 0;
  po::options_description o("options");
  o.add_options()
      ("topology,t", po::value(&topology_path)->required(), "PDB file of the molecule: atoms, residues, bonds")
      ("trajectory", po::value(&trajectories)->required(), "DCD trajectory of the same atoms, or .npy frames (frames × "
       "atoms × 3, Å); repeat for several")
      ("out,o", po::value(&out)->required(), "data set folder: manifest.json, shard-00000.cbor, journal.jsonl")
      ("system", po::value(&system_path), "OpenMM System (XML) whose energies and forces are subtracted: the "
       "labels become Δ = xtb − force field")
      ("force-field", po::value(&force_field), "name of that force field in the labels (default: the file's stem)")
      ("solvent", po::value(&solvent), "ALPB implicit solvent for xtb (e.g. water); default gas phase")
      ("charge", po::value(&charge_value), "total charge (e); default: the System's charges, required without --system")
      ("stride", po::value(&stride)->default_value(stride), "label every STRIDE-th frame")
      ("max-force", po::value(&max_force)->default_value(max_force), "warn about frames whose largest xtb force "
       "exceeds this (kJ/mol/Å): a wrong charge or a broken structure, not thermal motion")
      ("workers", po::value(&workers)->default_value(workers), "xtb processes running at once")
      ("xtb", po::value(&xtb_path)->default_value(xtb_path), "the xtb program")
      ("resume", po::bool_switch(&resume), "continue an interrupted run in OUT (same inputs)")
      ("overwrite", po::bool_switch(&overwrite), "replace a data set already in OUT");
  po::variables_map vm;
  if (!parse_options("ept label --topology PDB --trajectory DCD [--trajectory DCD ...] --out DATA [options]\n\n"
                     "GFN2-xTB single points with gradients on the frames of MD trajectories, written as a labelled\n"
                     "data set for `ept finetune --objective energy`: one record per trajectory, energies in kJ/mol,\n"
                     "forces in kJ/mol/Å. With --system the labels are xtb minus that force field (Δ-learning: the\n"
                     "finetuned model is a correction to add to it). Frames xtb fails on are recorded with the reason\n"
                     "in the manifest's failures and skipped. Each finished frame is journalled at once: after an\n"
                     "interruption, --resume labels only the frames still missing.",
                     o, args, vm))
    return 0;
  if (vm.count("charge")) charge = charge_value;
  if (workers < 1) throw InputError("--workers must be at least 1");
  if (!force_field.empty() && system_path.empty()) throw InputError("--force-field names the --system; give --system");
  if (force_field.empty() && !system_path.empty()) force_field = fs::path(system_path).stem().string();

  const Structure topology = read_pdb(topology_path);
  const size_t n = topology.table.size();
  const std::vector<TrajectoryFrame> frames = read_trajectory_frames(trajectories, n, topology_path, stride);
  if (frames.empty()) {
    std::string files;
    for (const auto& path : trajectories) files += (files.empty() ? "'" : ", '") + path + "'";
    throw InputError("the trajectories " + files + " hold no complete frame to label" +
                     (stride > 1 ? " at --stride " + std::to_string(stride) : std::string()));
  }
  for (const auto& f : frames)
    check_bond_lengths(topology.table, f.data,
                       "frame " + std::to_string(f.index) + " of '" + trajectories[f.trajectory] + "'");
  std::unique_ptr<ForceFieldLabels> mm;
  if (!system_path.empty()) mm = std::make_unique<ForceFieldLabels>(system_path, n);
  const std::optional<int> system_charge = mm ? mm->charge() : std::nullopt;
  if (charge && system_charge && *charge != *system_charge)
    throw InputError("--charge " + std::to_string(*charge) + " disagrees with the System '" + system_path +
                     "', whose charges sum to " + std::to_string(*system_charge) +
                     " e; the labels would be of another molecule. Drop --charge (the System's is used) or fix it");
  if (!charge) charge = system_charge;
  if (!charge) throw InputError("--charge: the total charge is needed (xtb's --chrg); give it, or --system");
  int64_t electrons = -*charge;
  for (int z : topology.table.atomic_numbers) electrons += z;
  if (electrons < 0 || electrons % 2 != 0)
    throw InputError((vm.count("charge") ? "--charge " + std::to_string(*charge)
                                         : "the total charge " + std::to_string(*charge) + " e of the System's charges") +
                     " leaves " + std::to_string(electrons) + " electrons for the " + std::to_string(n) +
                     " atoms of '" + topology_path + "'" +
                     (electrons < 0 ? ", which is impossible" : ", an odd number, but xtb runs closed-shell (--uhf 0)") +
                     "; check the total charge (and that the topology has all its hydrogens)");
  if (!(max_force > 0)) throw InputError("--max-force must be a force > 0 kJ/mol/Å");
  XtbOptions xtb;
  xtb.executable = xtb_path;
  xtb.charge = *charge;
  xtb.solvent = solvent;

  // The folder: refuse to mix runs, as `ept pretrain` does.
  const std::string journal_path = cli::journal_path(out);
  std::map<std::pair<size_t, int64_t>, json> done;
  for (const auto& j : open_journal(out, job_identity(topology_path, trajectories, system_path, xtb, stride), resume,
                                    overwrite, {"manifest.json", "shard-00000.cbor"},
                                    {"label", "a data set", "trajectories, topology, --system, xtb options or --stride"}))
    if (j.contains("f")) done[{j["t"].get<size_t>(), j["f"].get<int64_t>()}] = j;

  std::vector<size_t> todo;
  for (size_t k = 0; k < frames.size(); ++k)
    if (!done.count({frames[k].trajectory, frames[k].index})) todo.push_back(k);
  std::cerr << "ept label: " << frames.size() << " frames, " << frames.size() - todo.size() << " already labelled, "
            << workers << " xtb process(es) at once\n";
  std::ofstream journal(journal_path, std::ios::app);
  std::mutex lock;
  std::atomic<size_t> next{0};
  Progress progress("frames", static_cast<int64_t>(frames.size()));
  int64_t finished = static_cast<int64_t>(frames.size() - todo.size());
  const std::string scratch = (fs::path(out) / "scratch").string();
  auto work = [&] {
    for (size_t k; (k = next++) < todo.size();) {
      const TrajectoryFrame& f = frames[todo[k]];
      json line = {{"t", f.trajectory}, {"f", f.index}};
      try {
        const XtbResult r = xtb_single_point(topology.table.atomic_numbers, f.data.positions, xtb, scratch);
        std::vector<double> forces;
        for (const auto& v : r.forces) forces.insert(forces.end(), v.begin(), v.end());
        line["energy"] = r.energy;
        line["forces"] = forces;
      } catch (const std::exception& e) {
        line["error"] = e.what();
      }
      std::lock_guard<std::mutex> guard(lock);
      journal << line.dump() << "\n" << std::flush;
      done[{f.trajectory, f.index}] = line;
      progress.update(++finished);
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  progress.finish();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);

  // The data set: one record per trajectory with the frames xtb labelled, minus the force field's part.
  std::vector<MoleculeRecord> records(trajectories.size());
  Manifest manifest;
  for (size_t t = 0; t < trajectories.size(); ++t) {
    records[t].domain = "md-frame";
    records[t].source = trajectories[t];
    records[t].table = topology.table;
  }
  int64_t failed = 0;
  std::vector<std::string> extreme;
  for (const auto& f : frames) {
    const json& j = done.at({f.trajectory, f.index});
    if (j.contains("error")) {
      manifest.failures[trajectories[f.trajectory] + " frame " + std::to_string(f.index) + ": " +
                        j["error"].get<std::string>()] = 1;
      ++failed;
      continue;
    }
    const auto flat = j["forces"].get<std::vector<double>>();
    double energy = j["energy"].get<double>();
    std::vector<Vec3> forces(n);
    double largest = 0;
    for (size_t i = 0; i < n; ++i) {
      forces[i] = {flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]};
      largest = std::max(largest, std::sqrt(flat[3 * i] * flat[3 * i] + flat[3 * i + 1] * flat[3 * i + 1] +
                                            flat[3 * i + 2] * flat[3 * i + 2]));
    }
    if (largest > max_force)
      extreme.push_back(trajectories[f.trajectory] + " frame " + std::to_string(f.index) + ": " +
                        std::to_string(static_cast<int64_t>(std::lround(largest))) + " kJ/mol/Å");
    if (mm) {
      const auto [e, g] = (*mm)(f.data);
      energy -= e;
      for (size_t i = 0; i < n; ++i)
        for (int d = 0; d < 3; ++d) forces[i][d] -= g[i][d];
    }
    auto& r = records[f.trajectory];
    r.conformers.push_back(f.data.positions);
    r.energies.push_back(energy);
    r.forces.push_back(forces);
  }
  std::vector<MoleculeRecord> kept;
  for (auto& r : records)
    if (!r.conformers.empty()) kept.push_back(std::move(r));
  if (kept.empty()) throw Error("label: xtb failed on every frame; the reasons are in " + journal_path);
  manifest.shards.push_back(write_shard(out, "shard-00000.cbor", kept));
  for (const auto& r : kept) {
    ++manifest.records_per_domain[r.domain];
    manifest.conformers_per_domain[r.domain] += static_cast<int64_t>(r.conformers.size());
  }
  manifest.labels = json{{"energy", mm ? "delta:" + force_field : "total"},
                         {"method", "GFN2-xTB"}, {"xtb", xtb.arguments()}, {"solvent", solvent.empty() ? "none" : solvent},
                         {"charge", *charge}, {"minus", system_path.empty() ? "" : fs::path(system_path).filename().string()}, {"stride", stride},
                         {"max_force", max_force}, {"frames_above_max_force", extreme},
                         {"units", {{"positions", "Å"}, {"energy", "kJ/mol"}, {"forces", "kJ/mol/Å"}}}}
                        .dump();
  write_manifest(out, manifest);
  if (!extreme.empty())
    std::cerr << "ept label: warning: " << extreme.size() << " labelled frame(s) have an xtb force above --max-force "
              << max_force << " kJ/mol/Å (the first: " << extreme.front()
              << "); thermal MD frames stay far below it: check --charge and the structures before training\n";
  std::cout << "wrote " << out << ": " << frames.size() - failed << " labelled frames of " << kept.size()
            << " trajectories (" << (mm ? "xtb − " + force_field : std::string("xtb")) << "), " << failed
            << " failed (reasons in the manifest)\n";
  return 0;
}

}  // namespace ept::cli
