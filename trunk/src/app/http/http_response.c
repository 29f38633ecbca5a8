/* Writing responses: the header block, whole bodies, and the three body
 * framings (Content-Length, chunked, until close). */
#include "http_response.h"
#include "http_conn.h"
#include "rill_bytes.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef RILL_VERSION
#define RILL_VERSION "0.0.0"
#endif

static const char cors_headers[] =
    "Access-Control-Allow-Origin: *\r\n"
    "Access-Control-Allow-Methods: GET, POST, HEAD, PUT, DELETE, OPTIONS\r\n"
    "Access-Control-Allow-Headers: Origin, X-Requested-With, Content-Type, Accept, Authorization, Range, "
    "Cache-Control\r\n"
    "Access-Control-Expose-Headers: Server, Content-Length, Content-Range\r\n";

static int wfmt(rill_writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wfmt(rill_writer_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return RILL_ERR_INVAL;
    int rc = rill_writer_reserve(w, (size_t)n + 1);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf((char *)w->data + w->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->len += (size_t)n;
    return 0;
}

static int is_head(const http_conn_t *c) { return c->req && c->req->method == HTTP_HEAD; }

/* HTTP/1.0 has no chunked encoding: such a client reads to the close. */
static int old_client(const http_conn_t *c)
{
    return c->req && c->req->http_major == 1 && c->req->http_minor == 0;
}

static int build_head(http_conn_t *c, int status, const char *ctype, int64_t length, const char *extra)
{
    rill_writer_t *w = &c->hbuf;
    rill_writer_reset(w);
    const char *reason = http_status_str((enum http_status)status);
    if (!reason || reason[0] == '<') reason = "Unknown";
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    int rc = wfmt(w, "HTTP/1.1 %d %s\r\nServer: rill/%s\r\nDate: %s\r\n", status, reason, RILL_VERSION, date);
    if (!rc && ctype) rc = wfmt(w, "Content-Type: %s\r\n", ctype);
    if (!rc && length >= 0) rc = wfmt(w, "Content-Length: %lld\r\n", (long long)length);
    if (!rc && length == HTTP_LENGTH_CHUNKED) rc = wfmt(w, "Transfer-Encoding: chunked\r\n");
    if (!rc) rc = wfmt(w, "Connection: %s\r\n", c->keep ? "keep-alive" : "close");
    if (!rc && c->cfg->crossdomain) rc = rill_write_bytes(w, cors_headers, sizeof cors_headers - 1);
    if (!rc && extra) rc = rill_write_bytes(w, extra, strlen(extra));
    if (!rc) rc = rill_write_bytes(w, "\r\n", 2);
    return rc;
}

static int write_iov(http_conn_t *c, const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    if (total == 0) return 0;
    ssize_t r = st_writev(c->fd, iov, n, c->cfg->send_timeout);
    if (r < 0 || (size_t)r != total) {
        c->keep = 0;
        return net_st_error();
    }
    c->out_bytes += total;
    c->resp_bytes += total;
    return 0;
}

static int not_now(http_conn_t *c, const char *what)
{
    rill_warn("%s %s: %s at the wrong point of the response", c->cfg->name, c->peer, what);
    return RILL_ERR_INVAL;
}

int http_send(http_conn_t *c, int status, const char *content_type, const void *body, size_t len,
              const char *extra_headers)
{
    if (c->state != RESP_NONE) return not_now(c, "http_send");
    c->status = status;
    c->state = RESP_DONE;
    int rc = build_head(c, status, content_type, (int64_t)len, extra_headers);
    if (rc) {
        c->keep = 0;
        return rc;
    }
    struct iovec iov[2] = {
        { c->hbuf.data, c->hbuf.len },
        { (void *)body, is_head(c) || !body ? 0 : len },
    };
    return write_iov(c, iov, 2);
}

int http_send_error(http_conn_t *c, int status, const char *extra_headers)
{
    const char *reason = http_status_str((enum http_status)status);
    if (!reason || reason[0] == '<') reason = "Error";
    char body[128];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    return http_send(c, status, "text/plain; charset=utf-8", body, (size_t)n, extra_headers);
}

int http_send_headers(http_conn_t *c, int status, const char *content_type, int64_t length,
                      const char *extra_headers)
{
    if (c->state != RESP_NONE) return not_now(c, "http_send_headers");
    if (length == HTTP_LENGTH_CHUNKED && old_client(c)) length = HTTP_LENGTH_UNTIL_CLOSE;
    if (length < 0 && length != HTTP_LENGTH_CHUNKED) length = HTTP_LENGTH_UNTIL_CLOSE;
    c->mode = length >= 0 ? MODE_LENGTH : length == HTTP_LENGTH_CHUNKED ? MODE_CHUNKED : MODE_UNTIL_CLOSE;
    c->remaining = length >= 0 ? (uint64_t)length : 0;
    if (c->mode == MODE_UNTIL_CLOSE) c->keep = 0;
    c->status = status;
    c->state = is_head(c) || (c->mode == MODE_LENGTH && length == 0) ? RESP_DONE : RESP_STREAMING;
    int rc = build_head(c, status, content_type, length, extra_headers);
    if (rc) {
        c->keep = 0;
        return rc;
    }
    struct iovec iov = { c->hbuf.data, c->hbuf.len };
    return write_iov(c, &iov, 1);
}

int http_writev(http_conn_t *c, const struct iovec *iov, int iovcnt)
{
    if (c->state == RESP_DONE && is_head(c)) return 0;
    if (c->state != RESP_STREAMING) return not_now(c, "http_write");
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;
    if (total == 0) return 0;
    if (c->mode == MODE_LENGTH) {
        if (total > c->remaining) return not_now(c, "writing more than Content-Length");
        int rc = write_iov(c, iov, iovcnt);
        if (rc) return rc;
        c->remaining -= total;
        if (c->remaining == 0) c->state = RESP_DONE;
        return 0;
    }
    if (c->mode == MODE_UNTIL_CLOSE) return write_iov(c, iov, iovcnt);

    /* Chunked: size line and CRLF around the caller's iovecs, one writev. */
    struct iovec local[64];
    struct iovec *v = iovcnt + 2 <= 64 ? local : malloc(sizeof *v * (size_t)(iovcnt + 2));
    if (!v) return RILL_ERR_NOMEM;
    char size_line[32];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", total);
    v[0].iov_base = size_line;
    v[0].iov_len = (size_t)n;
    memcpy(v + 1, iov, sizeof *v * (size_t)iovcnt);
    v[iovcnt + 1].iov_base = (void *)"\r\n";
    v[iovcnt + 1].iov_len = 2;
    int rc = write_iov(c, v, iovcnt + 2);
    if (v != local) free(v);
    return rc;
}

int http_write(http_conn_t *c, const void *p, size_t n)
{
    struct iovec iov = { (void *)p, n };
    return http_writev(c, &iov, 1);
}

int http_end(http_conn_t *c)
{
    if (c->state == RESP_DONE) return 0;
    if (c->state != RESP_STREAMING) return not_now(c, "http_end");
    if (c->mode == MODE_CHUNKED) {
        struct iovec iov = { (void *)"0\r\n\r\n", 5 };
        int rc = write_iov(c, &iov, 1);
        if (rc) return rc;
        c->state = RESP_DONE;
        return 0;
    }
    if (c->mode == MODE_LENGTH) return not_now(c, "http_end before the whole Content-Length");
    c->state = RESP_DONE;   /* until close: the close ends it */
    c->keep = 0;
    return 0;
}

st_netfd_t http_conn_takeover(http_conn_t *c)
{
    c->taken_over = 1;
    c->keep = 0;
    /* No request is read on it again, nor headers built: a long response
     * (an HTTP-FLV player) does not keep those 8 KB and more. */
    free(c->rbuf);
    c->rbuf = NULL;
    c->rpos = c->rlen = 0;
    rill_writer_free(&c->hbuf);
    return c->fd;
}

int http_conn_stopping(const http_conn_t *c) { return c->stop || c->cfg->stopping; }
const char *http_conn_peer(const http_conn_t *c) { return c->peer; }
const char *http_conn_client_ip(const http_conn_t *c) { return c->ip; }
int http_conn_client_port(const http_conn_t *c) { return c->port; }
int http_conn_fileno(const http_conn_t *c) { return st_netfd_fileno(c->fd); }
uint64_t http_conn_out_bytes(const http_conn_t *c) { return c->out_bytes; }
st_utime_t http_conn_send_timeout(const http_conn_t *c) { return c->cfg->send_timeout; }
