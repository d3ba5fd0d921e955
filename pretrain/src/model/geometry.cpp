#include "ept/model/geometry.h"

#include <cstring>
#include <limits>

namespace ept {

torch::Tensor envelope(const torch::Tensor& s) {
  // The polynomial of min(s, 1): u(1) = u'(1) = 0, so this is u(s) with 0 beyond 1 and a gradient of exactly 0
  // there. (Selecting 0 with `where` instead evaluated s⁷ for far pairs: in float32 it overflows, and inf · 0 in
  // the backward pass made every force NaN once one atom was 10⁶ nm away.)
  const auto c = s.clamp_max(1.0);
  const auto c5 = c.pow(5);
  return 1 - 21 * c5 + 35 * c5 * c - 15 * c5 * c * c;
}

torch::Tensor radial_basis(const torch::Tensor& r, double cutoff, int64_t num_basis) {
  const auto s = r / cutoff;
  const auto centers = torch::linspace(0, 1, num_basis, r.options());
  const double width = 1.0 / static_cast<double>(num_basis - 1);
  const auto z = (s.unsqueeze(-1) - centers) / width;
  return envelope(s).unsqueeze(-1) * torch::exp(-0.5 * z * z);
}

static_assert(sizeof(Vec3) == 3 * sizeof(double), "Vec3 must be three packed doubles");

torch::Tensor vec3_tensor(const std::vector<Vec3>& positions, torch::Dtype dtype) {
  auto t = torch::empty({static_cast<int64_t>(positions.size()), 3}, torch::kFloat64);
  std::memcpy(t.data_ptr<double>(), positions.data(), positions.size() * sizeof(Vec3));
  return t.to(dtype);
}

torch::Tensor all_positions(const Batch& batch, const torch::Tensor& real_positions) {
  const auto unwrapped = real_positions + batch.unwrap;
  auto centroid = torch::zeros({batch.num_segments, 3}, real_positions.options())
                      .index_add(0, batch.real_segment, unwrapped);
  centroid = centroid / batch.segment_size.unsqueeze(-1);
  return torch::cat({real_positions, centroid}, 0);
}

torch::Tensor DenseLayout::pad(const torch::Tensor& t) const {
  if (complexes == 1) return t.unsqueeze(0);  // one complex fills its row: the slots are the atoms
  auto shape = t.sizes().vec();
  shape[0] = complexes * width;
  auto padded = torch::zeros(shape, t.options()).index_copy(0, slot, t);
  shape[0] = width;
  shape.insert(shape.begin(), complexes);
  return padded.view(shape);
}

torch::Tensor DenseLayout::unpad(const torch::Tensor& t) const {
  if (complexes == 1) return t.squeeze(0);
  auto shape = t.sizes().vec();
  shape.erase(shape.begin());
  shape[0] = complexes * width;
  return t.reshape(shape).index_select(0, slot);
}

DenseLayout dense_layout(const Batch& b, const torch::Tensor& x) {
  DenseLayout layout;
  layout.complexes = b.num_complexes;
  const auto complex = b.block_complex.index_select(0, b.atom_block);  // [A]
  const auto counts = torch::bincount(complex, {}, b.num_complexes);
  layout.width = counts.max().item<int64_t>();
  // Atoms keep their batch order within a complex: the position of atom a among its complex's atoms.
  const auto order = std::get<1>(torch::sort(complex, /*stable=*/std::optional<bool>(true), /*dim=*/0));
  const auto start = counts.cumsum(0) - counts;
  auto local = torch::empty_like(complex);
  local.index_put_({order}, torch::arange(complex.size(0), complex.options()) -
                                start.index_select(0, complex.index_select(0, order)));
  layout.slot = complex * layout.width + local;
  layout.pair = layout.slot.index_select(0, b.receiver) * layout.width + local.index_select(0, b.sender);
  // r = 0 on the diagonal: the clamp keeps √ differentiable there, as for self pairs.
  const auto xp = layout.pad(x);  // [complexes, width, 3]
  auto r = (xp.unsqueeze(2) - xp.unsqueeze(1)).pow(2).sum(-1).clamp_min(1e-20).sqrt();
  if (layout.complexes * layout.width > complex.size(0)) {
    const auto empty = layout.pad(torch::ones({complex.size(0)}, x.options().dtype(torch::kBool))).logical_not();
    r = r.masked_fill(empty.unsqueeze(1), std::numeric_limits<double>::infinity());
  }
  layout.distance = r;
  return layout;
}

PairGeometry pair_geometry(const Batch& batch, const torch::Tensor& positions, double cutoff, int64_t num_basis) {
  PairGeometry g;
  g.vector = positions.index_select(0, batch.receiver) - positions.index_select(0, batch.sender) + batch.shift;
  // Self pairs have r = 0 exactly: the clamp keeps √ differentiable there (its gradient is zero).
  g.distance = g.vector.pow(2).sum(-1).clamp_min(1e-20).sqrt();
  g.basis = radial_basis(g.distance, cutoff, num_basis);
  g.weight = 1 + batch.enveloped * (envelope(g.distance / cutoff) - 1);
  return g;
}

}  // namespace ept
