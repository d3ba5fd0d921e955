#pragma once
// Block-level denoising (shared/EPT-SPEC.md): perturb a clean conformation, then read the model's per-atom
// force prediction f out per block and compare with the noise. Three objectives: atom-level (each atom its own
// Gaussian), block translation, and complete block (translation + IGSO(3) rotation about the block centroid).
#include <torch/types.h>

#include <random>
#include <vector>

#include "ept/training/igso3.h"
#include "ept/data/molecule.h"

namespace ept {

enum class Objective { Atom, BlockTranslation, CompleteBlock };

/// "atom", "translation" or "complete"; InputError naming the word otherwise.
Objective objective_from_name(const std::string& name);

struct NoiseConfig {
  Objective objective = Objective::CompleteBlock;
  double sigma_translation = 0.04;  // Å; also the per-atom σ of the atom-level objective
  double sigma_rotation = 0.1;      // IGSO(3) σ
};

/// A perturbed conformation and its targets. Per-block arrays follow the complex's block order.
struct Perturbation {
  std::vector<Vec3> noisy;                // x̃, Å, centred on the mean of its atoms
  std::vector<Vec3> atom_target;          // atom-level objective: −ε_i
  std::vector<Vec3> translation_target;   // (c_b − c̃_b) / σ_tr, in the frame of x̃
  std::vector<Vec3> rotation_target;      // −w_b
  std::vector<uint8_t> rotatable;         // the block's inertia tensor is invertible (≥ 2 non-collinear atoms)
};

class Noise {
 public:
  explicit Noise(const NoiseConfig& config);
  const NoiseConfig& config() const { return config_; }
  /// Perturbs `clean` (Å) of `complex`.
  Perturbation perturb(const Complex& complex, const std::vector<Vec3>& clean, std::mt19937_64& rng) const;

 private:
  NoiseConfig config_;
  IGSO3 igso3_;
};

/// Per-block read-outs of per-atom predictions f [R, 3] at the noisy positions x̃ [R, 3] (same dtype):
/// t̂_b = mean_{i∈b} f_i and ω̂_b = I_b⁻¹ Σ_{i∈b} r̃_i × f_i with r̃_i = x̃_i − c̃_b, I_b = Σ(|r̃|² 1 − r̃ r̃ᵀ).
/// `atom_block` [R] int64; returns {t̂ [B, 3], ω̂ [B, 3]}, ω̂ zero for singular blocks.
std::pair<torch::Tensor, torch::Tensor> block_readout(const torch::Tensor& f, const torch::Tensor& noisy,
                                                      const torch::Tensor& atom_block, int64_t num_blocks,
                                                      const torch::Tensor& rotatable);

/// The objective's loss for one batch: MSE(t̂, s_tr) + MSE(ω̂, s_rot) over rotatable blocks (complete),
/// MSE(t̂, s_tr) (translation), or MSE(f, −ε) (atom-level). Targets as tensors of the same dtype.
struct DenoisingTargets {
  torch::Tensor atom, translation, rotation, rotatable;  // [R,3], [B,3], [B,3], [B] bool
};
torch::Tensor denoising_loss(Objective objective, const torch::Tensor& f, const torch::Tensor& noisy,
                             const torch::Tensor& atom_block, int64_t num_blocks, const DenoisingTargets& targets);

}  // namespace ept
