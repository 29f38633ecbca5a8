#include "task.h"
#include "coro_stack.h"
#include "rill_error.h"
#include "rill_log.h"

#include <errno.h>
#include <string.h>

static void unlink_member(tasks_t *g, task_t *t);

static void *trampoline(void *arg)
{
    task_t *t = arg;
    coro_stack_enter(__builtin_frame_address(0));
    t->body(t->arg);
    /* No yield from here to the thread's end: the reaper sees it ended
     * only once it is a zombie or about to be one. */
    t->ended = 1;
    tasks_t *g = t->group;
    if (g) {
        /* from the running members to the ended ones: the reaper needs no walk */
        unlink_member(g, t);
        t->next = g->done;
        g->done = t;
        g->ndone++;
        st_cond_signal(g->ended);
    }
    return NULL;
}

static int start(task_t *t, task_fn body, void *arg, int *stopp)
{
    t->stop = 0;
    t->stopp = stopp ? stopp : &t->stop;
    t->ended = 0;
    t->body = body;
    t->arg = arg;
    t->thread = st_thread_create(trampoline, t, 1, CORO_STACK_SIZE);
    return t->thread ? 0 : RILL_ERR_NOMEM;
}

int task_start(task_t *t, task_fn body, void *arg, int *stopp)
{
    t->group = NULL;
    return start(t, body, arg, stopp);
}

void task_interrupt(task_t *t)
{
    if (!t->thread) return;
    *t->stopp = 1;
    if (!t->ended) st_thread_interrupt(t->thread);
}

void task_join(task_t *t)
{
    if (!t->thread) return;
    /* st_thread_join returns EINTR when the caller itself is interrupted
     * (a publisher kicked while it stops its forwarders): wait on. The body
     * was asked to stop, so this ends. */
    for (int i = 0; i < 1000000; i++)
        if (st_thread_join(t->thread, NULL) == 0 || errno != EINTR) break;
    t->thread = NULL;
}

void task_stop(task_t *t)
{
    task_interrupt(t);
    task_join(t);
}

/* ---- groups ---------------------------------------------------------------- */

static void unlink_member(tasks_t *g, task_t *t)
{
    if (t->prev) t->prev->next = t->next;
    else g->list = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
    g->count--;
}

/* Join and release every member whose body has returned. A join of a
 * zombie does not block and release never yields, so nothing is added to
 * the done list while it is emptied. */
static void reap(tasks_t *g)
{
    while (g->done) {
        task_t *t = g->done;
        g->done = t->next;
        g->ndone--;
        task_join(t);
        t->release(t->arg);
    }
}

static void *reaper_main(void *arg)
{
    tasks_t *g = arg;
    while (!g->closing) {
        st_cond_wait(g->ended);     /* tasks_stop interrupts it */
        if (!g->closing) reap(g);
    }
    return NULL;
}

int tasks_init(tasks_t *g, const char *name)
{
    memset(g, 0, sizeof *g);
    g->name = name;
    return 0;
}

/* The reaper and its condition are made with the first member, so a group
 * costs nothing until used (and needs no st_init before). */
static int start_reaper(tasks_t *g)
{
    g->ended = st_cond_new();
    if (!g->ended) return RILL_ERR_NOMEM;
    g->reaper = st_thread_create(reaper_main, g, 1, CORO_STACK_SIZE);
    if (!g->reaper) {
        st_cond_destroy(g->ended);
        g->ended = NULL;
        return RILL_ERR_NOMEM;
    }
    return 0;
}

int tasks_start(tasks_t *g, task_t *t, task_fn body, void *arg, int *stopp,
                     void (*release)(void *arg))
{
    if (g->closing) return RILL_ERR_INTERRUPTED;
    if (!g->reaper && start_reaper(g) != 0) return RILL_ERR_NOMEM;
    t->group = g;
    t->release = release;
    int rc = start(t, body, arg, stopp);
    if (rc) return rc;
    t->prev = NULL;
    t->next = g->list;
    if (g->list) g->list->prev = t;
    g->list = t;
    g->count++;
    return 0;
}

void tasks_stop(tasks_t *g)
{
    g->closing = 1;
    if (!g->ended) return;      /* never had a member */
    if (g->reaper) {
        st_thread_interrupt(g->reaper);
        st_thread_join(g->reaper, NULL);
        g->reaper = NULL;
    }
    if (g->count) rill_trace("stopping %d %s", g->count, g->name);
    for (task_t *t = g->list; t; t = t->next) task_interrupt(t);
    /* Each join yields, and the joined member moves itself to the done list
     * as it ends: take the head of the running list again each time.
     * Members a stopping member would start are refused (closing is set). */
    while (g->list) {
        task_join(g->list);
        reap(g);
    }
    reap(g);
    st_cond_destroy(g->ended);
    g->ended = NULL;
}
