#include "send_batch.h"
#include "rill_log.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct send_batch_entry {
    int fd;
    const void *data;
    size_t len;
    void *ctx;
    ssize_t res;
};

#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

/* The ring, once: io_uring when the kernel allows it and nobody said no. */
static void setup(send_batch_t *b)
{
    b->tried = 1;
    b->q = calloc(SEND_BATCH_DEPTH, sizeof(*b->q));
    const char *env = getenv("RILL_IO_URING");
    if (b->no_uring || (env && strcmp(env, "off") == 0)) return;
    struct io_uring *r = calloc(1, sizeof(*r));
    if (!r) return;
    /* SUBMIT_ALL: one send that fails at once (a closed fd) does not leave
     * the ones after it unsubmitted in the ring */
    int rc = io_uring_queue_init(SEND_BATCH_DEPTH, r, IORING_SETUP_SUBMIT_ALL);
    if (rc == -EINVAL) rc = io_uring_queue_init(SEND_BATCH_DEPTH, r, 0);
    if (rc < 0) {
        rill_warn("io_uring not available (%s): the write pass sends one socket at a time", strerror(-rc));
        free(r);
        return;
    }
    b->ring = r;
    rill_trace("io_uring: the write pass hands the kernel up to %d sends at once", SEND_BATCH_DEPTH);
}

int send_batch_uring_allowed(void)
{
    struct io_uring r;
    if (io_uring_queue_init(2, &r, 0) < 0) return 0;
    io_uring_queue_exit(&r);
    return 1;
}

void send_batch_free(send_batch_t *b)
{
    send_batch_flush(b);
    if (b->ring) {
        io_uring_queue_exit(b->ring);
        free(b->ring);
    }
    free(b->q);
    memset(b, 0, sizeof(*b));
}

/* Take the completions there are; returns how many. */
static int reap(send_batch_t *b)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    int ours = 0;
    io_uring_for_each_cqe(b->ring, head, cqe) {
        n++;
        /* not a send of ours: liburing's own timeout on old kernels */
        if (cqe->user_data >= (uint64_t)b->n) continue;
        b->q[cqe->user_data].res = cqe->res;
        ours++;
    }
    io_uring_cq_advance(b->ring, n);
    return ours;
}

/* Every send is MSG_DONTWAIT, so the kernel completes it inside
 * io_uring_enter. Should one ever be left in flight it still reads our
 * buffer: wait for it (shutting its socket after 100 ms, which ends any
 * send) rather than return with the buffer in use. */
static void wait_rest(send_batch_t *b, int left)
{
    rill_error("io_uring: %d sends still in flight after submit; waiting for them", left);
    for (int i = 0; left > 0; i++) {
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 1000 * 1000};
        struct io_uring_cqe *cqe;
        io_uring_wait_cqe_timeout(b->ring, &cqe, &ts);
        left -= reap(b);
        if (i == 100)
            for (int k = 0; k < b->n; k++)
                if (b->q[k].res == -EINPROGRESS) shutdown(b->q[k].fd, SHUT_RDWR);
    }
}

static void send_one(struct send_batch_entry *e)
{
    ssize_t w = send(e->fd, e->data, e->len, SEND_FLAGS);
    e->res = w < 0 ? -errno : w;
}

/* Not handed to the kernel (the ring refused a submit, or had no room): sent
 * one by one at the end of the flush. */
#define NOT_SUBMITTED (-ECANCELED)

/* The ring refused to take its sends (not seen; io_uring_enter's -EBUSY or
 * -ENOMEM): stop using it; what it did not take is sent one by one. */
static void ring_failed(send_batch_t *b, int rc)
{
    rill_error("io_uring: submit failed (%s): the write pass sends one socket at a time from now", strerror(-rc));
    io_uring_queue_exit(b->ring);
    free(b->ring);
    b->ring = NULL;
}

static void send_uring(send_batch_t *b)
{
    int queued = 0;
    for (int i = 0; i < b->n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(b->ring);    /* the ring has DEPTH entries */
        if (!sqe) {
            b->q[i].res = NOT_SUBMITTED;
            continue;
        }
        io_uring_prep_send(sqe, b->q[i].fd, b->q[i].data, b->q[i].len, SEND_FLAGS);
        sqe->user_data = (uint64_t)i;
        b->q[i].res = -EINPROGRESS;
        queued++;
    }
    int sent = 0, rc = 0;
    while (sent < queued && (rc = io_uring_submit(b->ring)) > 0) {
        sent += rc;
        b->enters++;
    }
    if (sent < queued) {
        /* the kernel takes SQEs in order: the ones after the first `sent` are still ours */
        for (int i = 0, k = 0; i < b->n; i++)
            if (b->q[i].res == -EINPROGRESS && k++ >= sent) b->q[i].res = NOT_SUBMITTED;
    }
    int left = sent - reap(b);
    if (left > 0) wait_rest(b, left);
    if (sent < queued) ring_failed(b, rc < 0 ? rc : -EBUSY);
    for (int i = 0; i < b->n; i++)
        if (b->q[i].res == NOT_SUBMITTED) send_one(&b->q[i]);
}

void send_batch_flush(send_batch_t *b)
{
    if (b->n == 0) return;
    if (b->ring) {
        send_uring(b);
    } else {
        for (int i = 0; i < b->n; i++) send_one(&b->q[i]);
        b->enters += (uint64_t)b->n;
    }
    int n = b->n;
    b->n = 0;
    for (int i = 0; i < n; i++) {
        /* the kernel's work since the adds pushed the contexts out of cache */
        if (i + 4 < n) __builtin_prefetch(b->q[i + 4].ctx);
        b->done(b->q[i].ctx, b->q[i].res);
    }
}

void send_batch_add(send_batch_t *b, int fd, const void *data, size_t len, void *ctx, send_batch_done_fn done)
{
    if (!b->tried) setup(b);
    if (b->n == SEND_BATCH_DEPTH || (b->n > 0 && b->done != done)) send_batch_flush(b);
    if (!b->q) {    /* no memory for the queue: send it now */
        struct send_batch_entry e = {fd, data, len, ctx, 0};
        send_one(&e);
        done(ctx, e.res);
        return;
    }
    b->q[b->n++] = (struct send_batch_entry){fd, data, len, ctx, 0};
    b->done = done;
}
