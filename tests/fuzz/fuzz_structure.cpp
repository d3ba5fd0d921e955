// PDB and SDF/MOL files through RDKit and the block builder: a Complex or an InputError. The first byte picks the
// format.
#include "ept/error.h"
#include "ept/data/molecule.h"
#include "ept/chemistry/rdkit_structure.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool pdb = data[0] % 2 == 0;
  const std::string path = ept::fuzz::as_file(data + 1, size - 1, pdb ? ".pdb" : ".sdf");
  try {
    const ept::Structure s = pdb ? ept::read_pdb(path) : ept::read_mol_file(path);
    ept::build_complex(s.table);
  } catch (const ept::Error&) {
  }
  return 0;
}
