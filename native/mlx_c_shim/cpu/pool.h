// A small persistent thread pool for the CPU kernels. The calling thread (MLX's CPU stream thread) works too,
// so a pool of n threads starts n - 1. Idle workers spin briefly, then sleep on a futex (std::atomic::wait):
// on a 2-core machine a spinning worker would take the core the JS thread needs to build the next graph.
#pragma once
#include <functional>

namespace mlxs::cpu {

// Threads the kernels may use, the caller included (1: run on the caller only).
void set_threads(int n);
int threads();
// How long an idle worker spins for the next call before it sleeps (µs; 0: sleeps at once).
void set_spin_us(int us);

// Runs body(i) for i in [0, n) across the pool and the caller; returns when every index is done.
void parallel_for(int n, const std::function<void(int)>& body);

} // namespace mlxs::cpu
