/* The callbacks copy what http-parser hands over into the message, counting
 * against the limits as bytes arrive (callbacks see partial data at every
 * buffer end), so a limit trips before the excess is ever held. On a whole
 * message the parser is paused: the bytes after it are the next request's. */
#include "http_request.h"
#include "http_url.h"
#include "rill_error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* http-parser's own cap on everything before the body; ours trip first, this
 * catches what our callbacks never see (whitespace runs, the request line). */
#define PARSER_MAX_HEAD (HTTP_MAX_URL + HTTP_MAX_HEADER_BYTES + 4096)

static int refuse(http_msg_parser_t *mp, int status, const char *reason)
{
    mp->status = status;
    mp->reason = reason;
    return -1;
}

static int append(char **s, size_t *len, const char *at, size_t n)
{
    char *p = realloc(*s, *len + n + 1);
    if (!p) return -1;
    memcpy(p + *len, at, n);
    *len += n;
    p[*len] = '\0';
    *s = p;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    ((http_msg_parser_t *)p->data)->started = 1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    http_msg_parser_t *mp = p->data;
    if (mp->url_len + n > HTTP_MAX_URL) return refuse(mp, 414, "request target too long");
    if (append(&mp->msg.url, &mp->url_len, at, n)) return refuse(mp, 500, "out of memory");
    return 0;
}

/* Room for one more header: 8 first, then doubled up to HTTP_MAX_HEADERS. */
static int grow_headers(http_message_t *m)
{
    if (m->nheaders < m->headers_cap) return 0;
    int cap = m->headers_cap ? m->headers_cap * 2 : 8;
    if (cap > HTTP_MAX_HEADERS) cap = HTTP_MAX_HEADERS;
    http_header_t *h = realloc(m->headers, sizeof *h * (size_t)cap);
    if (!h) return -1;
    m->headers = h;
    m->headers_cap = cap;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    http_msg_parser_t *mp = p->data;
    http_message_t *m = &mp->msg;
    if (mp->in_value || m->nheaders == 0) {
        /* A new header (a name may come in pieces: keep appending until a value). */
        if (m->nheaders >= HTTP_MAX_HEADERS) return refuse(mp, 431, "too many headers");
        if (grow_headers(m)) return refuse(mp, 500, "out of memory");
        m->headers[m->nheaders].name = m->headers[m->nheaders].value = NULL;
        m->nheaders++;
        mp->name_len = mp->value_len = 0;
        mp->in_value = 0;
    }
    mp->header_bytes += n;
    if (mp->header_bytes > HTTP_MAX_HEADER_BYTES) return refuse(mp, 431, "headers too large");
    if (append(&m->headers[m->nheaders - 1].name, &mp->name_len, at, n)) return refuse(mp, 500, "out of memory");
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    http_msg_parser_t *mp = p->data;
    http_message_t *m = &mp->msg;
    mp->in_value = 1;
    mp->header_bytes += n;
    if (mp->header_bytes > HTTP_MAX_HEADER_BYTES) return refuse(mp, 431, "headers too large");
    if (append(&m->headers[m->nheaders - 1].value, &mp->value_len, at, n)) return refuse(mp, 500, "out of memory");
    return 0;
}

/* Split the request target into path (decoded) and query. */
static int split_target(http_msg_parser_t *mp)
{
    http_message_t *m = &mp->msg;
    const char *url = m->url;
    if (strcmp(url, "*") == 0) {
        m->raw_path = strdup("*");
        m->path = strdup("*");
        m->query = strdup("");
        return m->raw_path && m->path && m->query ? 0 : refuse(mp, 500, "out of memory");
    }
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, mp->url_len, 0, &u) != 0) return refuse(mp, 400, "malformed request target");
    const char *path = "/";
    size_t plen = 1;
    if (u.field_set & (1 << UF_PATH)) {
        path = url + u.field_data[UF_PATH].off;
        plen = u.field_data[UF_PATH].len;
    }
    m->raw_path = strndup(path, plen);
    m->path = malloc(plen + 1);
    if (u.field_set & (1 << UF_QUERY))
        m->query = strndup(url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    else
        m->query = strdup("");
    if (!m->raw_path || !m->path || !m->query) return refuse(mp, 500, "out of memory");
    if (http_percent_decode(path, plen, m->path, 0) < 0) return refuse(mp, 400, "bad percent-encoding in path");
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    http_msg_parser_t *mp = p->data;
    http_message_t *m = &mp->msg;
    for (int i = 0; i < m->nheaders; i++) {
        if (!m->headers[i].value && !(m->headers[i].value = strdup(""))) return refuse(mp, 500, "out of memory");
    }
    m->http_major = p->http_major;
    m->http_minor = p->http_minor;
    if (p->type == HTTP_REQUEST) {
        m->method = p->method;
        if (p->method == HTTP_CONNECT) return refuse(mp, 405, "CONNECT is not supported");
        if (split_target(mp)) return -1;
    } else {
        m->status = p->status_code;
    }
    /* Refuse an announced body that could never fit before reading any of it. */
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > mp->max_body)
        return refuse(mp, 413, "body too large");
    mp->headers_done = 1;
    return mp->head_response ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    http_msg_parser_t *mp = p->data;
    if (mp->msg.body_len + n > mp->max_body) return refuse(mp, 413, "body too large");
    if (append(&mp->msg.body, &mp->msg.body_len, at, n)) return refuse(mp, 500, "out of memory");
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_msg_parser_t *mp = p->data;
    mp->msg.upgrade = p->upgrade;
    mp->msg.keep_alive = http_should_keep_alive(p) && !p->upgrade;
    mp->done = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void parser_init(http_msg_parser_t *mp, enum http_parser_type type, size_t max_body)
{
    memset(mp, 0, sizeof *mp);
    http_parser_set_max_header_size(PARSER_MAX_HEAD);
    http_parser_init(&mp->p, type);
    mp->p.data = mp;
    mp->max_body = max_body;
}

void http_req_parser_init(http_msg_parser_t *mp)
{
    parser_init(mp, HTTP_REQUEST, HTTP_MAX_REQ_BODY);
}

void http_resp_parser_init(http_msg_parser_t *mp, int head)
{
    parser_init(mp, HTTP_RESPONSE, HTTP_MAX_RESP_BODY);
    mp->head_response = head;
}

static void msg_free(http_message_t *m)
{
    free(m->url);
    free(m->raw_path);
    free(m->path);
    free(m->query);
    for (int i = 0; i < m->nheaders; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->body);
    memset(m, 0, sizeof *m);
}

void http_msg_parser_free(http_msg_parser_t *mp)
{
    msg_free(&mp->msg);
}

void http_msg_parser_next(http_msg_parser_t *mp)
{
    msg_free(&mp->msg);
    mp->url_len = mp->header_bytes = mp->name_len = mp->value_len = 0;
    mp->in_value = mp->started = mp->headers_done = mp->done = 0;
    http_parser_pause(&mp->p, 0);
}

static int failed(http_msg_parser_t *mp)
{
    if (!mp->status) {
        enum http_errno e = HTTP_PARSER_ERRNO(&mp->p);
        mp->status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
        mp->reason = http_errno_description(e);
    }
    return RILL_ERR_HTTP;
}

int http_msg_parser_feed(http_msg_parser_t *mp, const void *data, size_t n, size_t *used)
{
    *used = 0;
    if (mp->done) return 1;
    if (mp->status) return RILL_ERR_HTTP;
    if (n == 0) return 0;
    *used = http_parser_execute(&mp->p, &settings, data, n);
    if (mp->done) return 1;
    if (HTTP_PARSER_ERRNO(&mp->p) != HPE_OK) return failed(mp);
    return 0;
}

int http_msg_parser_eof(http_msg_parser_t *mp)
{
    if (mp->done) return 1;
    if (mp->status) return RILL_ERR_HTTP;
    if (!mp->started) return 0;
    /* Zero bytes tell http-parser the stream ended: a body that runs to the
     * close is complete now; anything else is cut short. */
    http_parser_execute(&mp->p, &settings, NULL, 0);
    if (mp->done) return 1;
    if (HTTP_PARSER_ERRNO(&mp->p) != HPE_OK) return failed(mp);
    return refuse(mp, 400, "connection closed in the middle of a message"), RILL_ERR_HTTP;
}

const char *http_header_get(const http_message_t *m, const char *name)
{
    for (int i = 0; i < m->nheaders; i++)
        if (m->headers[i].name && strcasecmp(m->headers[i].name, name) == 0) return m->headers[i].value;
    return NULL;
}

const char *http_method_name(int method)
{
    const char *s = http_method_str((enum http_method)method);
    return s && s[0] != '<' ? s : "?";
}
