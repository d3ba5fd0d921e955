// The cell list finds exactly the pairs brute force finds: isolated systems and random periodic boxes.
#include <gtest/gtest.h>

#include <set>
#include <random>
#include <tuple>

#include "ept/error.h"
#include "ept/model/neighbors.h"

namespace ept {
namespace {

using Key = std::tuple<int64_t, int64_t, long, long, long>;

Key key(int64_t i, int64_t j, const Vec3& s) {
  return {i, j, std::lround(s[0] * 1e6), std::lround(s[1] * 1e6), std::lround(s[2] * 1e6)};
}

std::set<Key> brute_force(const std::vector<Vec3>& x, double cutoff, const Box& box) {
  std::set<Key> out;
  const int range = box.periodic ? 2 : 0;
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = i + 1; j < x.size(); ++j) {
      // Search every lattice translation within ±2 of the rounded one: far more than the minimum image needs.
      const Vec3 d{x[i][0] - x[j][0], x[i][1] - x[j][1], x[i][2] - x[j][2]};
      const Vec3 near = minimum_image_shift(d, box);
      for (int a = -range; a <= range; ++a)
        for (int b = -range; b <= range; ++b)
          for (int c = -range; c <= range; ++c) {
            Vec3 s = near;
            for (int k = 0; k < 3; ++k)
              s[k] += a * box.vectors[0][k] + b * box.vectors[1][k] + c * box.vectors[2][k];
            const double dx = d[0] + s[0], dy = d[1] + s[1], dz = d[2] + s[2];
            if (dx * dx + dy * dy + dz * dz < cutoff * cutoff) out.insert(key(i, j, s));
          }
    }
  return out;
}

std::set<Key> cell_list(const std::vector<Vec3>& x, double cutoff, const Box& box) {
  std::set<Key> out;
  for (const auto& p : neighbor_pairs(x, cutoff, box)) {
    EXPECT_LT(p.i, p.j);
    EXPECT_TRUE(out.insert(key(p.i, p.j, p.shift)).second) << "pair found twice: " << p.i << "," << p.j;
  }
  return out;
}

std::vector<Vec3> random_points(std::mt19937_64& rng, size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<Vec3> x(n);
  for (auto& p : x) p = {u(rng), u(rng), u(rng)};
  return x;
}

TEST(Neighbors, IsolatedSystemMatchesBruteForce) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 5; ++trial) {
    const auto x = random_points(rng, 300, -12.0, 9.0);
    const auto expected = brute_force(x, 4.0, Box::none());
    EXPECT_GT(expected.size(), 100u);
    EXPECT_EQ(cell_list(x, 4.0, Box::none()), expected);
  }
}

TEST(Neighbors, RandomTriclinicBoxesMatchBruteForce) {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 20; ++trial) {
    // OpenMM's reduced triclinic form: a along x, b in the xy plane, |b_x|, |c_x| <= a_x/2, |c_y| <= b_y/2.
    const double ax = 14 + 10 * u(rng), by = 14 + 10 * u(rng), cz = 14 + 10 * u(rng);
    const Vec3 a{ax, 0, 0}, b{(u(rng) - 0.5) * ax, by, 0}, c{(u(rng) - 0.5) * ax, (u(rng) - 0.5) * by, cz};
    const Box box = Box::triclinic(a, b, c);
    double min_width = std::min({box.width(0), box.width(1), box.width(2)});
    const double cutoff = std::min(5.0, 0.49 * min_width);
    // Points partly outside the box: wrapping must be handled.
    const auto x = random_points(rng, 250, -30.0, 40.0);
    const auto expected = brute_force(x, cutoff, box);
    EXPECT_GT(expected.size(), 10u);
    EXPECT_EQ(cell_list(x, cutoff, box), expected) << "trial " << trial;
  }
}

TEST(Neighbors, ThinBoxesUseImagesInsteadOfCells) {
  // Widths between 2 and 3 cutoffs: fewer than three cells per dimension.
  std::mt19937_64 rng(3);
  const Box box = Box::triclinic({11, 0, 0}, {3, 10.5, 0}, {-4, 2, 12});
  const auto x = random_points(rng, 120, 0.0, 11.0);
  EXPECT_EQ(cell_list(x, 4.5, box), brute_force(x, 4.5, box));
}

// Cells exist only where atoms are: clusters a million Å apart (and a coordinate of 1e9 Å, 1e8 nm) give the
// pairs brute force gives instead of a grid over the whole spread (which ran out of memory: std::bad_alloc).
TEST(Neighbors, FarApartClustersNeedNoGridOverTheGap) {
  std::mt19937_64 rng(11);
  std::vector<Vec3> x = random_points(rng, 60, 0, 12);
  for (const Vec3& far : {Vec3{1e4, 1e4, 1e4}, Vec3{1e7, -1e7, 1e7}, Vec3{1e9, 0, 0}}) {
    const auto cluster = random_points(rng, 8, 0, 6);
    for (const auto& p : cluster) x.push_back({p[0] + far[0], p[1] + far[1], p[2] + far[2]});
  }
  EXPECT_EQ(cell_list(x, 5.0, Box::none()), brute_force(x, 5.0, Box::none()));
  // A large periodic box with few atoms: no grid over its volume either.
  const Box big = Box::orthorhombic(1e6, 1e6, 1e6);
  std::vector<Vec3> y = random_points(rng, 40, 0, 10);
  y.push_back({1e6 - 1.0, 2.0, 3.0});  // the periodic image of this one is near the others
  EXPECT_EQ(cell_list(y, 5.0, big), brute_force(y, 5.0, big));
}

TEST(Neighbors, BadInputsAreNamed) {
  const std::vector<Vec3> x{{0, 0, 0}, {1, 0, 0}};
  EXPECT_THROW(neighbor_pairs(x, 6.0, Box::orthorhombic(10, 10, 10)), InputError);  // cutoff > half box
  EXPECT_THROW(neighbor_pairs(x, 0.0, Box::none()), InputError);
  EXPECT_THROW(neighbor_pairs(x, 2.0, Box::triclinic({1, 0, 0}, {2, 0, 0}, {0, 0, 1})), InputError);
  const std::vector<Vec3> bad{{0, 0, 0}, {std::nan(""), 0, 0}};
  try {
    neighbor_pairs(bad, 2.0, Box::none());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("atom 1"), std::string::npos);
  }
}

}  // namespace
}  // namespace ept
