/* Non-blocking sends to many sockets, handed to the kernel together: one
 * io_uring_enter() for up to SEND_BATCH_DEPTH of them instead of one send()
 * each. A stream's write pass sends the same new bytes to every player at the
 * live edge; on loopback each send() cost about 2.7 us and a batch of them
 * 2.0-2.3 us a send (research/uring-send). Every send is MSG_DONTWAIT, so
 * the kernel completes each one before io_uring_enter returns (taken whole,
 * in part, or -EAGAIN): nothing is ever in flight after a flush, and the
 * caller's buffers need only live until then.
 *
 * Where io_uring is not allowed (an old kernel, a container's seccomp, the
 * kernel.io_uring_disabled sysctl) the batch falls back to one send() each,
 * with the same results. Never yields. */
#ifndef SEND_BATCH_H
#define SEND_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEND_BATCH_DEPTH 512        /* sends per io_uring_enter */

/* Called once per send at the flush: res is the bytes the socket took (maybe
 * fewer than asked) or -errno (-EAGAIN: it took nothing). */
typedef void (*send_batch_done_fn)(void *ctx, ssize_t res);

typedef struct send_batch {
    struct io_uring *ring;      /* NULL: one send() each */
    int tried;                  /* ring set up (or found not allowed) */
    int no_uring;               /* never use io_uring (tests; RILL_IO_URING=off) */
    struct send_batch_entry *q; /* the sends queued since the last flush */
    int n;
    send_batch_done_fn done;    /* of the sends queued */
    uint64_t enters;            /* io_uring_enter calls (or send() calls without a ring) */
} send_batch_t;

/* A zeroed send_batch_t is ready; the ring is made by the first send. */
void send_batch_free(send_batch_t *b);
/* Queue len bytes at data to fd; ctx comes back to done at the flush. A full
 * batch is flushed first (done runs for the sends queued before). All sends
 * queued between two flushes share one done. data must stay until the flush. */
void send_batch_add(send_batch_t *b, int fd, const void *data, size_t len, void *ctx, send_batch_done_fn done);
/* Send what is queued; done(ctx, res) for each, in the order queued. */
void send_batch_flush(send_batch_t *b);
/* Whether this kernel lets the process make an io_uring (a probe: one small
 * ring made and closed). */
int send_batch_uring_allowed(void);
/* Whether sends go through io_uring (after the first one). */
static inline int send_batch_uring(const send_batch_t *b) { return b->ring != NULL; }

#ifdef __cplusplus
}
#endif
#endif
