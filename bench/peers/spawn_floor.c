/* Diagnosis for `scripts/bench launch`: the floor of starting 64 /bin/true on this machine, in C.
 * 64 posix_spawn calls split over THREADS threads (argument, default 2), then a wait for each; no bookkeeping.
 * One warm-up round, then prints `BENCH floor_c_ms=<ms>` for one timed round. */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#define COUNT 64
extern char **environ;
static int per_thread;

static void *spawn_some(void *unused)
{
    (void)unused;
    char *argv[] = {"/bin/true", NULL};
    for (int i = 0; i < per_thread; i++) {
        pid_t pid;
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0) {
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
    if (threads < 1 || threads > 16 || COUNT % threads != 0) {
        fprintf(stderr, "usage: spawn_floor [THREADS: 1, 2, 4, 8 or 16]\n");
        return 2;
    }
    per_thread = COUNT / threads;
    round_ms(threads);
    printf("BENCH floor_c_ms=%.3f\n", round_ms(threads));
    return 0;
}
