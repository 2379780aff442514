// The one inner loop of the renderer that Swift cannot make fast: bilinear resampling along a row
// span of a piecewise-affine warp. x86-64 CPUs with AVX2 gather eight samples at once; every other
// CPU runs the plain loop. Both give the same bytes.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Writes `count` samples to `out`: sample i is the bilinear sample of the 8-bit plane `source`
/// (row stride `stride`) at (sx + i * step_x, sy + i * step_y), positions in fixed point with 20
/// fractional bits, weights rounded to 8 bits. The caller guarantees that every position lies at
/// least two samples inside the plane's right and bottom edges and at or after its left and top
/// edges. Spans whose positions do not fit 32-bit lanes, or on rows under 16 samples (the fast
/// path loads 16 bytes of a row at once), take the plain loop.
void mp_warp_span(const uint8_t *source, long stride, uint8_t *out, long count, long sx, long sy, long step_x,
                  long step_y);

/// The same, always by the plain loop (for tests).
void mp_warp_span_plain(const uint8_t *source, long stride, uint8_t *out, long count, long sx, long sy,
                        long step_x, long step_y);

/// 1 when `mp_warp_span` uses AVX2 on this CPU.
int mp_warp_uses_avx2(void);

#ifdef __cplusplus
}
#endif
