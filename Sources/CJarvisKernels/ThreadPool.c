// A persistent worker pool for the engine's own kernels: threads are created once, park on a
// condition variable between jobs, and spin briefly first so that back-to-back jobs (one per
// matrix product during decode) do not pay a wake-up each. Either side takes the lock and
// signals only when the other is parked (`parked`, `caller_parked`), so a job whose threads
// are all spinning costs a few atomic operations, not two lock round trips. Each side
// publishes that it parks, under the lock, before it checks the condition once more, and the
// other changes the condition before it reads the flag (both sequentially consistent): one of
// the two always sees the other's write, so no wake-up is lost.
#include "CJarvisKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define JK_MAX_THREADS 64

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    int threads;                    // including the caller
    pthread_t workers[JK_MAX_THREADS];
    // the current job
    jk_task_fn fn;
    void *ctx;
    int tasks;
    atomic_int next;                // next task index to claim
    atomic_int finished;            // workers finished with this generation
    atomic_uint generation;
    atomic_int parked;              // workers waiting on `wake`
    atomic_int caller_parked;       // 1 while the caller waits on `done`
    int shutdown;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 1 };

// One job at a time: callers on different threads take turns (tasks must not call jk_parallel).
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;

// How long each side spins before it parks: about 35 µs for a worker between jobs and 300 µs
// for the caller waiting for the workers (a pause takes ~34 ns on the machine this was tuned on).
#define WORKER_SPINS 1024
#define CALLER_SPINS 8192

// One step of a spin-wait: a pause, and every 64th step the core is offered to any other thread
// waiting for it. On a busy machine the thread being waited for may be that other thread: the
// caller's spin for the last worker, or a worker's spin between jobs, would otherwise keep it
// off the core for the rest of the time slice. (A decode-like timing program, 150 jobs of four
// 8 µs tasks per step, 2 threads: the same steps per second on a quiet machine; with one busy
// process beside it, 80–112 steps/s spinning without yielding, 101–155 yielding every 64th
// step, fewer when yielding every step or only after the first 128–512.)
static inline void spin_step(int spins) {
    if ((spins & 63) == 63) { sched_yield(); return; }
#if defined(__x86_64__)
    _mm_pause();
#endif
}

static void run_tasks(void) {
    for (;;) {
        int t = atomic_fetch_add(&pool.next, 1);
        if (t >= pool.tasks) break;
        pool.fn(pool.ctx, t);
    }
}

static void *worker_main(void *arg) {
    (void)arg;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&pool.generation)) == seen && spins < WORKER_SPINS) spin_step(spins++);
        if (g == seen) {
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.parked, 1);
            while ((g = atomic_load(&pool.generation)) == seen && !pool.shutdown) pthread_cond_wait(&pool.wake, &pool.lock);
            atomic_fetch_sub(&pool.parked, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        if (pool.shutdown) return NULL;
        seen = g;
        run_tasks();
        if (atomic_fetch_add(&pool.finished, 1) + 1 == pool.threads - 1 && atomic_load(&pool.caller_parked)) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
}

int jk_pool_set_threads(int threads) {
    if (threads < 1) threads = 1;
    if (threads > JK_MAX_THREADS) threads = JK_MAX_THREADS;
    if (threads == pool.threads) return threads;
    pthread_mutex_lock(&job_lock);
    // Stop the old workers, start the new ones.
    pthread_mutex_lock(&pool.lock);
    pool.shutdown = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.threads - 1; i++) pthread_join(pool.workers[i], NULL);
    pool.shutdown = 0;
    atomic_store(&pool.generation, 0);
    int started = 1;
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&pool.workers[i], NULL, worker_main, NULL) != 0) break;
        started++;
    }
    pool.threads = started;
    pthread_mutex_unlock(&job_lock);
    return started;
}

int jk_pool_threads(void) { return pool.threads; }

void jk_parallel(jk_task_fn fn, void *ctx, int tasks) {
    if (tasks <= 0) return;
    if (pool.threads == 1 || tasks == 1) {
        for (int t = 0; t < tasks; t++) fn(ctx, t);
        return;
    }
    pthread_mutex_lock(&job_lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.tasks = tasks;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.finished, 0);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.parked)) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_tasks();
    int spins = 0;
    while (atomic_load(&pool.finished) < pool.threads - 1 && spins < CALLER_SPINS) spin_step(spins++);
    if (atomic_load(&pool.finished) < pool.threads - 1) {
        pthread_mutex_lock(&pool.lock);
        atomic_store(&pool.caller_parked, 1);
        while (atomic_load(&pool.finished) < pool.threads - 1) pthread_cond_wait(&pool.done, &pool.lock);
        atomic_store(&pool.caller_parked, 0);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&job_lock);
}
