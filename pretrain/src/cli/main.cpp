// `ept`: the command line of openmm-ept (models, training, descriptors).
#include <torch/utils.h>

#include <iostream>

#include "commands.h"
#include "ept/model/allocator.h"
#include "ept/error.h"

namespace {

const ept::cli::Command kCommands[] = {
    {"prepare", "build a pretraining corpus (RDKit conformers of small molecules) as shards + manifest", ept::cli::prepare},
    {"pretrain", "block-level denoising pretraining on a corpus (AdamW, atomic checkpoints, --resume)", ept::cli::pretrain},
    {"validate", "denoising loss of a model on a corpus's held-out molecules, beside the zero predictor", ept::cli::validate},
    {"label", "GFN2-xTB energies and forces of MD frames (optionally minus a force field) as a labelled data set", ept::cli::label},
    {"import", "a labelled data set from extended-XYZ files of DFT (or other) energies and forces", ept::cli::import_data},
    {"finetune", "finetune a model on a labelled data set (energies and forces; warm start, --resume)", ept::cli::finetune},
    {"init", "write a randomly initialised model (for tests and as a training start)", ept::cli::init_model},
    {"evaluate", "energy and forces of a molecule (SMILES, PDB, SDF/MOL) under a model", ept::cli::evaluate},
    {"info", "print a model's configuration, checksum and metadata", ept::cli::info},
    {"describe", "descriptors (atom, block, segment, molecule) of every frame of a DCD trajectory", ept::cli::describe},
};

void usage(std::ostream& out) {
  out << "usage: ept <command> [options]\n\n"
         "Equivariant Pretrained Transformer models for OpenMM. Units: Å and kJ/mol inside models.\n\ncommands:\n";
  for (const auto& c : kCommands) out << "  " << c.name << std::string(12 - std::string(c.name).size(), ' ') << c.summary << "\n";
  out << "\n`ept <command> --help` explains each command's options.\n"
         "Environment: EPT_MALLOC_TUNING=0 leaves glibc's malloc as it is (by default `ept` keeps freed memory in\n"
         "the heap: repeated evaluations of large systems are then not dominated by page faults).\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(std::cout);
    return 0;
  }
  ept::tune_allocator();
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const ept::Error& e) {
      std::cerr << "ept " << name << ": error: " << e.what() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "ept " << name << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "ept: unknown command '" << name << "'\n\n";
  usage(std::cerr);
  return 2;
}
