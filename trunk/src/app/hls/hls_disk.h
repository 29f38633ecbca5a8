/* HLS files on disk (hls_path) without blocking the scheduler: a writer
 * thread does every write, rename and unlink, in order; the coroutines only
 * queue jobs. A job holds a reference to the bytes it writes (a segment, a
 * playlist), taken and released on the state-threads side only: the thread
 * reads the bytes, never the count. A pipe tells the reaper coroutine that
 * jobs are done, and it releases them.
 *
 * Files appear whole: each is written as NAME.tmp, then renamed. */
#ifndef HLS_DISK_H
#define HLS_DISK_H

#include <pthread.h>
#include <st.h>
#include <stdint.h>
#include "rill_payload.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hls_disk_job hls_disk_job_t;

typedef struct hls_disk {
    int started;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hls_disk_job_t *todo, *todo_tail;   /* for the thread, in order */
    hls_disk_job_t *done;               /* for the reaper */
    int stop;                           /* the thread ends once todo is empty */
    int pending;                        /* jobs queued and not reaped */
    int pipe_r, pipe_w;
    st_netfd_t rfd;
    task_t reaper;
    uint64_t files_written, files_removed, failures, dropped;
} hls_disk_t;

/* Start the thread and the reaper. 0, or RILL_ERR_NOMEM / RILL_ERR_SYSTEM. */
int hls_disk_start(hls_disk_t *d);
/* Write data (a reference is taken) to path, making its directories. Never
 * yields; a full queue (4096 jobs) drops the write (counted). */
int hls_disk_write(hls_disk_t *d, const char *path, rill_payload_t *data);
/* Remove path; queued whatever the queue holds (a path only). Never yields. */
int hls_disk_unlink(hls_disk_t *d, const char *path);
/* Run what is queued, stop the thread (joined: waits for the file system,
 * at shutdown only), stop the reaper, free every job. */
void hls_disk_stop(hls_disk_t *d);

#ifdef __cplusplus
}
#endif
#endif
