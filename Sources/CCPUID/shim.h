// Whether this CPU and the operating system run code compiled with `-target-cpu skylake-avx512`,
// from the CPUID instruction and the XGETBV register. The result comes from the processor rather
// than from /proc/cpuinfo, so a CPU emulator that hides AVX-512 from CPUID (valgrind) gets the
// baseline build.
#ifndef STDNET_CPUID_SHIM_H
#define STDNET_CPUID_SHIM_H

#include <stdbool.h>

#if defined(__x86_64__)
#include <cpuid.h>

// NOTE: this checks the extensions that vector code compiled from VectorKernels can use. The
// skylake-avx512 target also implies AES, PCLMUL, RDRND, RDSEED, ADX, CLWB and XSAVEC, which
// that code has no operations for, so they are not checked.

static inline bool stdnet_cpu_runs_skylake_avx512(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    // Leaf 1, ECX: FMA (12), SSE4.2 (20), MOVBE (22), POPCNT (23), OSXSAVE (27), AVX (28),
    // F16C (29).
    const unsigned int leaf1 = (1u << 12) | (1u << 20) | (1u << 22) | (1u << 23) | (1u << 27) | (1u << 28)
        | (1u << 29);
    if ((ecx & leaf1) != leaf1) return false;

    // XCR0: the operating system saves the SSE (1), AVX (2), opmask (5), ZMM_Hi256 (6) and
    // Hi16_ZMM (7) register state.
    unsigned int xcr0Low, xcr0High;
    __asm__("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
    const unsigned int savedState = (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7);
    if ((xcr0Low & savedState) != savedState) return false;

    // Leaf 7, subleaf 0, EBX: BMI1 (3), AVX2 (5), BMI2 (8), AVX512F (16), AVX512DQ (17),
    // AVX512CD (28), AVX512BW (30), AVX512VL (31).
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const unsigned int leaf7 = (1u << 3) | (1u << 5) | (1u << 8) | (1u << 16) | (1u << 17)
        | (1u << 28) | (1u << 30) | (1u << 31);
    if ((ebx & leaf7) != leaf7) return false;

    // Leaf 0x80000001, ECX: LZCNT (5).
    if (!__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) return false;
    return (ecx & (1u << 5)) != 0;
}
#else
static inline bool stdnet_cpu_runs_skylake_avx512(void) { return false; }
#endif

#endif
