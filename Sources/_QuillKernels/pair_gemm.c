// One helper thread that takes half of the output columns of a bfloat16 product, for latency-bound
// single-lane steps where a dispatch per product would cost more than the product.
//
// The helper spins briefly between jobs (a few hundred microseconds), then sleeps on a condition
// variable. One caller at a time: a second concurrent caller runs its product alone.
#include "QuillKernels.h"

#include <pthread.h>
#include <sched.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define QUILL_PAUSE() _mm_pause()
#else
#define QUILL_PAUSE() sched_yield()
#endif

typedef struct {
    long m, n, k;
    const uint16_t *a;
    int a_blocked;
    const uint16_t *b;
    float beta;
    float *c;
    long ldc, j0, j1;
} quill_job;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;   // held by the caller using the helper
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static int helper_ok = 0;
static quill_job job;
static unsigned long posted = 0, finished = 0;
static int sleeping = 0;

static void *helper(void *unused) {
    (void)unused;
    unsigned long seen = 0;
    for (;;) {
        long spins = 0;
        while (__atomic_load_n(&posted, __ATOMIC_ACQUIRE) == seen) {
            if (++spins < 200000) { QUILL_PAUSE(); continue; }
            pthread_mutex_lock(&sleep_lock);
            __atomic_store_n(&sleeping, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&posted, __ATOMIC_SEQ_CST) == seen) pthread_cond_wait(&wake, &sleep_lock);
            __atomic_store_n(&sleeping, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&sleep_lock);
            spins = 0;
        }
        seen = __atomic_load_n(&posted, __ATOMIC_ACQUIRE);
        quill_bf16_gemm(job.m, job.n, job.k, job.a, job.a_blocked, job.b, job.beta, job.c, job.ldc, job.j0, job.j1);
        __atomic_store_n(&finished, seen, __ATOMIC_RELEASE);
    }
    return 0;
}

static void start_helper(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    helper_ok = pthread_create(&thread, &attributes, helper, 0) == 0;
    pthread_attr_destroy(&attributes);
}

void quill_bf16_gemm_pair(long m, long n, long k, const uint16_t *a, int a_blocked, const uint16_t *b,
                          float beta, float *c, long ldc) {
    pthread_once(&started, start_helper);
    const long blocks = (n + 15) / 16;
    if (!helper_ok || blocks < 2 || pthread_mutex_trylock(&pool_lock) != 0) {
        quill_bf16_gemm(m, n, k, a, a_blocked, b, beta, c, ldc, 0, n);
        return;
    }
    const long middle = (blocks / 2) * 16;
    job = (quill_job){m, n, k, a, a_blocked, b, beta, c, ldc, middle, n};
    const unsigned long ticket = posted + 1;
    __atomic_store_n(&posted, ticket, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&sleeping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    quill_bf16_gemm(m, n, k, a, a_blocked, b, beta, c, ldc, 0, middle);
    long spins = 0;
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ticket) {
        if (++spins < 4096) QUILL_PAUSE(); else sched_yield();
    }
    pthread_mutex_unlock(&pool_lock);
}
