// One helper thread that shares the output columns of a bfloat16 product with the caller, for
// latency-bound single-lane steps where a dispatch per product would cost more than the product.
//
// The columns are cut into a few chunks. The caller takes chunks from the front, the helper from
// the back (so each thread tends to keep its own columns, and their weights, in its cache); the
// caller never waits for a chunk the helper has not started. A column's value does not depend on
// which thread computes it or on the chunking, so the result is the same bits as one
// `quill_bf16_gemm` call.
//
// When the helper cannot run promptly (another process keeps its core busy), the caller ends up
// doing all the chunks or waiting for one: it then runs its products alone for a while, doubling
// that while the helper keeps missing, so two threads are never much slower than one. The helper
// spins for a short time between jobs (about 300 microseconds), then sleeps. Only a helper that
// was awake when the product was posted is judged: one woken from sleep (as it always is after a
// run alone, which outlasts its spinning) would otherwise count as a miss every time, and the
// runs alone would grow without end on an idle machine.
// The compiler fuses no multiply with an add on its own (intrinsics stay as written), whatever the flags.
#pragma STDC FP_CONTRACT OFF
#include "QuillKernels.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define QUILL_PAUSE() _mm_pause()
#else
#define QUILL_PAUSE() sched_yield()
#endif

enum {
    chunk_target = 4,          // chunks per product (fewer when there are fewer column blocks)
    helper_spin_ns = 300000,   // how long the idle helper spins before sleeping
    caller_wait_spins = 1024,  // waiting longer than this (tens of microseconds) for the helper counts as a miss
    solo_first = 16,           // products run alone after a miss...
    solo_most = 4096,          // ...doubling up to this many while the misses go on
};

typedef struct {
    long m, n, k;
    const uint16_t *a;
    int a_blocked;
    const uint16_t *b;
    float beta;
    float *c;
    long ldc;
    long chunk_columns;        // a multiple of 16
} quill_job;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;   // held by the caller using the helper
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static int helper_ok = 0;
static quill_job job;
// The job's ticket and its unclaimed chunks: ticket << 32 | front << 16 | back; chunks
// front ..< back are still free. Claiming is a compare-and-swap on this one word.
static uint64_t claims = 0;
static uint32_t posted = 0;        // the latest ticket
static long helper_done = 0;       // chunks of the current ticket the helper has finished
static int sleeping = 0;
static int helper_paused = 0;      // test seam: the helper claims nothing
// The caller's adaptive state, under pool_lock.
static long solo_left = 0, solo_next = solo_first;

static void run_chunk(const quill_job *j, long chunk) {
    const long j0 = chunk * j->chunk_columns;
    const long j1 = j0 + j->chunk_columns < j->n ? j0 + j->chunk_columns : j->n;
    quill_bf16_gemm(j->m, j->n, j->k, j->a, j->a_blocked, j->b, j->beta, j->c, j->ldc, j0, j1);
}

// Claims one chunk of `ticket` from the front (the caller) or the back (the helper); -1 when none is left.
static long claim(uint32_t ticket, int from_back) {
    uint64_t word = __atomic_load_n(&claims, __ATOMIC_ACQUIRE);
    for (;;) {
        const long front = (long)((word >> 16) & 0xFFFF), back = (long)(word & 0xFFFF);
        if ((uint32_t)(word >> 32) != ticket || front >= back) return -1;
        const uint64_t next = from_back ? word - 1 : word + (1u << 16);
        if (__atomic_compare_exchange_n(&claims, &word, next, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return from_back ? back - 1 : front;
        }
    }
}

static long nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000000000L + now.tv_nsec;
}

static void *helper(void *unused) {
    (void)unused;
    uint32_t seen = 0;
    for (;;) {
        long spins = 0, since = nanoseconds();
        while (__atomic_load_n(&posted, __ATOMIC_ACQUIRE) == seen) {
            if ((++spins & 63) != 0 || nanoseconds() - since < helper_spin_ns) { QUILL_PAUSE(); continue; }
            pthread_mutex_lock(&sleep_lock);
            __atomic_store_n(&sleeping, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&posted, __ATOMIC_SEQ_CST) == seen) pthread_cond_wait(&wake, &sleep_lock);
            __atomic_store_n(&sleeping, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&sleep_lock);
            spins = 0;
            since = nanoseconds();
        }
        seen = __atomic_load_n(&posted, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&helper_paused, __ATOMIC_RELAXED)) continue;
        long chunk;
        // A successful claim keeps the caller from finishing (and from posting another job) until
        // this chunk is counted done, so `job` is the claimed ticket's while the chunk runs.
        while ((chunk = claim(seen, 1)) >= 0) {
            run_chunk(&job, chunk);
            __atomic_add_fetch(&helper_done, 1, __ATOMIC_RELEASE);
        }
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

void quill_bf16_set_helper_paused(int paused) {
    __atomic_store_n(&helper_paused, paused ? 1 : 0, __ATOMIC_RELAXED);
}

void quill_bf16_gemm_pair(long m, long n, long k, const uint16_t *a, int a_blocked, const uint16_t *b,
                          float beta, float *c, long ldc) {
    pthread_once(&started, start_helper);
    const long blocks = (n + 15) / 16;
    if (!helper_ok || blocks < 2 || pthread_mutex_trylock(&pool_lock) != 0) {
        quill_bf16_gemm(m, n, k, a, a_blocked, b, beta, c, ldc, 0, n);
        return;
    }
    if (solo_left > 0) {
        solo_left--;
        quill_bf16_gemm(m, n, k, a, a_blocked, b, beta, c, ldc, 0, n);
        pthread_mutex_unlock(&pool_lock);
        return;
    }
    const long per_chunk = (blocks + chunk_target - 1) / chunk_target;
    const long chunks = (blocks + per_chunk - 1) / per_chunk;
    job = (quill_job){m, n, k, a, a_blocked, b, beta, c, ldc, per_chunk * 16};
    __atomic_store_n(&helper_done, 0, __ATOMIC_RELAXED);
    const uint32_t ticket = posted + 1;
    __atomic_store_n(&claims, (uint64_t)ticket << 32 | (uint64_t)chunks, __ATOMIC_RELEASE);
    __atomic_store_n(&posted, ticket, __ATOMIC_SEQ_CST);
    // A helper that was asleep (after idling, or after a run alone) needs a wake-up first; whether
    // it then misses this product says nothing about its core, so only an awake helper is judged.
    const int asleep = __atomic_load_n(&sleeping, __ATOMIC_SEQ_CST);
    if (asleep) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    long mine = 0, chunk;
    while ((chunk = claim(ticket, 0)) >= 0) {
        run_chunk(&job, chunk);
        mine++;
    }
    long spins = 0;
    while (__atomic_load_n(&helper_done, __ATOMIC_ACQUIRE) != chunks - mine) {
        if (++spins < caller_wait_spins) QUILL_PAUSE(); else sched_yield();
    }
    if (asleep) {
        // Not judged: the next product finds the helper awake, or still waiting for its core.
    } else if (mine == chunks || spins >= caller_wait_spins) {
        // The helper missed this product: run alone for a while, longer each time in a row.
        solo_left = solo_next;
        solo_next = solo_next * 2 < solo_most ? solo_next * 2 : solo_most;
    } else {
        solo_next = solo_first;
    }
    pthread_mutex_unlock(&pool_lock);
}
