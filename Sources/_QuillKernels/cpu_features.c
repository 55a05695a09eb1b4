// What this CPU (and OS) can run, asked once and remembered; the only place that asks.
#include "QuillKernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

static int avx512_state = -1, avx2_fma_state = -1, bf16_state = -1;

// Runs `probe` the first time and caches its answer (0 or 1) in `*state`.
static int cached(int *state, int (*probe)(void)) {
    int s = __atomic_load_n(state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = probe();
        __atomic_store_n(state, s, __ATOMIC_RELAXED);
    }
    return s;
}

static int probe_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static int probe_avx2_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int probe_bf16(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int quill_avx512_supported(void) { return cached(&avx512_state, probe_avx512); }

int quill_avx2_fma_supported(void) { return cached(&avx2_fma_state, probe_avx2_fma); }

int quill_bf16_supported(void) { return cached(&bf16_state, probe_bf16); }

void quill_cpu_vendor(char *out) {
    out[0] = 0;
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return;
    // The name is spelled across EBX, EDX, ECX, in that order.
    memcpy(out, &ebx, 4);
    memcpy(out + 4, &edx, 4);
    memcpy(out + 8, &ecx, 4);
    out[12] = 0;
#endif
}
