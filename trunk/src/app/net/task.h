/* One lifecycle for every long-lived coroutine: start with an owner,
 * interrupt, join; after the join the owner frees what the coroutine held.
 *
 *   task_start(&f->task, body, f)     // joinable coroutine
 *   task_stop(&f->task)                // stop flag, st_thread_interrupt, join
 *
 * The body checks *task.stopp after every call that can block (an
 * interrupted st_* call returns EINTR) and returns; it never frees its own
 * record. A kind whose coroutines also end on their own (connections, edge
 * pulls, hook jobs) lives in a tasks_t group: a coroutine that ends
 * is joined by the group's reaper, which then calls the owner's release();
 * tasks_stop() interrupts every member at once, then joins each one in
 * turn (the total wait is the slowest one's, not the sum). */
#ifndef TASK_H
#define TASK_H

#include <st.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct task task_t;
typedef struct tasks tasks_t;
typedef void (*task_fn)(void *arg);

struct task {
    st_thread_t thread;         /* joinable; NULL when not running */
    int stop;                   /* the default stop flag */
    int *stopp;                 /* what interrupt sets: &stop, or a flag the body already checks */
    int ended;                  /* the body returned: waiting for the join */
    task_fn body;
    void *arg;
    /* in a group only */
    tasks_t *group;
    void (*release)(void *arg); /* the owner's cleanup after the join (frees arg) */
    task_t *prev, *next;
};

/* Start body(arg) in a joinable coroutine. stopp: the flag interrupt sets
 * (NULL: t->stop). 0 or RILL_ERR_NOMEM (nothing started). */
int task_start(task_t *t, task_fn body, void *arg, int *stopp);
/* Ask it to stop: set the flag, interrupt what it blocks in. Never yields. */
void task_interrupt(task_t *t);
/* Wait until the body returned (yields). An interrupt of the caller does not
 * cut the wait short: the record must not be freed while the body runs. */
void task_join(task_t *t);
/* interrupt + join; a task never started (thread NULL) is a no-op. */
void task_stop(task_t *t);

struct tasks {
    const char *name;           /* for logs: "rtmp connections", ... */
    task_t *list;               /* running members */
    int count;
    task_t *done;               /* ended members the reaper has not joined yet */
    int ndone;
    int closing;                /* tasks_stop under way: no new members */
    st_cond_t ended;            /* a member's body returned (made with the first member) */
    st_thread_t reaper;         /* joins ended members; NULL until the first member */
};

/* No allocation: the reaper starts with the first member. 0. */
int tasks_init(tasks_t *g, const char *name);
/* Start a member; release(arg) runs after it is joined (by the reaper, or by
 * tasks_stop). On error nothing started and release is not called. */
int tasks_start(tasks_t *g, task_t *t, task_fn body, void *arg, int *stopp,
                     void (*release)(void *arg));
/* Interrupt every member; join and release each; stop the reaper. */
void tasks_stop(tasks_t *g);

#ifdef __cplusplus
}
#endif
#endif
