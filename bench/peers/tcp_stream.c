/* Peer of `scripts/bench remote`: framed messages between two processes over loopback TCP, the floor a transport
 * between two node services on one machine can be held against.
 *
 *   tcp_stream stream  COUNT SIZE   one write() per message (a 4-byte length, then SIZE bytes, in one buffer)
 *   tcp_stream batched COUNT SIZE   messages packed into 64 KiB buffers, one write() per buffer
 *   tcp_stream pingpong COUNT SIZE  COUNT timed round trips of one message (after COUNT/10, at least 200, to warm up)
 *
 * The parent listens on 127.0.0.1, forks the sender (or the echo), accepts, and reads with 64 KiB reads, counting
 * framed messages. TCP_NODELAY on both sides, as a request transport sets it. The sender writes its CLOCK_MONOTONIC
 * time into the first message just before the first write; the rate runs from there to the last message read.
 * Prints `BENCH msgs_per_s=`, `BENCH bytes_per_s=` (streams) or `BENCH p50_us=`, `BENCH p99_us=` (pingpong). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (64 * 1024)

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n <= 0)
            die("write");
        data += n;
        length -= (size_t)n;
    }
}

static void read_all(int fd, char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = read(fd, data, length);
        if (n <= 0)
            die("read");
        data += n;
        length -= (size_t)n;
    }
}

static void no_delay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("setsockopt");
}

/* One frame: a 4-byte length, then SIZE bytes; the first frame carries the send time. */
static void fill_frame(char *frame, uint32_t size, int64_t stamp)
{
    memcpy(frame, &size, 4);
    memset(frame + 4, 0, size);
    if (size >= 8)
        memcpy(frame + 4, &stamp, 8);
}

static void send_stream(int fd, long count, uint32_t size, int batched)
{
    size_t frame_bytes = 4 + (size_t)size;
    char *frame = malloc(frame_bytes);
    if (!batched) {
        for (long i = 0; i < count; i++) {
            fill_frame(frame, size, i == 0 ? now_ns() : 0);
            write_all(fd, frame, frame_bytes);
        }
    } else {
        size_t capacity = frame_bytes > BATCH_BYTES ? frame_bytes : BATCH_BYTES;
        char *buffer = malloc(capacity);
        size_t used = 0;
        for (long i = 0; i < count; i++) {
            if (used + frame_bytes > capacity) {
                write_all(fd, buffer, used);
                used = 0;
            }
            fill_frame(buffer + used, size, i == 0 ? now_ns() : 0);
            used += frame_bytes;
        }
        write_all(fd, buffer, used);
        free(buffer);
    }
    free(frame);
}

/* Reads frames until COUNT are complete; returns the first frame's send time. */
static int64_t receive_stream(int fd, long count, uint32_t size)
{
    size_t frame_bytes = 4 + (size_t)size;
    size_t capacity = BATCH_BYTES + frame_bytes;
    char *buffer = malloc(capacity);
    size_t have = 0, offset = 0;
    long received = 0;
    int64_t stamp = 0;
    while (received < count) {
        ssize_t n = read(fd, buffer + have, capacity - have);
        if (n <= 0)
            die("read");
        have += (size_t)n;
        while (have - offset >= 4) {
            uint32_t length;
            memcpy(&length, buffer + offset, 4);
            if (length != size) {
                fprintf(stderr, "bad frame length %u\n", length);
                exit(1);
            }
            if (have - offset < 4 + (size_t)length)
                break;
            if (received == 0 && size >= 8)
                memcpy(&stamp, buffer + offset + 4, 8);
            offset += 4 + length;
            received++;
        }
        memmove(buffer, buffer + offset, have - offset);
        have -= offset;
        offset = 0;
    }
    free(buffer);
    return stamp;
}

static void echo(int fd, uint32_t size)
{
    size_t frame_bytes = 4 + (size_t)size;
    char *frame = malloc(frame_bytes);
    for (;;) {
        ssize_t n = read(fd, frame, 4);
        if (n == 0)
            break;
        if (n != 4)
            read_all(fd, frame + n, 4 - (size_t)n);
        read_all(fd, frame + 4, size);
        write_all(fd, frame, frame_bytes);
    }
    free(frame);
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void ping(int fd, long count, uint32_t size)
{
    size_t frame_bytes = 4 + (size_t)size;
    char *frame = malloc(frame_bytes);
    fill_frame(frame, size, 0);
    long warm = count / 10 > 200 ? count / 10 : 200;
    double *samples = malloc(sizeof(double) * (size_t)count);
    for (long i = 0; i < warm + count; i++) {
        int64_t start = now_ns();
        write_all(fd, frame, frame_bytes);
        read_all(fd, frame, frame_bytes);
        if (i >= warm)
            samples[i - warm] = (double)(now_ns() - start) / 1000.0;
    }
    qsort(samples, (size_t)count, sizeof(double), compare);
    /* Nearest rank, as the driver's own percentiles. */
    long p50 = (count * 50 + 99) / 100, p99 = (count * 99 + 99) / 100;
    printf("BENCH p50_us=%.3f\nBENCH p99_us=%.3f\n", samples[p50 > 0 ? p50 - 1 : 0], samples[p99 > 0 ? p99 - 1 : 0]);
    free(samples);
    free(frame);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tcp_stream stream|batched|pingpong COUNT SIZE\n");
        return 2;
    }
    const char *mode = argv[1];
    long count = atol(argv[2]);
    uint32_t size = (uint32_t)atol(argv[3]);
    int pingpong = strcmp(mode, "pingpong") == 0, batched = strcmp(mode, "batched") == 0;
    if (!pingpong && !batched && strcmp(mode, "stream") != 0) {
        fprintf(stderr, "unknown mode '%s'\n", mode);
        return 2;
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t address_length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &address_length) != 0)
        die("listen");

    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        close(listener);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
            die("connect");
        no_delay(fd);
        if (pingpong)
            echo(fd, size);
        else
            send_stream(fd, count, size, batched);
        close(fd);
        _exit(0);
    }

    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
        die("accept");
    no_delay(fd);
    close(listener);
    if (pingpong) {
        ping(fd, count, size);
        shutdown(fd, SHUT_WR);
    } else {
        int64_t start = receive_stream(fd, count, size);
        double seconds = (double)(now_ns() - start) / 1e9;
        printf("BENCH msgs_per_s=%.1f\nBENCH bytes_per_s=%.1f\n", count / seconds, count * (double)size / seconds);
    }
    close(fd);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the other process failed\n");
        return 1;
    }
    return 0;
}
