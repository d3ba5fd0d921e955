// Blocks, position codes and segments built from a peptide PDB, from SMILES and from plain arrays.
#include <gtest/gtest.h>

#include "ept/error.h"
#include "ept/model/graph.h"
#include "ept/data/molecule.h"
#include "ept/chemistry/rdkit_structure.h"
#include "ept/data/vocabulary.h"
#include "test_support.h"

namespace ept {
namespace {

int64_t find_atom(const AtomTable& t, int64_t residue_id, const std::string& name) {
  for (size_t i = 0; i < t.size(); ++i)
    if (t.residue_ids[i] == residue_id && t.atom_names[i] == name) return static_cast<int64_t>(i);
  ADD_FAILURE() << "no atom " << name << " in residue " << residue_id;
  return -1;
}

TEST(Molecule, PeptidePdbGivesResidueBlocksAndPositionCodes) {
  const Structure s = read_pdb(test::fixture("peptide_AGS.pdb"));
  const Complex c = build_complex(s.table);
  ASSERT_EQ(c.num_atoms(), 31);
  ASSERT_EQ(c.num_blocks(), 3);
  EXPECT_EQ(c.num_segments, 1);
  EXPECT_EQ(vocab::block_name(c.block_type[0]), "ALA");
  EXPECT_EQ(vocab::block_name(c.block_type[1]), "GLY");
  EXPECT_EQ(vocab::block_name(c.block_type[2]), "SER");
  EXPECT_TRUE(c.warnings.empty());
  const auto& t = s.table;
  auto code = [&](int64_t res, const char* name) { return c.position_code[find_atom(t, res, name)]; };
  EXPECT_EQ(code(1, "N"), vocab::kPosBackbone);
  EXPECT_EQ(code(1, "CA"), vocab::kPosA);
  EXPECT_EQ(code(1, "CB"), vocab::kPosB);
  EXPECT_EQ(code(1, "HB2"), vocab::kPosB);
  EXPECT_EQ(code(2, "HA3"), vocab::kPosA);
  EXPECT_EQ(code(3, "OG"), vocab::kPosG);
  EXPECT_EQ(code(3, "HG"), vocab::kPosG);
  EXPECT_EQ(code(3, "OXT"), vocab::kPosXT);
  EXPECT_EQ(code(3, "O"), vocab::kPosBackbone);
  // Every atom of residue k is in block k-1.
  for (size_t i = 0; i < t.size(); ++i) EXPECT_EQ(c.atom_block[i], t.residue_ids[i] - 1) << "atom " << i;

  // The peptide bond makes ALA and GLY bonded blocks; ALA and SER are not bonded.
  const Graph g = build_graph(c, s.positions, GraphOptions{AttentionMode::Sparse, 60.0, false, Box::none()});
  const int64_t ala_c = find_atom(t, 1, "C"), gly_n = find_atom(t, 2, "N"), ser_n = find_atom(t, 3, "N");
  const int64_t ala_ca = find_atom(t, 1, "CA"), ala_cb = find_atom(t, 1, "CB");
  auto type_of = [&](int64_t i, int64_t j) {
    for (int64_t p = 0; p < g.num_pairs(); ++p)
      if (g.receiver[p] == i && g.sender[p] == j) return g.edge_type[p];
    return int64_t{-1};
  };
  EXPECT_EQ(type_of(ala_c, gly_n), kEdgeBonded);
  EXPECT_EQ(type_of(gly_n, ala_c), kEdgeBonded);
  EXPECT_EQ(type_of(ala_c, ser_n), kEdgeSpatial);
  EXPECT_EQ(type_of(ala_ca, ala_cb), kEdgeIntraBlock);
  EXPECT_EQ(type_of(ala_ca, ala_ca), kEdgeSelf);
  EXPECT_EQ(type_of(ala_ca, c.num_atoms()), kEdgeGlobal);
}

TEST(Molecule, SmilesGivesHeavyAtomBlocksWithTheirHydrogens) {
  const Structure s = structure_from_smiles("CCO");
  const Complex c = build_complex(s.table);
  ASSERT_EQ(c.num_atoms(), 9);
  ASSERT_EQ(c.num_blocks(), 3);
  EXPECT_EQ(c.num_segments, 1);
  EXPECT_EQ(vocab::block_name(c.block_type[0]), "C");
  EXPECT_EQ(vocab::block_name(c.block_type[1]), "C");
  EXPECT_EQ(vocab::block_name(c.block_type[2]), "O");
  std::vector<int> size(3, 0);
  for (auto b : c.atom_block) ++size[b];
  EXPECT_EQ(size, (std::vector<int>{4, 3, 2}));  // CH3, CH2, OH
  for (auto p : c.position_code) EXPECT_EQ(p, vocab::kPosSmall);
  EXPECT_EQ(c.atom_type[0], vocab::atom_type(6));
  EXPECT_EQ(s.positions.size(), 9u);
}

TEST(Molecule, DisconnectedMoleculesAreSeparateSegments) {
  const Complex c = build_complex(structure_from_smiles("CCO.O.[Na+]").table);
  EXPECT_EQ(c.num_segments, 3);
  EXPECT_EQ(c.num_blocks(), 5);
  EXPECT_EQ(c.block_segment, (std::vector<int64_t>{0, 0, 0, 1, 2}));
}

// ACE-ALA-XYZ-NME in chain A, then a ligand and two waters.
AtomTable mixed_system() {
  AtomTable t;
  auto add = [&](int z, const char* atom, const char* res, int64_t id, const char* chain) {
    t.atomic_numbers.push_back(z);
    t.atom_names.push_back(atom);
    t.residue_names.push_back(res);
    t.residue_ids.push_back(id);
    t.chain_ids.push_back(chain);
    return static_cast<int64_t>(t.size()) - 1;
  };
  const int64_t ace_c = add(6, "C", "ACE", 1, "A"), ace_o = add(8, "O", "ACE", 1, "A"), ace_ch3 = add(6, "CH3", "ACE", 1, "A");
  const int64_t n = add(7, "N", "ALA", 2, "A"), ca = add(6, "CA", "ALA", 2, "A"), c = add(6, "C", "ALA", 2, "A");
  const int64_t x1 = add(7, "N1", "XYZ", 3, "A"), x2 = add(6, "C1", "XYZ", 3, "A");
  const int64_t nme_n = add(7, "N", "NME", 4, "A"), nme_c = add(6, "C", "NME", 4, "A");
  const int64_t l1 = add(6, "C1", "LIG", 5, "B"), l2 = add(8, "O1", "LIG", 5, "B"), lh = add(1, "H1", "LIG", 5, "B");
  const int64_t w1 = add(8, "O", "HOH", 6, "W"), w1h = add(1, "H1", "HOH", 6, "W");
  const int64_t w2 = add(8, "O", "HOH", 7, "W"), w2h = add(1, "H1", "HOH", 7, "W");
  t.bonds = {{ace_c, ace_o}, {ace_c, ace_ch3}, {ace_c, n}, {n, ca}, {ca, c}, {c, x1}, {x1, x2}, {x2, nme_n},
             {nme_n, nme_c}, {l1, l2}, {l1, lh}, {w1, w1h}, {w2, w2h}};
  return t;
}

TEST(Molecule, UnknownResiduesCapsLigandsAndWater) {
  const Complex c = build_complex(mixed_system());
  std::vector<std::string> names;
  for (auto type : c.block_type) names.push_back(vocab::block_name(type));
  // ACE: C, O, CH3 blocks; ALA; XYZ as the unknown block; NME: N, C; LIG: C (with H), O; two waters (O).
  EXPECT_EQ(names, (std::vector<std::string>{"C", "O", "C", "ALA", "<unknown>", "N", "C", "C", "O", "O", "O"}));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("XYZ"), std::string::npos);
  // Chain A (caps included) is one segment; the ligand and each water are their own.
  EXPECT_EQ(c.block_segment, (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3}));
  EXPECT_EQ(c.num_segments, 4);
  EXPECT_EQ(c.atom_block[12], c.atom_block[10]);  // the ligand's H joins its carbon
}

TEST(Molecule, BadArraysRaiseErrorsNamingTheProblem) {
  AtomTable t;
  t.atomic_numbers = {6, 0, 8};
  try {
    build_complex(t);
    FAIL() << "no error for atomic number 0";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("atom 1"), std::string::npos) << e.what();
  }
  t.atomic_numbers = {6, 6, 200};
  EXPECT_THROW(build_complex(t), InputError);
  t.atomic_numbers = {6, 6, 8};
  t.residue_names = {"ALA", "ALA"};
  try {
    build_complex(t);
    FAIL() << "no error for a short residue_names";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("residue_names"), std::string::npos) << e.what();
  }
  t.residue_names.clear();
  t.bonds = {{0, 3}};
  try {
    build_complex(t);
    FAIL() << "no error for a bond to a missing atom";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bond 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(build_complex(AtomTable{}), InputError);
  EXPECT_THROW(read_pdb("/nonexistent/file.pdb"), InputError);
  EXPECT_THROW(structure_from_smiles("C1CC"), InputError);
}

}  // namespace
}  // namespace ept
