/* Diagnosis for `scripts/bench ddict`: the latency of a dependent load on this machine, the floor under a one-call
 * read of a random key. `load_latency [MIB]` (default 256): a cycle through every 64-byte line of MIB mebibytes of
 * memory in a random order, each line holding the offset of the next, walked one load after another (no load can
 * start before the one before it ends), in 4 KB pages (MADV_NOHUGEPAGE: /dev/shm files, as a dictionary's shards,
 * get no huge pages unless the administrator allows them). Prints the nanoseconds a load of three walks of 4 million
 * loads each, and last `BENCH load_latency_ns=<the median>`. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64*: enough for a shuffle. */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t bytes = mib << 20, lines = bytes / 64;
    if (lines < 2) {
        fprintf(stderr, "load_latency: %zu MiB is too small\n", mib);
        return 2;
    }

    char *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t *order = malloc(lines * sizeof(size_t));
    if (memory == MAP_FAILED || order == NULL) {
        perror("load_latency: memory");
        return 1;
    }

    madvise(memory, bytes, MADV_NOHUGEPAGE);
    memset(memory, 0, bytes);
    /* A random cycle through every line: a shuffled order, each line pointing at the next one in it. */
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < lines; i++) {
        order[i] = i;
    }
    for (size_t i = lines - 1; i > 0; i--) {
        size_t j = next_random(&state) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < lines; i++) {
        *(size_t *)(memory + order[i] * 64) = order[(i + 1) % lines] * 64;
    }
    free(order);

    const long steps = 4000000;
    double ns[3];
    size_t at = 0;
    for (int walk = 0; walk < 3; walk++) {
        double start = now_ns();
        for (long s = 0; s < steps; s++) {
            at = *(volatile size_t *)(memory + at);
        }
        ns[walk] = (now_ns() - start) / steps;
    }

    printf("load_latency mib=%zu walks_ns=%.1f,%.1f,%.1f (end %zu)\n", mib, ns[0], ns[1], ns[2], at % 2);
    qsort(ns, 3, sizeof(double), compare);
    printf("BENCH load_latency_ns=%.1f\n", ns[1]);
    munmap(memory, bytes);
    return 0;
}
