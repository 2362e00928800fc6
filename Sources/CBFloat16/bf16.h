#ifndef RNN_BF16_H
#define RNN_BF16_H
/* Training products in bfloat16 (rnn-fit --bf16): operands rounded to bfloat16 (round to nearest
   even), products summed in fp32 by AVX512_BF16's VDPBF16PS, which does 32 multiply-adds per
   instruction where an fp32 FMA does 16 (measured on a Zen 5 EPYC: 234 against 117 GFLOP/s per
   core). Swift cannot express that instruction, so this header holds the kernel and its packing
   as static inline C with a target attribute (compiled by Swift's Clang importer; nothing to link).
   Call nothing here unless rnn_bf16_supported() returns 1.

   Layouts (every element a uint32 holding a pair of bfloat16 along k: low half k = 2q, high half
   k = 2q + 1; K odd: the last pair's high half is 0; kq = (K + 1) / 2 pairs):
     A  pair (i, q) at a[i * ars + q * acs]: "rows" (ars = kq, acs = 1; rnn_bf16_rows) or
        "pair-major" (ars = 1, acs = lda >= rows; rnn_bf16_pairs without padding)
     B  16-column panels: panel p, pair q, column j at b[p * pstep + q * 16 + j], pstep = 16 * kq;
        columns past N are 0 (rnn_bf16_pairs with padding for a row-major B [K, N],
        rnn_bf16_panels_t for B = W^T with W [N, K] row-major)
   C [rows, N] fp32, row stride ldc. Each element of C is summed over the pairs q ascending in
   blocks of RNN_BF16_KC pairs, whatever the rows, columns or threads: results depend only on the
   operands. */
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define RNN_BF16_KC 128

/* 1 when the CPU and OS support AVX-512 F/BW/VL and AVX512_BF16 (CPUID 7.1 EAX bit 5). */
static inline int rnn_bf16_supported(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7) return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27))) return 0;                          /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6) return 0;                        /* XMM, YMM, opmask, ZMM state */
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    unsigned need = (1u << 16) | (1u << 30) | (1u << 31);     /* AVX512 F, BW, VL */
    if ((b & need) != need || a < 1) return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    return (a >> 5) & 1;
#else
    return 0;
#endif
}

/* The bfloat16 of x, round to nearest even (NaN stays NaN): the rounding of VCVTNE2PS2BF16 for
   normal numbers (the instruction also flushes fp32 subnormals to 0; so does this). */
static inline uint16_t rnn_bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);        /* 0 and subnormals */
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return (uint16_t)((u >> 16) | 0x40u);  /* NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

#if defined(__x86_64__)
#define RNN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* 16 floats (the first `n` of src, others 0) -> 16 bfloat16 zero-extended to 32 bits. */
static inline RNN_BF16_TARGET __m512i rnn_bf16_16(const float *src, int n) {
    __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
    __m512 x = _mm512_maskz_loadu_ps(m, src);
    __m256bh h = _mm512_cvtneps_pbh(x);
    return _mm512_cvtepu16_epi32((__m256i)h);
}

/* A in "rows" layout: dst[i * kq + q] = pair (src[i * lds + 2q], src[i * lds + 2q + 1]) for i < rows. */
static inline RNN_BF16_TARGET void rnn_bf16_rows(const float *src, long lds, long rows, long k, void *dst) {
    uint16_t *d16 = (uint16_t *)dst;
    long kq = (k + 1) / 2;
    for (long i = 0; i < rows; i++) {
        const float *s = src + i * lds;
        uint16_t *o = d16 + i * 2 * kq;
        long j = 0;
        for (; j + 32 <= k; j += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + j + 16), _mm512_loadu_ps(s + j));
            _mm512_storeu_si512((void *)(o + j), (__m512i)v);
        }
        for (; j < k; j += 16) {
            int n = k - j < 16 ? (int)(k - j) : 16;
            __m512i w = rnn_bf16_16(s + j, n);
            _mm256_mask_storeu_epi16(o + j, (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1), _mm512_cvtepi32_epi16(w));
        }
        if (k & 1) o[k] = 0;
    }
}

/* Pairs of rows of a row-major fp32 matrix (rows 2q and 2q + 1 < k, row stride lds), columns
   c0 ..< c1: column j of pair q goes to dst[((j - c0) / 16) * pstep + q * qstep + (j - c0) % 16].
   pad: a partial last group of 16 columns is filled with 0 (B panels); else only c1 - c0 columns
   are written (pair-major A, pstep = 16, qstep = lda). */
static inline RNN_BF16_TARGET void rnn_bf16_pairs(const float *src, long lds, long k, long c0, long c1,
                                                  void *dst, long pstep, long qstep, int pad) {
    uint32_t *d = (uint32_t *)dst;
    long kq = (k + 1) / 2;
    for (long q = 0; q < kq; q++) {
        const float *r0 = src + 2 * q * lds;
        const float *r1 = 2 * q + 1 < k ? r0 + lds : 0;
        for (long j = c0, g = 0; j < c1; j += 16, g++) {
            int n = c1 - j < 16 ? (int)(c1 - j) : 16;
            __m512i lo = rnn_bf16_16(r0 + j, n);
            __m512i hi = r1 ? rnn_bf16_16(r1 + j, n) : _mm512_setzero_si512();
            __m512i v = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
            uint32_t *o = d + g * pstep + q * qstep;
            if (n == 16 || pad) _mm512_storeu_si512((void *)o, v);
            else _mm512_mask_storeu_epi32(o, (__mmask16)((1u << n) - 1), v);
        }
    }
}

/* B = W^T in panels, W [n, k] row-major (stride ldw), for panels p0 ..< p1 of dst (columns past n 0). */
static inline RNN_BF16_TARGET void rnn_bf16_panels_t(const float *w, long ldw, long n, long k, long p0, long p1, void *dst) {
    uint32_t *d = (uint32_t *)dst;
    long kq = (k + 1) / 2;
    for (long p = p0; p < p1; p++) {
        uint32_t *panel = d + p * 16 * kq;
        for (long j = 0; j < 16; j++) {
            long col = 16 * p + j;
            const float *r = w + col * ldw;
            for (long q = 0; q < kq; q++) {
                uint32_t lo = col < n ? rnn_bf16_round(r[2 * q]) : 0;
                uint32_t hi = col < n && 2 * q + 1 < k ? rnn_bf16_round(r[2 * q + 1]) : 0;
                panel[q * 16 + j] = lo | (hi << 16);
            }
        }
    }
}

/* One R x 32 tile over pairs q0 ..< q1 (R <= 8): 16 zmm accumulators, named one by one (the
   Clang importer's optimisation does not promote an array of them to registers). */
#define RNN_BF16_ROW(n)                                                                               \
    if (tileRows > n) { __m512bh y = (__m512bh)_mm512_set1_epi32((int)a[n * ars + q * acs]);                  \
                 s##n##0 = _mm512_dpbf16_ps(s##n##0, y, x0); s##n##1 = _mm512_dpbf16_ps(s##n##1, y, x1); }
#define RNN_BF16_STORE(n)                                                                             \
    if (tileRows > n) { float *o = c + n * ldc; __m512 v0 = s##n##0, v1 = s##n##1;                            \
                 if (acc) { v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, o));                     \
                            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, o + 16)); }               \
                 _mm512_mask_storeu_ps(o, m0, v0); _mm512_mask_storeu_ps(o + 16, m1, v1); }
#define RNN_BF16_TILE(R)                                                                              \
static inline RNN_BF16_TARGET void rnn_bf16_tile##R(long q0, long q1, const uint32_t *a, long ars, long acs, \
        const uint32_t *b0, const uint32_t *b1, float *c, long ldc, int cols, int acc) {              \
    const int tileRows = R;                                                                            \
    __m512 s00 = _mm512_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00; \
    __m512 s40 = s00, s41 = s00, s50 = s00, s51 = s00, s60 = s00, s61 = s00, s70 = s00, s71 = s00;   \
    for (long q = q0; q < q1; q++) {                                                                   \
        __m512bh x0 = (__m512bh)_mm512_loadu_si512((const void *)(b0 + q * 16));                       \
        __m512bh x1 = (__m512bh)_mm512_loadu_si512((const void *)(b1 + q * 16));                       \
        RNN_BF16_ROW(0) RNN_BF16_ROW(1) RNN_BF16_ROW(2) RNN_BF16_ROW(3)                                \
        RNN_BF16_ROW(4) RNN_BF16_ROW(5) RNN_BF16_ROW(6) RNN_BF16_ROW(7)                                \
    }                                                                                                  \
    __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);                                \
    __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);        \
    RNN_BF16_STORE(0) RNN_BF16_STORE(1) RNN_BF16_STORE(2) RNN_BF16_STORE(3)                            \
    RNN_BF16_STORE(4) RNN_BF16_STORE(5) RNN_BF16_STORE(6) RNN_BF16_STORE(7)                            \
}
RNN_BF16_TILE(1) RNN_BF16_TILE(2) RNN_BF16_TILE(3) RNN_BF16_TILE(4)
RNN_BF16_TILE(5) RNN_BF16_TILE(6) RNN_BF16_TILE(7) RNN_BF16_TILE(8)

/* C[rows, n] (+)= A B over k (kq pairs); A and C point at the first row. */
static inline RNN_BF16_TARGET void rnn_bf16_gemm(long rows, long n, long k, const void *a, long ars, long acs,
                                                 const void *b, float *c, long ldc, int accumulate) {
    if (rows <= 0 || n <= 0) return;
    long kq = (k + 1) / 2;
    if (kq == 0) {
        if (!accumulate) for (long i = 0; i < rows; i++) memset(c + i * ldc, 0, (size_t)n * 4);
        return;
    }
    const uint32_t *A = (const uint32_t *)a, *B = (const uint32_t *)b;
    long panels = (n + 15) / 16, pstep = 16 * kq;
    for (long q0 = 0; q0 < kq; q0 += RNN_BF16_KC) {
        long q1 = q0 + RNN_BF16_KC < kq ? q0 + RNN_BF16_KC : kq;
        int acc = accumulate || q0 > 0;
        for (long i = 0; i < rows; i += 8) {
            long r = rows - i < 8 ? rows - i : 8;
            const uint32_t *ai = A + i * ars;
            for (long p = 0; p < panels; p += 2) {
                const uint32_t *b0 = B + p * pstep, *b1 = p + 1 < panels ? b0 + pstep : b0;
                long cl = n - 16 * p; int cols = cl < 32 ? (int)cl : 32;
                float *cp = c + i * ldc + 16 * p;
                switch (r) {
                case 8: rnn_bf16_tile8(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                case 7: rnn_bf16_tile7(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                case 6: rnn_bf16_tile6(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                case 5: rnn_bf16_tile5(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                case 4: rnn_bf16_tile4(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                case 3: rnn_bf16_tile3(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                case 2: rnn_bf16_tile2(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                default: rnn_bf16_tile1(q0, q1, ai, ars, acs, b0, b1, cp, ldc, cols, acc); break;
                }
            }
        }
    }
}
#endif
#endif
