/* uring-send: what a send costs the sender when the same bytes go to many
 * loopback TCP sockets, one send() each against one io_uring_enter() for a
 * batch of sends (app/net/send_batch.c). A child process on CPU 1 accepts N
 * connections and drains them every 100 ms (as rill-bench reads); the parent
 * on CPU 0 sends LEN bytes to every socket every PERIOD_US, MSG_DONTWAIT,
 * for SECONDS, and prints its own CPU (user + system) per send.
 *
 *   uring-send N MODE LEN PERIOD_US SECONDS [PORT]
 *
 * MODE 0: send() per socket; 1: io_uring, DEPTH sends per enter; 2: the
 * same with the fds registered (IOSQE_FIXED_FILE). Example, 2000 players of
 * a 1 Mbit/s stream written at each message (about 68 a second):
 *   uring-send 2000 0 2000 15000 8; uring-send 2000 1 2000 15000 8 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEPTH 512

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void drain(int ls, int n, double seconds)
{
    pin(1);
    int *fds = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        fds[i] = accept(ls, NULL, NULL);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    static char buf[65536];
    double end = now_s() + seconds;
    while (now_s() < end) {
        usleep(100000);
        for (int i = 0; i < n; i++)
            while (read(fds[i], buf, sizeof buf) > 0) {
            }
    }
    exit(0);
}

/* One round through io_uring: returns sends that took less than len. */
static long round_uring(struct io_uring *ring, const int *fds, int n, const char *msg, int len, int fixed)
{
    long short_sends = 0;
    for (int i = 0; i < n;) {
        int k = 0;
        for (; i < n && k < DEPTH; i++, k++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
            io_uring_prep_send(sqe, fixed ? i : fds[i], msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
        }
        io_uring_submit_and_wait(ring, (unsigned)k);
        struct io_uring_cqe *cqe;
        unsigned head, got = 0;
        io_uring_for_each_cqe(ring, head, cqe) {
            got++;
            if (cqe->res < len) short_sends++;
        }
        io_uring_cq_advance(ring, got);
    }
    return short_sends;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: uring-send N MODE(0 send, 1 io_uring, 2 io_uring fixed files) LEN PERIOD_US SECONDS [PORT]\n");
        return 2;
    }
    int n = atoi(argv[1]), mode = atoi(argv[2]), len = atoi(argv[3]), period_us = atoi(argv[4]);
    double seconds = atof(argv[5]);
    int port = argc > 6 ? atoi(argv[6]) : 39123;
    struct rlimit rl = {65536, 65536};
    setrlimit(RLIMIT_NOFILE, &rl);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) {
        perror("listen");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) drain(ls, n, seconds + 3);
    pin(0);
    int *fds = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a)) {
            perror("connect");
            kill(child, SIGTERM);
            return 1;
        }
    }
    char *msg = malloc((size_t)len);
    memset(msg, 'x', (size_t)len);
    struct io_uring ring;
    if (mode && io_uring_queue_init(DEPTH, &ring, 0)) {
        perror("io_uring_queue_init");
        kill(child, SIGTERM);
        return 1;
    }
    if (mode == 2 && io_uring_register_files(&ring, fds, (unsigned)n)) {
        perror("io_uring_register_files");
        kill(child, SIGTERM);
        return 1;
    }
    usleep(500000);
    double t0 = now_s(), c0 = cpu_s(), next = t0;
    long sends = 0, short_sends = 0;
    while (now_s() < t0 + seconds) {
        next += period_us / 1e6;
        double wait = next - now_s();
        if (wait > 0) usleep((useconds_t)(wait * 1e6));
        if (mode == 0) {
            for (int i = 0; i < n; i++)
                if (send(fds[i], msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) < len) short_sends++;
        } else {
            short_sends += round_uring(&ring, fds, n, msg, len, mode == 2);
        }
        sends += n;
    }
    double t1 = now_s(), cpu = cpu_s() - c0;
    printf("mode=%d n=%d len=%d cpu=%.1f%% of a core, %.2f us per send, sends=%ld short=%ld\n", mode, n, len,
           100 * cpu / (t1 - t0), cpu * 1e6 / (double)sends, sends, short_sends);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return 0;
}
