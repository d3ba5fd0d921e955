// EPTForce inside OpenMM, on the Reference and CPU platforms.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include "EPTForce.h"
#include "ept/data/atomic_file.h"
#include "ept/model/checkpoint.h"
#include "ept/model/evaluator.h"
#include "ept/chemistry/rdkit_structure.h"
#include "openmm/Context.h"
#include "openmm/OpenMMException.h"
#include "openmm/Platform.h"
#include "openmm/State.h"
#include "openmm/System.h"
#include "openmm/VerletIntegrator.h"
#include "openmm/serialization/XmlSerializer.h"
#include "test_support.h"

using namespace OpenMM;
using EPTPlugin::EPTForce;

namespace {

namespace fs = std::filesystem;

// Loads OpenMM's own plugins (the CPU platform, from the openmm wheel: not OpenMM's compiled-in default folder)
// and this project's kernels once.
class PluginEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    Platform::loadPluginsFromDirectory(EPT_OPENMM_PLUGIN_DIR);
    Platform::loadPluginLibrary(EPT_REFERENCE_PLUGIN);
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new PluginEnvironment);

// A small float64 model written to a temporary file shared by the tests, removed when the test program ends.
struct TemporaryModel {
  std::string path = (fs::temp_directory_path() / ("ept-force-test-" + std::to_string(::getpid()) + ".ept")).string();
  TemporaryModel() {
    ept::EPTModel model = ept::test::small_model();
    ept::save_checkpoint(model, path);
  }
  ~TemporaryModel() {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
};
const std::string& model_path() {
  static const TemporaryModel model;
  return model.path;
}

struct Molecule {
  ept::Structure structure;
  std::vector<Vec3> positions;  // nm
};

Molecule molecule(const std::string& smiles) {
  Molecule m{ept::structure_from_smiles(smiles), {}};
  for (const auto& p : m.structure.positions) m.positions.emplace_back(p[0] / 10, p[1] / 10, p[2] / 10);
  return m;
}

EPTForce* make_force(const ept::AtomTable& t, const std::vector<int>& atoms = {}) {
  auto* force = new EPTForce(model_path());
  std::vector<std::pair<int, int>> bonds;
  for (auto [a, b] : t.bonds) bonds.emplace_back(static_cast<int>(a), static_cast<int>(b));
  force->setChemistry(t.atomic_numbers, {}, {}, {}, {}, bonds);
  force->setAtoms(atoms);
  force->setProperty("precision", "float64");
  return force;
}

System make_system(size_t particles) {
  System system;
  for (size_t i = 0; i < particles; ++i) system.addParticle(12.0);
  return system;
}

State evaluate(Context& context, const std::vector<Vec3>& x, int types = State::Energy | State::Forces) {
  context.setPositions(x);
  return context.getState(types);
}

class EPTForceTest : public ::testing::TestWithParam<std::string> {
 protected:
  Platform& platform() { return Platform::getPlatformByName(GetParam()); }
};

TEST_P(EPTForceTest, ForcesAreFiniteDifferencesOfTheEnergy) {
  const Molecule m = molecule("CC(=O)NC(C)C(=O)NC");
  System system = make_system(m.positions.size());
  system.addForce(make_force(m.structure.table));
  VerletIntegrator integrator(0.001);
  Context context(system, integrator, platform());
  const State state = evaluate(context, m.positions);
  const double h = 1e-5;  // nm
  double err2 = 0, norm2 = 0;
  for (size_t i = 0; i < m.positions.size(); ++i)
    for (int k = 0; k < 3; ++k) {
      auto plus = m.positions, minus = m.positions;
      plus[i][k] += h;
      minus[i][k] -= h;
      const double fd = -(evaluate(context, plus, State::Energy).getPotentialEnergy() -
                          evaluate(context, minus, State::Energy).getPotentialEnergy()) / (2 * h);
      const double f = state.getForces()[i][k];
      err2 += (fd - f) * (fd - f);
      norm2 += f * f;
    }
  EXPECT_GT(norm2, 0);
  EXPECT_LT(std::sqrt(err2 / norm2), 1e-6);
}

TEST_P(EPTForceTest, EnergyEqualsTheLibrarysEvaluation) {
  const Molecule m = molecule("CCO");
  System system = make_system(m.positions.size());
  system.addForce(make_force(m.structure.table));
  VerletIntegrator integrator(0.001);
  Context context(system, integrator, platform());
  const State state = evaluate(context, m.positions);
  ept::EPTModel model = ept::load_checkpoint(model_path());
  const auto direct = ept::test::evaluate(model, ept::build_complex(m.structure.table), m.structure.positions);
  EXPECT_NEAR(state.getPotentialEnergy(), direct.energy, 1e-10 * std::max(1.0, std::abs(direct.energy)));
  for (size_t i = 0; i < m.positions.size(); ++i)
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(state.getForces()[i][k], 10 * direct.forces[i][k], 1e-8);  // /Å -> /nm
}

TEST_P(EPTForceTest, ShiftingAnAtomByABoxVectorChangesNothing) {
  Molecule m = molecule("O.O.O.CO");
  System system = make_system(m.positions.size());
  const Vec3 a(1.3, 0, 0), b(0.2, 1.25, 0), c(-0.3, 0.4, 1.35);
  system.setDefaultPeriodicBoxVectors(a, b, c);
  EPTForce* force = make_force(m.structure.table);
  force->setUsesPeriodicBoundaryConditions(true);
  system.addForce(force);
  // Spread the molecules over the box.
  const ept::Complex complex = ept::build_complex(m.structure.table);
  for (size_t i = 0; i < m.positions.size(); ++i)
    m.positions[i] += Vec3(0.35, 0.3, 0.4) * static_cast<double>(complex.block_segment[complex.atom_block[i]]);
  VerletIntegrator integrator(0.001);
  Context context(system, integrator, platform());
  const State before = evaluate(context, m.positions);
  for (size_t i = 0; i < m.positions.size(); ++i) {
    auto shifted = m.positions;
    shifted[i] += (i % 3 == 0 ? a : i % 3 == 1 ? b * -1.0 : c) + a * static_cast<double>(i % 2);
    const State after = evaluate(context, shifted);
    EXPECT_NEAR(after.getPotentialEnergy(), before.getPotentialEnergy(), 1e-9) << "atom " << i;
    for (size_t j = 0; j < m.positions.size(); ++j)
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(after.getForces()[j][k], before.getForces()[j][k], 1e-8);
  }
}

TEST_P(EPTForceTest, GlobalParameterScalesEnergyAndGivesItsDerivative) {
  const Molecule m = molecule("CC(=O)O");
  System system = make_system(m.positions.size());
  EPTForce* force = make_force(m.structure.table);
  force->setEnergyScale(2.5);
  force->setGlobalParameter("lambda_ml", 1.0);
  force->addEnergyParameterDerivative("lambda_ml");
  system.addForce(force);
  VerletIntegrator integrator(0.001);
  Context context(system, integrator, platform());
  const State full = evaluate(context, m.positions);
  context.setParameter("lambda_ml", 0.3);
  const State part = evaluate(context, m.positions, State::Energy | State::Forces | State::ParameterDerivatives);
  EXPECT_NEAR(part.getPotentialEnergy(), 0.3 * full.getPotentialEnergy(), 1e-10);
  EXPECT_NEAR(part.getForces()[0][1], 0.3 * full.getForces()[0][1], 1e-10);
  // E(λ) = λ · scale · E_model: dE/dλ = E(1).
  EXPECT_NEAR(part.getEnergyParameterDerivatives().at("lambda_ml"), full.getPotentialEnergy(), 1e-10);
  EXPECT_GT(std::abs(full.getPotentialEnergy()), 1e-8);
}

TEST_P(EPTForceTest, SubsetForceLeavesOtherAtomsAlone) {
  const Molecule ml = molecule("CCO"), other = molecule("CC");
  std::vector<Vec3> x = ml.positions;
  for (const auto& p : other.positions) x.push_back(p + Vec3(0.25, 0, 0));  // within the cutoff
  System system = make_system(x.size());
  std::vector<int> atoms;
  for (size_t i = 0; i < ml.positions.size(); ++i) atoms.push_back(static_cast<int>(i));
  system.addForce(make_force(ml.structure.table, atoms));
  VerletIntegrator integrator(0.001);
  Context context(system, integrator, platform());
  const State state = evaluate(context, x);
  double ml_force = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double norm = std::sqrt(state.getForces()[i].dot(state.getForces()[i]));
    if (i < ml.positions.size()) ml_force += norm;
    else EXPECT_EQ(norm, 0.0) << "particle " << i << " is outside the ML region";
  }
  EXPECT_GT(ml_force, 0.0);
}

TEST_P(EPTForceTest, XmlRoundTripGivesTheSameEnergyForcesAndBytes) {
  const Molecule m = molecule("c1ccccc1N");
  System system = make_system(m.positions.size());
  EPTForce* force = make_force(m.structure.table);
  force->setEnergyScale(0.75);
  force->setProperty("threads", "1");
  system.addForce(force);
  std::stringstream xml;
  XmlSerializer::serialize<System>(&system, "System", xml);
  std::unique_ptr<System> copy(XmlSerializer::deserialize<System>(xml));
  std::stringstream again;
  XmlSerializer::serialize<System>(copy.get(), "System", again);
  EXPECT_EQ(xml.str(), again.str());
  VerletIntegrator i1(0.001), i2(0.001);
  Context c1(system, i1, platform()), c2(*copy, i2, platform());
  const State s1 = evaluate(c1, m.positions), s2 = evaluate(c2, m.positions);
  EXPECT_EQ(s1.getPotentialEnergy(), s2.getPotentialEnergy());
  for (size_t i = 0; i < m.positions.size(); ++i) EXPECT_EQ(s1.getForces()[i], s2.getForces()[i]);
}

TEST_P(EPTForceTest, TwoContextsFromOneSystemRunSideBySide) {
  const Molecule m = molecule("CCN");
  System system = make_system(m.positions.size());
  system.addForce(make_force(m.structure.table));
  VerletIntegrator i1(0.0005), i2(0.0005);
  Context c1(system, i1, platform()), c2(system, i2, platform());
  c1.setPositions(m.positions);
  c2.setPositions(m.positions);
  for (int step = 0; step < 5; ++step) {
    i1.step(2);
    i2.step(2);
    const State s1 = c1.getState(State::Energy | State::Positions), s2 = c2.getState(State::Energy | State::Positions);
    EXPECT_EQ(s1.getPotentialEnergy(), s2.getPotentialEnergy());
    EXPECT_EQ(s1.getPositions()[0], s2.getPositions()[0]);
  }
}

TEST_P(EPTForceTest, BadInputGivesClearExceptions) {
  auto expect_message = [](const std::function<void()>& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no exception; expected one mentioning '" << part << "'";
    } catch (const OpenMMException& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_message([] { EPTForce force("/nonexistent/model.ept"); }, "/nonexistent/model.ept");
  const auto corrupt = fs::temp_directory_path() / ("ept-corrupt-" + std::to_string(::getpid()) + ".ept");
  ept::write_file_atomically(corrupt.string(), "EPTMODEL-not-really");
  expect_message([&] { EPTForce force(corrupt.string()); }, corrupt.string());
  fs::remove(corrupt);

  const Molecule m = molecule("CCO");
  VerletIntegrator integrator(0.001);
  {  // the System has one particle more than the chemistry describes
    System system = make_system(m.positions.size() + 1);
    system.addForce(make_force(m.structure.table));
    expect_message([&] { Context context(system, integrator, platform()); }, "chemistry was given for");
  }
  {  // an element the vocabulary lacks
    ept::AtomTable t = m.structure.table;
    t.atomic_numbers[2] = 0;
    System system = make_system(m.positions.size());
    system.addForce(make_force(t));
    expect_message([&] { Context context(system, integrator, platform()); }, "atom 2");
  }
  {  // NaN positions
    System system = make_system(m.positions.size());
    system.addForce(make_force(m.structure.table));
    Context context(system, integrator, platform());
    auto x = m.positions;
    x[4][1] = std::nan("");
    // The CPU platform checks coordinates itself ("Particle coordinate is nan"); Reference leaves it to EPTForce.
    expect_message([&] { evaluate(context, x); }, GetParam() == "CPU" ? "nan" : "particle 4");
  }
  {  // direct mode cannot give an energy derivative
    System system = make_system(m.positions.size());
    EPTForce* force = make_force(m.structure.table);
    force->setOutputMode(ept::OutputMode::Direct);
    force->setGlobalParameter("lambda_ml");
    force->addEnergyParameterDerivative("lambda_ml");
    system.addForce(force);
    expect_message([&] { Context context(system, integrator, platform()); }, "direct mode");
  }
  {  // particle indices beyond the System
    System system = make_system(m.positions.size());
    std::vector<int> atoms(m.positions.size());
    for (size_t i = 0; i < atoms.size(); ++i) atoms[i] = static_cast<int>(i) + 5;
    system.addForce(make_force(m.structure.table, atoms));
    expect_message([&] { Context context(system, integrator, platform()); }, "particles");
  }
  EPTForce force(model_path());
  expect_message([&] { force.setProperty("colour", "blue"); }, "unknown property 'colour'");
  expect_message([&] { force.setProperty("threads", "-1"); }, "threads");
  expect_message([&] { force.setEnergyScale(std::nan("")); }, "energy scale must be a finite number");
  expect_message([&] { force.setAtoms({0, 0, 1}); }, "particle 0 is given twice");
  expect_message([&] { force.getDescriptorLabels(static_cast<ept::DescriptorLevel>(9)); }, "descriptor level 9");
  expect_message([&] { force.addEnergyParameterDerivative("other"); }, "other");
}

TEST_P(EPTForceTest, VerletConservesEnergy) {
  const Molecule m = molecule("CC(=O)NC");
  System system = make_system(0);
  for (int z : m.structure.table.atomic_numbers) system.addParticle(z == 1 ? 1.008 : 12.0 + 2.0 * (z - 6));
  EPTForce* force = make_force(m.structure.table);
  force->setEnergyScale(500);  // an untrained model is nearly flat: make its forces those of a stiff molecule
  system.addForce(force);
  VerletIntegrator integrator(0.0005);  // 0.5 fs
  Context context(system, integrator, platform());
  context.setPositions(m.positions);
  context.setVelocitiesToTemperature(300, 7);
  std::vector<double> total, kinetic;
  for (int block = 0; block < 100; ++block) {
    integrator.step(20);
    const State s = context.getState(State::Energy);
    total.push_back(s.getPotentialEnergy() + s.getKineticEnergy());
    kinetic.push_back(s.getKineticEnergy());
  }
  auto stddev = [](const std::vector<double>& v) {
    double mean = 0, var = 0;
    for (double x : v) mean += x / v.size();
    for (double x : v) var += (x - mean) * (x - mean) / v.size();
    return std::sqrt(var);
  };
  const double drift = std::abs(total.back() - total.front());
  const double fluctuation = stddev(kinetic);
  std::cout << "[ figure ] 2000 Verlet steps of 0.5 fs on " << GetParam() << ": |ΔE_total| = " << drift
            << " kJ/mol, σ(E_kin) = " << fluctuation << " kJ/mol, ratio " << drift / fluctuation << "\n";
  EXPECT_GT(fluctuation, 1.0);
  EXPECT_LT(drift, 0.02 * fluctuation);
}

TEST_P(EPTForceTest, NeighbourListReuseGivesTheSameResultsAsFreshLists) {
  // Waters in a periodic box at 300 K: with a skin of 0.04 nm lists are reused for some steps, then rebuilt.
  Molecule m = molecule("O.O.O.O.O.O.CO");
  const ept::Complex complex = ept::build_complex(m.structure.table);
  for (size_t i = 0; i < m.positions.size(); ++i)
    m.positions[i] += Vec3(0.31, 0.27, 0.36) * static_cast<double>(complex.block_segment[complex.atom_block[i]]);
  std::vector<State> runs[2];
  for (int variant = 0; variant < 2; ++variant) {
    System system = make_system(m.positions.size());
    system.setDefaultPeriodicBoxVectors(Vec3(1.2, 0, 0), Vec3(0, 1.2, 0), Vec3(0, 0, 1.2));
    EPTForce* force = make_force(m.structure.table);
    force->setUsesPeriodicBoundaryConditions(true);
    force->setEnergyScale(200);
    force->setProperty("neighborSkin", variant == 0 ? "0" : "0.04");
    system.addForce(force);
    VerletIntegrator integrator(0.001);
    Context context(system, integrator, platform());
    context.setPositions(m.positions);
    context.setVelocitiesToTemperature(300, 5);
    for (int block = 0; block < 10; ++block) {
      integrator.step(10);
      runs[variant].push_back(context.getState(State::Energy | State::Forces | State::Positions));
    }
  }
  double moved = 0;
  for (size_t i = 0; i < m.positions.size(); ++i) {
    const Vec3 d = runs[0].back().getPositions()[i] - m.positions[i];
    moved = std::max(moved, std::sqrt(d.dot(d)));
  }
  EXPECT_GT(moved, 0.04) << "the atoms must move farther than the skin for the lists to matter";
  for (size_t k = 0; k < runs[0].size(); ++k) {
    EXPECT_NEAR(runs[1][k].getPotentialEnergy(), runs[0][k].getPotentialEnergy(),
                1e-10 * std::abs(runs[0][k].getPotentialEnergy()));
    for (size_t i = 0; i < m.positions.size(); ++i)
      for (int d = 0; d < 3; ++d) EXPECT_NEAR(runs[1][k].getForces()[i][d], runs[0][k].getForces()[i][d], 1e-8);
  }
}

TEST_P(EPTForceTest, DescriptorsHaveTheirShapesAndAreInvariantToRigidMotion) {
  const Molecule m = molecule("CC(=O)NC(C)C(=O)NC");
  System system = make_system(m.positions.size());
  EPTForce* force = make_force(m.structure.table);
  system.addForce(force);
  VerletIntegrator integrator(0.001);
  Context context(system, integrator, platform());
  const auto level = ept::DescriptorLevel::Block;
  EXPECT_EQ(force->getNumDescriptorRows(level), 10);  // heavy-atom blocks
  EXPECT_EQ(force->getNumDescriptorColumns(), 32);
  evaluate(context, m.positions);
  const std::vector<double> a = force->getDescriptors(context, level);
  ASSERT_EQ(a.size(), 10u * 32u);
  std::mt19937_64 rng(3);
  const auto R = ept::test::random_rotation(rng);
  std::vector<Vec3> moved;
  for (const auto& p : m.positions) {
    const auto r = ept::test::apply(R, {p[0], p[1], p[2]});
    moved.emplace_back(r[0] + 0.7, r[1] - 1.1, r[2] + 0.2);
  }
  context.setPositions(moved);
  const std::vector<double> b = force->getDescriptors(context, level);
  double scale = 0, diff = 0;
  for (size_t k = 0; k < a.size(); ++k) scale = std::max(scale, std::abs(a[k])), diff = std::max(diff, std::abs(a[k] - b[k]));
  EXPECT_GT(scale, 1e-3);
  EXPECT_LT(diff, 1e-10 * scale);
  EXPECT_EQ(force->getDescriptors(context, ept::DescriptorLevel::Molecule).size(), 32u);
  EXPECT_EQ(force->getDescriptors(context, ept::DescriptorLevel::Atom).size(), m.positions.size() * 32);
}

INSTANTIATE_TEST_SUITE_P(Platforms, EPTForceTest, ::testing::Values("Reference", "CPU"),
                         [](const auto& info) { return info.param; });

}  // namespace
