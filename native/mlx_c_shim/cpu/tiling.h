// How both matrix-vector kernels (qmv_kernel.h, qmv_vnni.cpp) walk a call's outputs in tiles. Measured on AVX-512
// and AVX2: one row of x is fastest four columns at a time (independent accumulator chains); more rows are fastest
// four rows to a column, sharing each weight's unpacking, with the columns walked in blocks that stay in L1 while
// every tile of rows passes over them. Each output comes from one tile, computed the same way whatever the tile's
// size, so the walk never changes a result: a row gets the same bits alone and in a batch.
#pragma once
#include "qmv.h"

namespace mlxs::cpu {

// Rows of W per cache block: 16 rows of a 4-bit K=2048 matrix are 16 KiB, in L1 while every tile of x passes.
constexpr int TILE_COLUMNS = 16;
// Rows of x per block: 32 rows of K=2048 floats are 256 KiB, in L2 while a column block of W passes over them.
constexpr int TILE_ROWS = 32;

// Columns [n0, n1) of every row of x, through Tiles::tile<BITS, rows, columns>(args, m0, n0).
template <class Tiles, int BITS>
void walk_tiles(const QmvArgs& a, int n0, int n1) {
  if (a.M == 1) {
    int n = n0;
    for (; n + 4 <= n1; n += 4) Tiles::template tile<BITS, 1, 4>(a, 0, n);
    for (; n < n1; n++) Tiles::template tile<BITS, 1, 1>(a, 0, n);
    return;
  }
  for (int mb = 0; mb < a.M; mb += TILE_ROWS) {
    const int me = mb + TILE_ROWS < a.M ? mb + TILE_ROWS : a.M;
    for (int nb = n0; nb < n1; nb += TILE_COLUMNS) {
      const int ne = nb + TILE_COLUMNS < n1 ? nb + TILE_COLUMNS : n1;
      int m = mb;
      for (; m + 4 <= me; m += 4)
        for (int n = nb; n < ne; n++) Tiles::template tile<BITS, 4, 1>(a, m, n);
      for (int n = nb; n < ne; n++) {
        switch (me - m) {
          case 3: Tiles::template tile<BITS, 3, 1>(a, m, n); break;
          case 2: Tiles::template tile<BITS, 2, 1>(a, m, n); break;
          case 1: Tiles::template tile<BITS, 1, 1>(a, m, n); break;
          default: break;
        }
      }
    }
  }
}

} // namespace mlxs::cpu
