/* Diagnosis for `scripts/bench launch` and `scripts/bench scale`: the floor of starting processes on this machine,
 * in C. `spawn_floor [THREADS [COUNT PROGRAM [ARG...]]]`: COUNT (default 64) posix_spawn calls of PROGRAM (default
 * /bin/true) split over THREADS threads (default 2), then a wait for each; no bookkeeping. One warm-up round, then
 * prints `BENCH floor_c_ms=<ms>` for one timed round. */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;
static int per_thread;
static char *default_argv[] = {"/bin/true", NULL};
static char **program_argv = default_argv;

static void *spawn_some(void *unused)
{
    (void)unused;
    for (int i = 0; i < per_thread; i++) {
        pid_t pid;
        if (posix_spawn(&pid, program_argv[0], NULL, NULL, program_argv, environ) != 0) {
            perror("posix_spawn");
            exit(1);
        }
    }
    return NULL;
}

static double round_ms(int threads)
{
    struct timespec start, end;
    pthread_t ids[16];
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, spawn_some, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    while (wait(NULL) > 0)
        ;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int count = argc > 2 ? atoi(argv[2]) : 64;
    if (argc > 3)
        program_argv = argv + 3;
    if (threads < 1 || threads > 16 || count < 1 || count % threads != 0 || argc == 3) {
        fprintf(stderr, "usage: spawn_floor [THREADS: 1 to 16 [COUNT, a multiple of THREADS, PROGRAM [ARG...]]]\n");
        return 2;
    }
    per_thread = count / threads;
    round_ms(threads);
    printf("BENCH floor_c_ms=%.3f\n", round_ms(threads));
    return 0;
}
