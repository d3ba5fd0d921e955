#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "commands.h"
#include "ept/model/checkpoint.h"
#include "ept/error.h"
#include "ept/model/evaluator.h"
#include "ept/chemistry/rdkit_structure.h"
#include "options.h"

namespace ept::cli {

int evaluate(const std::vector<std::string>& args) {
  std::string model_path, smiles, pdb, sdf, mode = "conservative";
  int threads = 1, repeats = 5;
  po::options_description o("options");
  o.add_options()
      ("model,m", po::value(&model_path)->required(), "checkpoint file")
      ("smiles", po::value(&smiles), "molecule from SMILES (hydrogens added, one ETKDG conformer)")
      ("pdb", po::value(&pdb), "PDB file (residues become blocks)")
      ("sdf", po::value(&sdf), "SDF or MOL file (first molecule)")
      ("mode", po::value(&mode)->default_value(mode), "conservative (−∂E/∂x) or direct (force head)")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads")
      ("repeats", po::value(&repeats)->default_value(repeats), "evaluations to time (median reported)");
  po::variables_map vm;
  if (!parse_options("ept evaluate --model MODEL (--smiles S | --pdb FILE | --sdf FILE) [options]\n\n"
                     "Energy (kJ/mol) and forces (kJ/mol/Å) of one molecule, with the time per evaluation.",
                     o, args, vm))
    return 0;
  if ((!smiles.empty()) + (!pdb.empty()) + (!sdf.empty()) != 1)
    throw InputError("give exactly one of --smiles, --pdb, --sdf");
  if (mode != "conservative" && mode != "direct")
    throw InputError("--mode must be 'conservative' or 'direct', got '" + mode + "'");
  if (threads < 1) throw InputError("--threads must be at least 1");
  torch::set_num_threads(threads);
  CheckpointInfo meta;
  EPTModel model = load_checkpoint(model_path, &meta);
  const Structure s = !smiles.empty() ? structure_from_smiles(smiles) : !pdb.empty() ? read_pdb(pdb) : read_mol_file(sdf);
  if (s.positions.empty()) throw InputError("the molecule has no coordinates");
  const Complex complex = build_complex(s.table);
  const OutputMode fm = mode == "direct" ? OutputMode::Direct : OutputMode::Energy;
  Evaluator evaluator(model, complex, {meta.dtype});
  evaluator.set_positions(s.positions);
  EnergyForces ef;
  std::vector<double> times;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    ef = evaluator.compute(fm);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  double fmax = 0;
  for (const auto& f : ef.forces) fmax = std::max(fmax, std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]));
  std::cout << "model:    " << model_path << " (checksum " << meta.checksum << ")\n"
            << "metadata: " << meta.metadata << "\n"
            << "molecule: " << complex.num_atoms() << " atoms, " << complex.num_blocks() << " blocks, "
            << complex.num_segments << " segment(s)\n"
            << "energy:   " << ef.energy << " kJ/mol\n"
            << "max |F|:  " << fmax << " kJ/mol/Å (" << mode << ")\n"
            << "time:     " << times[times.size() / 2] << " ms per evaluation (median of " << times.size() << ", "
            << threads << " thread(s))\n";
  return 0;
}

}  // namespace ept::cli
