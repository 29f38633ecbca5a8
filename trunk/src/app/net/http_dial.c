#include "http_dial.h"
#include "http_request.h"
#include "http_url.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "resolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#ifndef RILL_VERSION
#define RILL_VERSION "0.0.0"
#endif

#define READ_BUF 16384

static st_utime_t left(st_utime_t deadline)
{
    st_utime_t now = st_utime();
    return now < deadline ? deadline - now : 0;
}

/* Read and parse until the response is whole (or the deadline passes). */
static int read_response(st_netfd_t fd, http_msg_parser_t *mp, st_utime_t deadline)
{
    char *buf = malloc(READ_BUF);
    if (!buf) return RILL_ERR_NOMEM;
    int rc = 0;
    for (;;) {
        st_utime_t t = left(deadline);
        if (t == 0) {
            rc = RILL_ERR_TIMEOUT;
            break;
        }
        ssize_t r = st_read(fd, buf, READ_BUF, t);
        if (r < 0) {
            rc = net_st_error();
            break;
        }
        if (r == 0) {
            rc = http_msg_parser_eof(mp);
            rc = rc == 1 ? 0 : rc == 0 ? RILL_ERR_EOF : rc;
            break;
        }
        size_t used;
        rc = http_msg_parser_feed(mp, buf, (size_t)r, &used);
        if (rc == 1) {
            rc = 0;     /* anything after the response is ignored: we asked to close */
            break;
        }
        if (rc < 0) break;
    }
    free(buf);
    return rc;
}

int http_dial_request(const char *method, const char *url, const char *content_type, const void *req_body,
                        size_t req_len, st_utime_t timeout, int *status, char **body, size_t *body_len)
{
    st_utime_t deadline = st_utime() + timeout;
    if (body) *body = NULL;
    if (body_len) *body_len = 0;
    http_dial_url_t *u = malloc(sizeof *u);
    if (!u) return RILL_ERR_NOMEM;
    const char *why = NULL;
    int rc = http_dial_url_parse(url, u, &why);
    if (rc) {
        rill_warn("http client: refused url %.256s: %s", url, why);
        free(u);
        return rc;
    }

    char port[16] = "";
    if (u->port != 80) snprintf(port, sizeof port, ":%d", u->port);
    char *head = NULL;
    int hlen;
    if (req_body)
        hlen = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s%s\r\nUser-Agent: rill/%s\r\nAccept: */*\r\n"
                        "Connection: close\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                        method, u->target, u->host, port, RILL_VERSION,
                        content_type ? content_type : "application/octet-stream", req_len);
    else
        hlen = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s%s\r\nUser-Agent: rill/%s\r\nAccept: */*\r\n"
                        "Connection: close\r\n\r\n", method, u->target, u->host, port, RILL_VERSION);
    if (hlen < 0) {
        free(u);
        return RILL_ERR_NOMEM;
    }

    http_msg_parser_t *mp = malloc(sizeof *mp);
    st_netfd_t fd = NULL;
    if (!mp) {
        rc = RILL_ERR_NOMEM;
        goto out;
    }
    http_resp_parser_init(mp, strcmp(method, "HEAD") == 0);
    resolve_addrs_t addrs;
    rc = resolve_host(u->ip[0] ? u->ip : u->host, left(deadline), &addrs);
    if (rc) {
        rill_warn("http client: %.256s for %.256s: %s (%s)", u->host, url, rill_strerror(rc), addrs.why);
        goto out;
    }
    /* each address of the name in turn while the connect fails */
    for (int i = 0; i < addrs.n && !fd; i++) {
        errno = 0;
        fd = net_connect_tcp(addrs.ip[i], u->port, left(deadline));
        if (!fd) {
            rc = errno == EINVAL ? RILL_ERR_URL : net_st_error();
            rill_warn("http client: connect %s:%d for %.256s: %s", addrs.ip[i], u->port, url, strerror(errno));
            if (rc != RILL_ERR_IO) break;
        }
    }
    if (!fd) goto out;
    rc = 0;
    struct iovec iov[2] = { { head, (size_t)hlen }, { (void *)req_body, req_body ? req_len : 0 } };
    size_t total = (size_t)hlen + iov[1].iov_len;
    if (st_writev(fd, iov, 2, left(deadline)) != (ssize_t)total) {
        rc = net_st_error();
        rill_warn("http client: send to %.256s: %s", url, rill_strerror(rc));
        goto out;
    }
    rc = read_response(fd, mp, deadline);
    if (rc) {
        rill_warn("http client: response from %.256s: %s%s%s", url, rill_strerror(rc),
                  rc == RILL_ERR_HTTP ? ": " : "", rc == RILL_ERR_HTTP && mp->reason ? mp->reason : "");
        goto out;
    }
    if (status) *status = mp->msg.status;
    if (body) {
        /* Hand over the parser's copy instead of copying it again. */
        *body = mp->msg.body ? mp->msg.body : strdup("");
        mp->msg.body = NULL;
        if (!*body) rc = RILL_ERR_NOMEM;
    }
    if (body_len && !rc) *body_len = mp->msg.body_len;
out:
    if (fd) st_netfd_close(fd);
    if (mp) http_msg_parser_free(mp);
    free(mp);
    free(head);
    free(u);
    return rc;
}

int http_dial_post_json(const char *url, const char *json_body, st_utime_t timeout, int *status, char **body,
                          size_t *body_len)
{
    return http_dial_request("POST", url, "application/json", json_body, strlen(json_body), timeout, status,
                               body, body_len);
}

int http_dial_get(const char *url, st_utime_t timeout, int *status, char **body, size_t *body_len)
{
    return http_dial_request("GET", url, NULL, NULL, 0, timeout, status, body, body_len);
}
