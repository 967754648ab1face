/* Diagnosis for `scripts/bench ddict`: what a process's first access to a page of a shared-memory file costs on this
 * machine, after the page exists and after the process's page tables were filled. `first_touch [MIB]` (default 128):
 * makes a /dev/shm file of MIB mebibytes, backs and writes it through one mapping, then for fresh mappings of the
 * same file prints the milliseconds of
 *   populate:   MADV_POPULATE_WRITE over the mapping (the kernel's page tables),
 *   read:       one byte read a page, after populate,
 *   write:      a memset of the whole mapping, after that read,
 *   fault:      one byte written a page in a mapping never populated (a fault a page),
 *   write_only: a memset of a populated mapping never read before.
 * On bare metal read costs a cache miss a page and write runs at memory speed either way. Under a hypervisor that
 * keeps page tables of its own (shadow paging), read and write_only cost several microseconds a page: a process's
 * first access exits to the hypervisor even for a populated page. Last line: `BENCH first_touch_us_per_page=<us>`
 * (read, per page). The file is unlinked as soon as it is made. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static char *map(int fd, size_t bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 128;
    if (mib < 1 || mib > 4096) {
        fprintf(stderr, "usage: first_touch [MIB: 1 to 4096]\n");
        return 2;
    }

    size_t bytes = (size_t)mib << 20, page = (size_t)sysconf(_SC_PAGESIZE), pages = bytes / page;
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/first-touch-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    /* Gone from /dev/shm at once: the descriptor and the mappings keep the memory, and nothing is left behind
     * whatever happens next. */
    unlink(path);
    if (ftruncate(fd, (off_t)bytes) != 0) {
        perror("ftruncate");
        return 1;
    }

    char *owner = map(fd, bytes);
    if (madvise(owner, bytes, MADV_POPULATE_WRITE) != 0) {
        perror("madvise(MADV_POPULATE_WRITE) (Linux 5.14 or later, and room in /dev/shm)");
        return 1;
    }
    memset(owner, 1, bytes);

    char *a = map(fd, bytes);
    double t = now_ms();
    if (madvise(a, bytes, MADV_POPULATE_WRITE) != 0) {
        perror("madvise(MADV_POPULATE_WRITE)");
        return 1;
    }
    double populate = now_ms() - t;
    volatile long sum = 0;
    t = now_ms();
    for (size_t i = 0; i < bytes; i += page) {
        sum += a[i];
    }
    double read = now_ms() - t;
    t = now_ms();
    memset(a, 2, bytes);
    double write = now_ms() - t;

    char *b = map(fd, bytes);
    t = now_ms();
    for (size_t i = 0; i < bytes; i += page) {
        b[i] = 3;
    }
    double fault = now_ms() - t;

    char *c = map(fd, bytes);
    if (madvise(c, bytes, MADV_POPULATE_WRITE) != 0) {
        perror("madvise(MADV_POPULATE_WRITE)");
        return 1;
    }
    t = now_ms();
    memset(c, 4, bytes);
    double write_only = now_ms() - t;

    printf("first_touch mib=%ld pages=%zu populate_ms=%.1f read_ms=%.1f write_ms=%.1f fault_ms=%.1f write_only_ms=%.1f\n",
           mib, pages, populate, read, write, fault, write_only);
    printf("BENCH first_touch_us_per_page=%.2f\n", read * 1e3 / pages);
    munmap(a, bytes);
    munmap(b, bytes);
    munmap(c, bytes);
    munmap(owner, bytes);
    close(fd);
    return sum == -1;
}
