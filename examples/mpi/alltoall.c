/*
 * alltoall: MPI_Alltoall latency by message size, the benchmark bundled with Dragon.NET.
 *
 * For each size from 1 byte doubling up to MAX (default 4096: 13 sizes), every rank runs
 * WARMUP untimed and ITERS timed MPI_Alltoall calls with SIZE bytes per peer. Rank 0 prints
 * one "size latency_us" row per size: the mean over ranks of each rank's mean call time.
 *
 *   alltoall [--warmup N] [-m MAX] [-i ITERS]
 *
 * Arguments are checked before MPI_Init so that a bad command line fails fast (exit 2)
 * without wiring up MPI; only the rank 0 process (or a process started without a launcher)
 * prints the error.
 *
 * Build: mpicc.mpich -O2 -o artifacts/mpi/alltoall examples/mpi/alltoall.c
 */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_SIZE 4096
#define DEFAULT_ITERATIONS 500
#define DEFAULT_WARMUP 50
#define LARGEST_MAX_SIZE (64 * 1024 * 1024)

struct options {
    int max_size;
    int iterations;
    int warmup;
};

/* Before MPI_Init the launcher's environment names the rank (hydra and Dragon set
 * PMI_RANK); with neither we are a plain process and report our own errors. */
static int is_reporting_process(void)
{
    const char *rank = getenv("PMI_RANK");
    return rank == NULL || strcmp(rank, "0") == 0;
}

static void usage_error(const char *message, const char *argument)
{
    if (is_reporting_process()) {
        if (message != NULL) {
            fprintf(stderr, "alltoall: %s%s%s%s\n", message, argument != NULL ? " '" : "",
                    argument != NULL ? argument : "", argument != NULL ? "'" : "");
        }
        fprintf(stderr,
                "usage: alltoall [--warmup N] [-m MAX] [-i ITERS]\n"
                "  --warmup N   untimed calls per size before timing (default %d, >= 0)\n"
                "  -m MAX       largest message size in bytes per peer (default %d, 1..%d)\n"
                "  -i ITERS     timed calls per size (default %d, >= 1)\n",
                DEFAULT_WARMUP, DEFAULT_MAX_SIZE, LARGEST_MAX_SIZE, DEFAULT_ITERATIONS);
    }
    exit(2);
}

static int parse_count(const char *option, const char *text, int minimum, int maximum)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        char message[128];
        snprintf(message, sizeof message, "%s needs an integer in %d..%d, got", option, minimum, maximum);
        usage_error(message, text);
    }
    return (int)value;
}

static struct options parse_options(int argc, char **argv)
{
    struct options options = {DEFAULT_MAX_SIZE, DEFAULT_ITERATIONS, DEFAULT_WARMUP};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage_error(NULL, NULL);
        }
        int is_warmup = strcmp(arg, "--warmup") == 0;
        int is_max = strcmp(arg, "-m") == 0;
        int is_iters = strcmp(arg, "-i") == 0;
        if (!is_warmup && !is_max && !is_iters) {
            usage_error("unknown argument", arg);
        }
        if (i + 1 >= argc) {
            usage_error("missing value after", arg);
        }
        const char *value = argv[++i];
        if (is_warmup) {
            options.warmup = parse_count(arg, value, 0, INT_MAX);
        } else if (is_max) {
            options.max_size = parse_count(arg, value, 1, LARGEST_MAX_SIZE);
        } else {
            options.iterations = parse_count(arg, value, 1, INT_MAX);
        }
    }
    return options;
}

int main(int argc, char **argv)
{
    struct options options = parse_options(argc, argv);

    MPI_Init(&argc, &argv);
    int rank = 0;
    int size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    size_t buffer_bytes = (size_t)options.max_size * (size_t)size;
    char *send = malloc(buffer_bytes);
    char *receive = malloc(buffer_bytes);
    if (send == NULL || receive == NULL) {
        fprintf(stderr, "alltoall: rank %d cannot allocate 2 x %zu bytes\n", rank, buffer_bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(send, 'a' + rank % 26, buffer_bytes);
    memset(receive, 0, buffer_bytes);

    if (rank == 0) {
        printf("# Dragon.NET MPI_Alltoall latency\n");
        printf("# ranks=%d warmup=%d iterations=%d\n", size, options.warmup, options.iterations);
        printf("%-10s%18s\n", "# size", "latency_us");
        fflush(stdout);
    }

    for (int bytes = 1; bytes <= options.max_size; bytes *= 2) {
        for (int i = 0; i < options.warmup; i++) {
            MPI_Alltoall(send, bytes, MPI_CHAR, receive, bytes, MPI_CHAR, MPI_COMM_WORLD);
        }
        MPI_Barrier(MPI_COMM_WORLD);

        double start = MPI_Wtime();
        for (int i = 0; i < options.iterations; i++) {
            MPI_Alltoall(send, bytes, MPI_CHAR, receive, bytes, MPI_CHAR, MPI_COMM_WORLD);
        }
        double mean_us = (MPI_Wtime() - start) * 1e6 / options.iterations;

        double sum_us = 0.0;
        MPI_Reduce(&mean_us, &sum_us, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%-10d%18.2f\n", bytes, sum_us / size);
            fflush(stdout);
        }
    }

    free(send);
    free(receive);
    MPI_Finalize();
    return 0;
}
