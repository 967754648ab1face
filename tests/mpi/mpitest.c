/*
 * mpitest: one MPI program whose behaviour is chosen on the command line, used by the
 * Dragon.NET tests to check how the PMI server and the process layer see healthy and
 * failing ranks.
 *
 *   mpitest hello                      print "rank=R size=N host=H", finalize
 *   mpitest allreduce                  sum rank+1 over all ranks, barrier, print "rank=R size=N sum=S", finalize
 *   mpitest abort R CODE               rank R calls MPI_Abort(MPI_COMM_WORLD, CODE), others wait in a barrier
 *   mpitest exit-before-init R CODE    rank R exits with CODE before MPI_Init, others initialize normally
 *   mpitest die-after-init R           rank R raises SIGKILL on itself after MPI_Init, others wait in a barrier
 *   mpitest sleep S                    initialize, sleep S seconds, finalize
 *
 * Every rank that gets through MPI_Init prints "initialized rank=R t=<CLOCK_REALTIME ns>" at
 * once, flushed, so wire-up time can be measured from outside.
 *
 * Build: mpicc.mpich -O2 -o artifacts/mpi/mpitest tests/mpi/mpitest.c
 *        mpicc.openmpi -O2 -o artifacts/mpi/mpitest-openmpi tests/mpi/mpitest.c
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: mpitest hello\n"
            "       mpitest allreduce\n"
            "       mpitest abort RANK CODE\n"
            "       mpitest exit-before-init RANK CODE\n"
            "       mpitest die-after-init RANK\n"
            "       mpitest sleep SECONDS\n");
    exit(2);
}

static int parse_int(const char *text, const char *what)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < INT_MIN || value > INT_MAX) {
        fprintf(stderr, "mpitest: %s must be an integer, got '%s'\n", what, text);
        usage();
    }
    return (int)value;
}

/* The rank before MPI_Init comes from the launcher's environment: hydra and Dragon both set
 * PMI_RANK (PMIX_RANK for Open MPI ranks); MPI_LOCALRANKID equals the rank on a single node. */
static int rank_before_init(void)
{
    const char *text = getenv("PMI_RANK");
    if (text == NULL) {
        text = getenv("PMIX_RANK");
    }
    if (text == NULL) {
        text = getenv("MPI_LOCALRANKID");
    }
    return text != NULL ? atoi(text) : -1;
}

static int initialize(int *argc, char ***argv, int *size)
{
    int rank = -1;
    MPI_Init(argc, argv);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    printf("initialized rank=%d t=%lld\n", rank, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    fflush(stdout);
    return rank;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
    }
    const char *mode = argv[1];
    int size = 0;

    if (strcmp(mode, "hello") == 0) {
        if (argc != 2) {
            usage();
        }
        int rank = initialize(&argc, &argv, &size);
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        printf("rank=%d size=%d host=%s\n", rank, size, host);
        fflush(stdout);
        MPI_Finalize();
        return 0;
    }

    if (strcmp(mode, "allreduce") == 0) {
        if (argc != 2) {
            usage();
        }
        int rank = initialize(&argc, &argv, &size);
        int mine = rank + 1, sum = 0;
        MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        printf("rank=%d size=%d sum=%d\n", rank, size, sum);
        fflush(stdout);
        MPI_Finalize();
        return 0;
    }

    if (strcmp(mode, "abort") == 0) {
        if (argc != 4) {
            usage();
        }
        int victim = parse_int(argv[2], "RANK");
        int code = parse_int(argv[3], "CODE");
        int rank = initialize(&argc, &argv, &size);
        if (rank == victim) {
            MPI_Abort(MPI_COMM_WORLD, code);
            /* Only reached if the launcher closed the PMI socket instead of killing us. */
            fprintf(stderr, "mpitest: MPI_Abort returned on rank %d\n", rank);
            return 100;
        }
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Finalize();
        return 0;
    }

    if (strcmp(mode, "exit-before-init") == 0) {
        if (argc != 4) {
            usage();
        }
        int victim = parse_int(argv[2], "RANK");
        int code = parse_int(argv[3], "CODE");
        if (rank_before_init() == victim) {
            return code;
        }
        initialize(&argc, &argv, &size);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Finalize();
        return 0;
    }

    if (strcmp(mode, "die-after-init") == 0) {
        if (argc != 3) {
            usage();
        }
        int victim = parse_int(argv[2], "RANK");
        int rank = initialize(&argc, &argv, &size);
        if (rank == victim) {
            raise(SIGKILL);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Finalize();
        return 0;
    }

    if (strcmp(mode, "sleep") == 0) {
        if (argc != 3) {
            usage();
        }
        int seconds = parse_int(argv[2], "SECONDS");
        if (seconds < 0) {
            fprintf(stderr, "mpitest: SECONDS must not be negative\n");
            usage();
        }
        initialize(&argc, &argv, &size);
        sleep((unsigned)seconds);
        MPI_Finalize();
        return 0;
    }

    fprintf(stderr, "mpitest: unknown mode '%s'\n", mode);
    usage();
    return 2;
}
