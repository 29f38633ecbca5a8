/* A request path maps onto dir only after three checks: the path has no
 * ".." or encoded separator (before and after decoding), the file's real
 * path (symlinks resolved) is still inside dir's real path, and it is a
 * regular file. Files go out in 64 KiB read()s, yielding now and then so a
 * big file never holds the other coroutines up for long. */
#include "http_static.h"
#include "http_mime.h"
#include "http_url.h"
#include "rill_error.h"
#include "rill_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK  (64 * 1024)
#define YIELD_EVERY (1024 * 1024)   /* bytes sent between yields to other coroutines */

struct http_static {
    char *dir;
};

static void check_dir(const char *dir)
{
    char real[PATH_MAX];
    if (!realpath(dir, real)) rill_warn("http_server dir %s: %s (requests get 404 until it exists)", dir, strerror(errno));
}

int http_static_new(http_static_t **out, const char *dir)
{
    *out = NULL;
    http_static_t *st = calloc(1, sizeof *st);
    if (!st || !(st->dir = strdup(dir))) {
        free(st);
        return RILL_ERR_NOMEM;
    }
    check_dir(dir);
    *out = st;
    return 0;
}

int http_static_set_dir(http_static_t *st, const char *dir)
{
    char *d = strdup(dir);
    if (!d) return RILL_ERR_NOMEM;
    free(st->dir);
    st->dir = d;
    check_dir(dir);
    return 0;
}

const char *http_static_dir(const http_static_t *st) { return st->dir; }

void http_static_free(http_static_t *st)
{
    if (!st) return;
    free(st->dir);
    free(st);
}

static int status_for_errno(int e)
{
    return e == EACCES || e == EPERM || e == ELOOP ? 403 : 404;
}

static int inside(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1) return 1;   /* root is "/" */
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* A directory asked for without its slash: send the client to "path/" so
 * relative links in its index resolve. */
static int redirect_to_dir(http_conn_t *c, const http_request_t *req)
{
    size_t n = strlen(req->raw_path) + strlen(req->query) + 32;
    char *h = malloc(n);
    if (!h) return RILL_ERR_NOMEM;
    /* "//host" would name another host to a browser: one leading slash */
    const char *path = req->raw_path;
    while (path[0] == '/' && path[1] == '/') path++;
    snprintf(h, n, "Location: %s/%s%s\r\n", path, req->query[0] ? "?" : "", req->query);
    int rc = http_send_error(c, 301, h);
    free(h);
    return rc;
}

static int send_file(http_conn_t *c, const http_request_t *req, int fd, const struct stat *sb, const char *name)
{
    char lm[96];
    struct tm tm;
    strftime(lm, sizeof lm, "Last-Modified: %a, %d %b %Y %H:%M:%S GMT\r\n", gmtime_r(&sb->st_mtime, &tm));
    int rc = http_send_headers(c, 200, http_mime_type(name), (int64_t)sb->st_size, lm);
    if (rc || req->method == HTTP_HEAD || sb->st_size == 0) return rc;

    char *buf = malloc(READ_CHUNK);
    if (!buf) return RILL_ERR_NOMEM;
    uint64_t left = (uint64_t)sb->st_size, since_yield = 0;
    while (left > 0 && !rc) {
        size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            /* The file shrank under us: the promised length cannot be kept. */
            rill_warn("%s: read %s: %s", http_conn_peer(c), name, r ? strerror(errno) : "file got shorter");
            rc = RILL_ERR_IO;
            break;
        }
        rc = http_write(c, buf, (size_t)r);
        left -= (uint64_t)r;
        since_yield += (uint64_t)r;
        if (since_yield >= YIELD_EVERY) {
            since_yield = 0;
            st_usleep(0);
        }
    }
    free(buf);
    return rc;
}

int http_static_handle(http_conn_t *c, const http_request_t *req, void *ctx)
{
    http_static_t *st = ctx;
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) return http_send_error(c, 405, "Allow: GET, HEAD\r\n");
    /* The server checked already; this handler may be mounted anywhere. */
    if (!http_path_is_safe(req->raw_path, req->path)) return http_send_error(c, 400, NULL);

    char *mem = malloc(3 * PATH_MAX);
    if (!mem) return RILL_ERR_NOMEM;
    char *root = mem, *want = mem + PATH_MAX, *real = mem + 2 * PATH_MAX;
    int rc = 0, status = 0, fd = -1;
    int dir_req = req->path[strlen(req->path) - 1] == '/';
    if (!realpath(st->dir, root)) {
        status = 404;
        goto out;
    }
    int n = snprintf(want, PATH_MAX, "%s%s%s", strcmp(root, "/") ? root : "", req->path, dir_req ? "index.html" : "");
    if (n < 0 || n >= PATH_MAX) {
        status = 404;
        goto out;
    }
    if (!realpath(want, real)) {
        status = status_for_errno(errno);
        goto out;
    }
    if (!inside(real, root)) {
        rill_warn("%s: %.256s leads outside %s: refused", http_conn_peer(c), req->url, st->dir);
        status = 403;
        goto out;
    }
    /* O_NONBLOCK: a FIFO must not block the whole process in open(). */
    fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        status = status_for_errno(errno);
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        if (dir_req) status = 403;          /* "index.html" is a directory */
        else rc = redirect_to_dir(c, req);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        status = 403;
        goto out;
    }
    /* Back to blocking reads: regular files never wait on O_NONBLOCK anyway. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    rc = send_file(c, req, fd, &sb, want);
out:
    if (fd >= 0) close(fd);
    free(mem);
    if (status) rc = http_send_error(c, status, NULL);
    return rc;
}
