// OpenBLAS's choice of kernels, corrected once at load time where it fell back to SSE3.
//
// A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the CPU model when it loads. A model
// newer than the library (Debian 12's 0.3.21 on an Emerald Rapids Xeon, model 207) matches no
// entry, and 0.3.21 then falls back to "Prescott", plain SSE3: its float32 products run at a
// third of the speed of the AVX-512 kernels the same library carries. Later OpenBLAS versions
// fall back by the instructions the CPU has; this file does the same for the versions that do
// not. It runs as a constructor, after OpenBLAS's own (a library is initialized before the
// program that links it) and before the program starts any thread of its own, so setting the
// variable OpenBLAS reads is safe (OpenBLAS's own workers are handled below). A user's
// OPENBLAS_CORETYPE always stands, and a core OpenBLAS did recognize is left alone. The symbols
// are looked up, not linked, so an OpenBLAS built without DYNAMIC_ARCH (which has no choice to
// correct) or another BLAS is left alone too.
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "QuillKernels.h"

static const char *replaced_core = NULL;

typedef char *(*corename_function)(void);
typedef void (*dynamic_function)(void);
typedef void *(*allocate_function)(int);
typedef void (*release_function)(void *);

static const char *current_core(void) {
    corename_function corename = (corename_function)dlsym(RTLD_DEFAULT, "openblas_get_corename");
    return corename ? corename() : NULL;
}

// The library carries a core only if it exports its table (`gotoblas_COOPERLAKE` and so on); an
// older one without it would take the name as unknown.
static int library_has(const char *table) { return dlsym(RTLD_DEFAULT, table) != NULL; }

const char *quill_blas_core_for(const char *detected, int user_chose, int bf16, int avx512, int avx2_fma,
                                int (*has)(const char *table)) {
    if (user_chose || detected == NULL || strcasecmp(detected, "Prescott") != 0) return NULL;
    if (bf16 && has("gotoblas_COOPERLAKE")) return "Cooperlake";
    if (avx512 && has("gotoblas_SKYLAKEX")) return "SkylakeX";
    if (avx2_fma && has("gotoblas_HASWELL")) return "Haswell";
    return NULL;
}

__attribute__((constructor)) static void correct_blas_core(void) {
    const char *detected = current_core();
    const char *target = quill_blas_core_for(detected, getenv("OPENBLAS_CORETYPE") != NULL,
                                             quill_bf16_supported(), quill_avx512_supported(),
                                             quill_avx2_fma_supported(), library_has);
    if (target == NULL) return;
    dynamic_function quit = (dynamic_function)dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    dynamic_function init = (dynamic_function)dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    allocate_function allocate = (allocate_function)dlsym(RTLD_DEFAULT, "blas_memory_alloc");
    release_function release = (release_function)dlsym(RTLD_DEFAULT, "blas_memory_free");
    if (quit == NULL || init == NULL || allocate == NULL || release == NULL) return;
    // OpenBLAS's worker threads, started by its constructor, each take a buffer as they begin, and
    // the first buffer taken in the process initializes the buffer pool under a lock, calling
    // gotoblas_dynamic_init too. A worker that began late would do that between the quit and the
    // init below, see no core, and race this thread (a crash, seen once in a full run of the test
    // suite, which starts quill hundreds of times). Taking and returning one buffer here first
    // makes the pool's initialization done, so no worker calls it again.
    void *buffer = allocate(0);
    if (buffer == NULL) return;
    release(buffer);
    // gotoblas_dynamic_init reads the variable only while no core is set; quit clears it.
    setenv("OPENBLAS_CORETYPE", target, 1);
    quit();
    init();
    unsetenv("OPENBLAS_CORETYPE");
    const char *now = current_core();
    // OpenBLAS's names are static strings, so the detected one outlives this call.
    if (now != NULL && strcasecmp(now, target) == 0) replaced_core = detected;
}

const char *quill_blas_core(void) { return current_core(); }

const char *quill_blas_replaced_core(void) { return replaced_core; }
