// See CWarpKernel.h. The AVX2 path computes exactly what the plain loop computes: the same
// integer formula, lane by lane.
#include "CWarpKernel.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MP_HAVE_AVX2_PATH 1
#endif

void mp_warp_span_plain(const uint8_t *source, long stride, uint8_t *out, long count, long sx, long sy,
                        long step_x, long step_y) {
    for (long i = 0; i < count; ++i) {
        long p = (sy >> 20) * stride + (sx >> 20);
        int fx = (int)((sx >> 12) & 255), fy = (int)((sy >> 12) & 255);
        int top = source[p] * (256 - fx) + source[p + 1] * fx;
        int bottom = source[p + stride] * (256 - fx) + source[p + stride + 1] * fx;
        out[i] = (uint8_t)((top * (256 - fy) + bottom * fy + 32768) >> 16);
        sx += step_x;
        sy += step_y;
    }
}

#ifdef MP_HAVE_AVX2_PATH
__attribute__((target("avx2"))) static void warp_span_avx2(const uint8_t *source, long stride, uint8_t *out,
                                                           long count, long sx, long sy, long step_x,
                                                           long step_y) {
    long i = 0;
    if (count >= 8) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i vx = _mm256_add_epi32(_mm256_set1_epi32((int)sx), _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)step_x)));
        __m256i vy = _mm256_add_epi32(_mm256_set1_epi32((int)sy), _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)step_y)));
        const __m256i step_x8 = _mm256_set1_epi32((int)(step_x * 8));
        const __m256i step_y8 = _mm256_set1_epi32((int)(step_y * 8));
        const __m256i row = _mm256_set1_epi32((int)stride);
        const __m256i low_byte = _mm256_set1_epi32(0xFF);
        const __m256i second_byte = _mm256_set1_epi32(0xFF0000);
        const __m256i full = _mm256_set1_epi32(256);
        const __m256i half = _mm256_set1_epi32(32768);
        const __m256i one = _mm256_set1_epi32(1);
        // The two low bytes of each 32-bit lane, packed into the first eight bytes of each half.
        const __m256i pairs = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4, 5,
                                               8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
        // The low byte of each 32-bit lane, gathered into the first four bytes of each half.
        const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8,
                                              12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        const int *top_row = (const int *)source;
        const int *bottom_row = (const int *)(source + stride);
        for (; i + 8 <= count; i += 8) {
            __m256i fx = _mm256_and_si256(_mm256_srli_epi32(vx, 12), low_byte);
            __m256i fy = _mm256_and_si256(_mm256_srli_epi32(vy, 12), low_byte);
            // Each sample and its right neighbour as a 16-bit pair (left | right << 16), from the
            // row above and the row below the sample's place.
            __m256i t_pair, b_pair;
            long first_x = (sx + step_x * i) >> 20, last_x = (sx + step_x * (i + 7)) >> 20;
            long first_y = (sy + step_y * i) >> 20, last_y = (sy + step_y * (i + 7)) >> 20;
            long left = first_x < last_x ? first_x : last_x;
            long right = first_x < last_x ? last_x : first_x;
            if (first_y == last_y && right - left <= 14) {
                // All eight on one pair of rows within 16 bytes (the usual case: warps here are
                // close to the identity): one load and one byte shuffle per row, no gather.
                const uint8_t *window = source + first_y * stride + left;
                __m256i rel = _mm256_sub_epi32(_mm256_srai_epi32(vx, 20), _mm256_set1_epi32((int)left));
                __m256i index32 = _mm256_or_si256(rel, _mm256_slli_epi32(_mm256_add_epi32(rel, one), 8));
                __m256i index_halves = _mm256_shuffle_epi8(index32, pairs);
                __m128i index = _mm256_castsi256_si128(_mm256_permute4x64_epi64(index_halves, 0x08));
                t_pair = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)window), index));
                b_pair = _mm256_cvtepu8_epi16(
                    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(window + stride)), index));
            } else {
                // Four bytes from each sample's place: the sample and its right neighbour first.
                __m256i p = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(vy, 20), row),
                                             _mm256_srai_epi32(vx, 20));
                __m256i t = _mm256_i32gather_epi32(top_row, p, 1);
                __m256i b = _mm256_i32gather_epi32(bottom_row, p, 1);
                t_pair = _mm256_or_si256(_mm256_and_si256(t, low_byte),
                                         _mm256_and_si256(_mm256_slli_epi32(t, 8), second_byte));
                b_pair = _mm256_or_si256(_mm256_and_si256(b, low_byte),
                                         _mm256_and_si256(_mm256_slli_epi32(b, 8), second_byte));
            }
            // Against (256 - fx, fx): one multiply-add each.
            __m256i weights = _mm256_or_si256(_mm256_sub_epi32(full, fx), _mm256_slli_epi32(fx, 16));
            __m256i top = _mm256_madd_epi16(t_pair, weights);
            __m256i bottom = _mm256_madd_epi16(b_pair, weights);
            __m256i sum = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(top, _mm256_sub_epi32(full, fy)),
                                                            _mm256_mullo_epi32(bottom, fy)),
                                           half);
            __m256i bytes = _mm256_shuffle_epi8(_mm256_srli_epi32(sum, 16), pick);
            uint32_t lo = (uint32_t)_mm256_extract_epi32(bytes, 0);
            uint32_t hi = (uint32_t)_mm256_extract_epi32(bytes, 4);
            memcpy(out + i, &lo, 4);
            memcpy(out + i + 4, &hi, 4);
            vx = _mm256_add_epi32(vx, step_x8);
            vy = _mm256_add_epi32(vy, step_y8);
        }
    }
    if (i < count && count >= 8) {
        // The last few as one more block of eight ending at the span's end: the samples it
        // writes again get the same values, and every position it uses is inside the span.
        warp_span_avx2(source, stride, out + count - 8, 8, sx + step_x * (count - 8), sy + step_y * (count - 8),
                       step_x, step_y);
    } else if (i < count) {
        mp_warp_span_plain(source, stride, out + i, count - i, sx + step_x * i, sy + step_y * i, step_x, step_y);
    }
}

int mp_warp_uses_avx2(void) { return __builtin_cpu_supports("avx2") ? 1 : 0; }

// Whether the AVX2 path may take this span: its 16-byte row loads need rows of 16 samples or
// more, and its positions and offsets 32-bit lanes.
static int fits_lanes(long stride, long count, long sx, long sy, long step_x, long step_y) {
    long end_x = sx + step_x * (count - 1), end_y = sy + step_y * (count - 1);
    long high_x = sx > end_x ? sx : end_x, high_y = sy > end_y ? sy : end_y;
    const long lane_limit = 1L << 31;
    return stride >= 16 && high_x < lane_limit && high_y < lane_limit && ((high_y >> 20) + 2) * stride < lane_limit;
}

void mp_warp_span(const uint8_t *source, long stride, uint8_t *out, long count, long sx, long sy, long step_x,
                  long step_y) {
    if (count > 0 && fits_lanes(stride, count, sx, sy, step_x, step_y) && mp_warp_uses_avx2()) {
        warp_span_avx2(source, stride, out, count, sx, sy, step_x, step_y);
    } else {
        mp_warp_span_plain(source, stride, out, count, sx, sy, step_x, step_y);
    }
}
#else
int mp_warp_uses_avx2(void) { return 0; }

void mp_warp_span(const uint8_t *source, long stride, uint8_t *out, long count, long sx, long sy, long step_x,
                  long step_y) {
    mp_warp_span_plain(source, stride, out, count, sx, sy, step_x, step_y);
}
#endif
