// The library's own PDB reader and element table: records, elements, alternate locations, models, CONECT and
// proximity bonds, and named errors for bad lines.
#include <gtest/gtest.h>

#include <set>

#include "ept/data/elements.h"
#include "ept/data/structure_io.h"
#include "ept/error.h"
#include "test_support.h"

namespace ept {
namespace {

// An ATOM/HETATM record in the PDB format's columns.
std::string atom(const char* record, int serial, const char* name, char altloc, const char* residue, char chain,
                 int residue_id, double x, double y, double z, const char* element) {
  char line[96];
  std::snprintf(line, sizeof line, "%-6s%5d %-4s%c%3s %c%4d    %8.3f%8.3f%8.3f  1.00  0.00          %2s", record,
                serial, name, altloc, residue, chain, residue_id, x, y, z, element);
  return std::string(line) + "\n";
}

std::set<std::array<int64_t, 2>> bond_set(const AtomTable& t) { return {t.bonds.begin(), t.bonds.end()}; }

std::string error_of(const std::string& text) {
  try {
    parse_pdb(text, "bad.pdb");
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

TEST(Elements, SymbolsAndRadiiRoundTrip) {
  EXPECT_EQ(elements::symbol(6), "C");
  EXPECT_EQ(elements::symbol(118), "Og");
  for (int z = 1; z <= 118; ++z) EXPECT_EQ(elements::atomic_number(elements::symbol(z)), z) << z;
  EXPECT_EQ(elements::atomic_number("CL"), 17);
  EXPECT_EQ(elements::atomic_number("Xx"), 0);
  EXPECT_DOUBLE_EQ(elements::covalent_radius(6), 0.76);
  EXPECT_THROW(elements::symbol(0), InputError);
  EXPECT_THROW(elements::covalent_radius(119), InputError);
}

TEST(StructureIo, WaterWithProximityBondsAndNoHydrogenHydrogenBond) {
  const std::string text = atom("HETATM", 1, "O", ' ', "HOH", 'W', 1, 0, 0, 0, "O") +
                           atom("HETATM", 2, "H1", ' ', "HOH", 'W', 1, 0.957, 0, 0, "H") +
                           atom("HETATM", 3, "H2", ' ', "HOH", 'W', 1, -0.24, 0.927, 0, "H") + "END\n";
  const Structure s = parse_pdb(text, "water");
  ASSERT_EQ(s.table.size(), 3u);
  EXPECT_EQ(s.table.atomic_numbers, (std::vector<int>{8, 1, 1}));
  EXPECT_EQ(s.table.atom_names[1], "H1");
  EXPECT_EQ(s.table.residue_names[0], "HOH");
  EXPECT_EQ(s.table.chain_ids[0], "W");
  EXPECT_DOUBLE_EQ(s.positions[1][0], 0.957);
  // H–H is 1.5 Å, within 2 × 0.31 + 0.45 of each other, yet never bonded.
  EXPECT_EQ(bond_set(s.table), (std::set<std::array<int64_t, 2>>{{0, 1}, {0, 2}}));
}

TEST(StructureIo, ElementsFromNamesAltlocsModelsAndConect) {
  // No element columns: "CA" in ATOM is carbon, "CA" in HETATM calcium, "HG11" in ATOM hydrogen, "NA" in residue
  // "NA" sodium, "Cl" chlorine.
  auto bare = [](std::string line) { return line.substr(0, 76) + "\n"; };
  std::string text = bare(atom("ATOM", 1, "CA", ' ', "ALA", 'A', 1, 0, 0, 0, "")) +
                     bare(atom("ATOM", 2, "HG11", ' ', "VAL", 'A', 2, 5, 0, 0, "")) +
                     "HETATM    3 CA    CA B   3      10.000   0.000   0.000  1.00  0.00\n" +
                     bare(atom("ATOM", 8, "NA", ' ', "NA", 'D', 5, 40, 0, 0, "")) +  // an ion, its own residue
                     bare(atom("ATOM", 9, "Cl", ' ', "Cl", 'D', 6, 50, 0, 0, ""));   // mixed case
  // Two alternate locations: only the first (A) is kept.
  text += atom("HETATM", 4, "C1", 'A', "LIG", 'C', 4, 20, 0, 0, "C") + atom("HETATM", 5, "C1", 'B', "LIG", 'C', 4, 20.3, 0, 0, "C");
  // A CONECT bond far beyond any covalent radius is kept; atoms after the first model are not read.
  text += atom("HETATM", 6, "C2", ' ', "LIG", 'C', 4, 30, 0, 0, "C") + "CONECT    4    6\nENDMDL\n" +
          atom("HETATM", 7, "C3", ' ', "LIG", 'C', 4, 31, 0, 0, "C");
  const Structure s = parse_pdb(text, "mixed");
  EXPECT_EQ(s.table.atomic_numbers, (std::vector<int>{6, 1, 20, 11, 17, 6, 6}));
  EXPECT_EQ(bond_set(s.table), (std::set<std::array<int64_t, 2>>{{5, 6}}));
}

TEST(StructureIo, IonsAndWatersTakeNoBondsFromOtherResiduesAndWideFilesRead) {
  // Na⁺ 2.4 Å from a water oxygen (within 1.66 + 0.66 + 0.45 Å): not bonded; the water's own O–H bonds are.
  auto tip3 = [](std::string line) { return line.replace(20, 1, "3"); };  // CHARMM's 4-letter name: column 21
  const std::string text = atom("HETATM", 1, "NA", ' ', "NA", 'I', 1, 0, 0, 0, "NA") +
                           tip3(atom("HETATM", 2, "OH2", ' ', "TIP", 'W', 2, 2.4, 0, 0, "O")) +
                           tip3(atom("HETATM", 3, "H1", ' ', "TIP", 'W', 2, 2.9, 0.8, 0, "H")) +
                           tip3(atom("HETATM", 4, "H2", ' ', "TIP", 'W', 2, 2.9, -0.8, 0, "H"));
  Structure s = parse_pdb(text, "ion");
  EXPECT_EQ(s.table.residue_names[1], "TIP3");
  EXPECT_EQ(bond_set(s.table), (std::set<std::array<int64_t, 2>>{{1, 2}, {1, 3}}));
  // Residue numbers past 9 999 and serials past 99 999 in hexadecimal (as OpenMM writes them), CONECT after the
  // first model's ENDMDL, and an atom whose only locations are B and C (its B kept).
  std::string wide = atom("HETATM", 1, "C1", ' ', "LIG", 'A', 1, 0, 0, 0, "C");
  wide.replace(6, 5, "186A0");   // serial 100 000
  wide.replace(22, 4, "2710");   // residue 10 000 reads as 2710 in decimal: still a number
  auto residue_2710 = [](std::string line) { return line.replace(22, 4, "2710"); };
  const std::string second = residue_2710(atom("HETATM", 2, "C2", 'B', "LIG", 'A', 1, 3, 0, 0, "C")) +
                             residue_2710(atom("HETATM", 3, "C2", 'C', "LIG", 'A', 1, 3.2, 0, 0, "C"));
  s = parse_pdb(wide + second + "ENDMDL\nCONECT186A0    2\nEND\n", "wide");
  ASSERT_EQ(s.table.size(), 2u);
  EXPECT_DOUBLE_EQ(s.positions[1][0], 3.0);
  EXPECT_EQ(bond_set(s.table), (std::set<std::array<int64_t, 2>>{{0, 1}}));
  std::string hex_residue = atom("ATOM", 1, "CA", ' ', "GLY", 'A', 1, 0, 0, 0, "C");
  hex_residue.replace(22, 4, "A000");
  EXPECT_EQ(parse_pdb(hex_residue, "hex").table.residue_ids[0], 0xA000);
}

TEST(StructureIo, PeptideFixtureHasTheCovalentBondsOfThreeResidues) {
  const Structure s = read_pdb(test::fixture("peptide_AGS.pdb"));
  ASSERT_EQ(s.table.size(), 31u);
  // A linear peptide is a tree: 31 atoms, 30 bonds; each hydrogen has exactly one bond.
  EXPECT_EQ(s.table.bonds.size(), 30u);
  std::vector<int> degree(31, 0);
  for (auto [a, b] : s.table.bonds) ++degree[a], ++degree[b];
  for (size_t i = 0; i < 31; ++i)
    if (s.table.atomic_numbers[i] == 1) EXPECT_EQ(degree[i], 1) << "atom " << i;
}

TEST(StructureIo, BadLinesGiveNamedErrors) {
  EXPECT_NE(error_of("REMARK nothing here\n").find("holds no atoms"), std::string::npos);
  std::string bad_x = atom("ATOM", 1, "CA", ' ', "ALA", 'A', 1, 0, 0, 0, "C");
  bad_x.replace(30, 8, "   1.2.3");
  const std::string message = error_of(bad_x);
  EXPECT_NE(message.find("bad.pdb' line 1"), std::string::npos) << message;
  EXPECT_NE(message.find("1.2.3"), std::string::npos) << message;
  EXPECT_NE(error_of(atom("ATOM", 1, "CA", ' ', "ALA", 'A', 1, 0, 0, 0, "Qq")).find("'Qq'"), std::string::npos);
  EXPECT_NE(error_of("ATOM      1 1234 ALA A   1       0.000   0.000   0.000\n").find("none readable from the atom name"),
            std::string::npos);
  try {
    read_pdb(test::fixture(""));
    FAIL() << "no error for a directory";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ept
