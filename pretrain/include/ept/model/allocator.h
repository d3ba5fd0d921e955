#pragma once
// Process-wide malloc settings for repeated model evaluations.
//
// A step allocates the same large tensors every time. By default glibc serves them with fresh mmaps and
// returns them on free, so the kernel zeroes every page again at each step: on large systems that cost more
// than the arithmetic (fwd+bwd per atom 2.8× slower at 5 000 atoms than at 1 000). Keeping freed memory in the
// heap removes it. Memory then stays at its peak, which an MD engine reaches every step anyway.
// The settings are process-wide, so only programs of our own apply them by default (the `ept` command, the
// benchmarks; EPT_MALLOC_TUNING=0 turns that off); an EPTForce inside a user's process applies them only when
// EPT_MALLOC_TUNING=1 asks for it.
namespace ept {

/// Applies the settings once per process (later calls do nothing) unless EPT_MALLOC_TUNING=0; returns whether
/// they are in effect.
bool tune_allocator();
/// Applies them only if EPT_MALLOC_TUNING=1.
bool tune_allocator_if_requested();

}  // namespace ept
