#pragma once
// Process-wide malloc settings for repeated model evaluations.
//
// A step allocates the same large tensors every time. By default glibc serves them with fresh mmaps and
// returns them on free, so the kernel zeroes every page again at each step: on large systems that cost more
// than the arithmetic (fwd+bwd per atom 2.8× slower at 5 000 atoms than at 1 000). Keeping freed memory in the
// heap removes it. Memory then stays at its peak, which an MD engine reaches every step anyway.
// Set EPT_MALLOC_TUNING=0 in the environment to leave malloc as it is.
namespace ept {

/// Applies the settings once per process (later calls do nothing); returns whether they are in effect.
bool tune_allocator();

}  // namespace ept
