#include "hls_disk.h"
#include "rill_error.h"
#include "rill_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PENDING 4096        /* writes: a disk that cannot keep up loses files, not memory */

enum { OP_WRITE = 1, OP_UNLINK };

struct hls_disk_job {
    int op;
    int ok;
    rill_payload_t *data;       /* OP_WRITE; released by the reaper */
    struct hls_disk_job *next;
    char path[];
};

/* ---- the thread: plain system calls, no state-threads, no refcounts ---- */

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0755);
        *p = '/';
        if (r != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int do_write(hls_disk_job_t *j)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", j->path) >= (int)sizeof tmp) return -1;
    if (make_dirs(j->path) != 0) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    int r = write_all(fd, j->data->data, j->data->size);
    if (close(fd) != 0) r = -1;
    if (r == 0) r = rename(tmp, j->path);
    if (r != 0) unlink(tmp);
    return r;
}

static void *writer_main(void *arg)
{
    hls_disk_t *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->todo && !d->stop) pthread_cond_wait(&d->cv, &d->mu);
        hls_disk_job_t *j = d->todo;
        if (!j) break;              /* stop, and nothing left to do */
        d->todo = j->next;
        if (!d->todo) d->todo_tail = NULL;
        pthread_mutex_unlock(&d->mu);
        j->ok = (j->op == OP_WRITE ? do_write(j) : unlink(j->path) == 0 || errno == ENOENT ? 0 : -1) == 0;
        pthread_mutex_lock(&d->mu);
        j->next = d->done;
        d->done = j;
        char b = 1;
        /* one byte per job at most; a full pipe already says "jobs are done" */
        if (write(d->pipe_w, &b, 1) < 0 && errno != EAGAIN) { /* nothing to do: the reaper also polls */ }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- the state-threads side ---- */

static void reap(hls_disk_t *d)
{
    pthread_mutex_lock(&d->mu);
    hls_disk_job_t *j = d->done;
    d->done = NULL;
    pthread_mutex_unlock(&d->mu);
    while (j) {
        hls_disk_job_t *n = j->next;
        if (!j->ok) {
            if (d->failures++ < 10 || d->failures % 1000 == 0)
                rill_warn("hls: cannot %s %s (%llu failures so far)", j->op == OP_WRITE ? "write" : "remove",
                          j->path, (unsigned long long)d->failures);
        } else if (j->op == OP_WRITE) {
            d->files_written++;
        } else {
            d->files_removed++;
        }
        rill_payload_unref(j->data);
        free(j);
        d->pending--;
        j = n;
    }
}

static void reaper_main(void *arg)
{
    hls_disk_t *d = arg;
    char buf[256];
    while (!d->reaper.stop) {
        /* a second's timeout: a byte lost to a full pipe delays a release, never loses it */
        if (st_read(d->rfd, buf, sizeof buf, 1000 * 1000) < 0 && errno == EINTR && d->reaper.stop) break;
        reap(d);
    }
}

static int enqueue(hls_disk_t *d, int op, const char *path, rill_payload_t *data)
{
    if (!d->started) return RILL_ERR_INVAL;
    /* a removal holds a path only, and there is at most one per file
     * written: never dropped, or files would stay on disk for good */
    if (op == OP_WRITE && d->pending >= MAX_PENDING) {
        d->dropped++;
        return RILL_ERR_LIMIT;
    }
    size_t n = strlen(path);
    hls_disk_job_t *j = calloc(1, sizeof *j + n + 1);
    if (!j) return RILL_ERR_NOMEM;
    j->op = op;
    j->data = rill_payload_ref(data);
    memcpy(j->path, path, n + 1);
    d->pending++;
    pthread_mutex_lock(&d->mu);
    if (d->todo_tail) d->todo_tail->next = j;
    else d->todo = j;
    d->todo_tail = j;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

int hls_disk_write(hls_disk_t *d, const char *path, rill_payload_t *data)
{
    return enqueue(d, OP_WRITE, path, data);
}

int hls_disk_unlink(hls_disk_t *d, const char *path)
{
    return enqueue(d, OP_UNLINK, path, NULL);
}

int hls_disk_start(hls_disk_t *d)
{
    memset(d, 0, sizeof *d);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return RILL_ERR_SYSTEM;
    d->pipe_r = fds[0];
    d->pipe_w = fds[1];
    if (!(d->rfd = st_netfd_open(d->pipe_r))) {
        close(fds[0]);
        close(fds[1]);
        return RILL_ERR_SYSTEM;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->thread, NULL, writer_main, d) != 0) {
        st_netfd_close(d->rfd);
        close(d->pipe_w);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        return RILL_ERR_SYSTEM;
    }
    d->started = 1;
    if (task_start(&d->reaper, reaper_main, d, NULL) != 0) {
        hls_disk_stop(d);
        return RILL_ERR_NOMEM;
    }
    return 0;
}

void hls_disk_stop(hls_disk_t *d)
{
    if (!d->started) return;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);     /* the queue's last files: the shutdown's only wait on the disk */
    task_stop(&d->reaper);
    reap(d);
    st_netfd_close(d->rfd);
    close(d->pipe_w);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    if (d->files_written || d->failures)
        rill_trace("hls: %llu files written, %llu removed, %llu failures, %llu dropped", (unsigned long long)d->files_written,
                   (unsigned long long)d->files_removed, (unsigned long long)d->failures, (unsigned long long)d->dropped);
    d->started = 0;
}
