#ifndef RNN_COPENBLAS_SHIM_H
#define RNN_COPENBLAS_SHIM_H
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <unistd.h>
#include <sys/syscall.h>
#endif
/* OpenBLAS-specific thread control is declared in OpenBLAS's cblas.h. */

/* Kernel selection of a DYNAMIC_ARCH OpenBLAS (Debian's build). OpenBLAS 0.3.21 does not know
   AMD Zen 4/5 and falls back to its AVX2 "Haswell"/"Zen" kernels on CPUs with AVX-512, which
   halves the speed of every big product (measured on a Zen 5 EPYC: 1.9x single-threaded sgemm
   with the AVX-512 "SkylakeX" kernels). The symbols are weak so a static, single-architecture
   OpenBLAS still links (the functions are then absent and nothing is changed). */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));
extern char *gotoblas_corename(void) __attribute__((weak));

#if defined(__x86_64__)
/* CPUID leaf/subleaf -> eax, ebx, ecx, edx in r[0..3]. */
static inline void rnn_cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* 1 when CPUID has leaf 7 and the OS saves the register state in `xcr0_mask` (XGETBV; OSXSAVE
   checked first) and leaf 1 ECX has every bit of `need1`. */
static inline int rnn_cpu_os_state(unsigned xcr0_mask, unsigned need1) {
    unsigned r[4];
    rnn_cpuid(0, 0, r);
    if (r[0] < 7) return 0;
    rnn_cpuid(1, 0, r);
    need1 |= 1u << 27;                                        /* OSXSAVE */
    if ((r[2] & need1) != need1) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & xcr0_mask) == xcr0_mask;
}
#endif

/* 1 when the CPU and the OS support AVX-512 F, CD, DQ, BW and VL (what OpenBLAS's SkylakeX kernels
   use; with rnn_cpu_has_x86_64_v3, x86-64-v4: the engine's v4 kernels). */
static inline int rnn_cpu_has_avx512(void) {
#if defined(__x86_64__)
    if (!rnn_cpu_os_state(0xe6, 0)) return 0;                 /* XMM, YMM, opmask, ZMM state */
    unsigned r[4];
    rnn_cpuid(7, 0, r);
    unsigned need = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    return (r[1] & need) == need;
#else
    return 0;
#endif
}

/* 1 when the CPU and the OS support x86-64-v3 (the engine's v3 kernels, built with
   -march=x86-64-v3): SSE3, SSSE3, SSE4.1/4.2, POPCNT, CX16, LAHF (v2), AVX, AVX2, BMI1, BMI2, F16C,
   FMA, LZCNT, MOVBE, and YMM state enabled by the OS (XGETBV). */
static inline int rnn_cpu_has_x86_64_v3(void) {
#if defined(__x86_64__)
    unsigned need1 = (1u << 0) | (1u << 9) | (1u << 12) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 22) | (1u << 23)
        | (1u << 28) | (1u << 29);                            /* SSE3 SSSE3 FMA CX16 SSE4.1 SSE4.2 MOVBE POPCNT AVX F16C */
    if (!rnn_cpu_os_state(0x6, need1)) return 0;              /* XMM, YMM state */
    unsigned r[4];
    rnn_cpuid(7, 0, r);
    unsigned need7 = (1u << 3) | (1u << 5) | (1u << 8);      /* BMI1 AVX2 BMI2 */
    if ((r[1] & need7) != need7) return 0;
    rnn_cpuid(0x80000000u, 0, r);
    if (r[0] < 0x80000001u) return 0;
    rnn_cpuid(0x80000001u, 0, r);
    unsigned needx = (1u << 0) | (1u << 5);                  /* LAHF/SAHF LZCNT */
    return (r[2] & needx) == needx;
#else
    return 0;
#endif
}

/* The name of the OpenBLAS kernel set in use ("static" when OpenBLAS is not DYNAMIC_ARCH).
   When the user has not chosen one (OPENBLAS_CORETYPE) and OpenBLAS picked AVX2 kernels on an
   AVX-512 CPU, switches to the SkylakeX kernels first. Call once, before any BLAS call. */
static inline const char *rnn_blas_select_core(void) {
    if (!gotoblas_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return "static";
    const char *current = gotoblas_corename();
    if (getenv("OPENBLAS_CORETYPE") || !rnn_cpu_has_avx512()) return current;
    if (strcmp(current, "Haswell") != 0 && strcmp(current, "Zen") != 0) return current;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    return gotoblas_corename();
}
/* Atomics of the engine's thread pool (Threads.swift), which Swift on macOS 13 cannot spell: the
   run word workers poll (acquire) and the count of parts still running; a pause while polling. */
static inline unsigned long long rnn_atomic_load_acquire(const unsigned long long *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void rnn_atomic_store_release(unsigned long long *p, unsigned long long v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
/* *p -= 1; returns the new value (acquire-release: the part's writes happen before it). */
static inline unsigned long long rnn_atomic_decrement(unsigned long long *p) {
    return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL);
}
static inline void rnn_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
/* CPUs in this process's affinity mask (sched_getaffinity, which Swift's Glibc module does not
   export without _GNU_SOURCE); 0 when unknown. Up to 4096 CPUs. */
static inline int rnn_affinity_cpus(void) {
#if defined(__linux__)
    unsigned long mask[64];
    long n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    if (n <= 0) return 0;
    int count = 0;
    for (long i = 0; i < n / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count;
#else
    return 0;
#endif
}
#endif
