/* HTTP/1.1 requests rill dials out ("dial": rill calls; a "client" is
 * always someone who called rill), for callbacks (auth hooks): one
 * request per connection, everything under one total timeout (connect,
 * write, read), never blocking other coroutines.
 *
 * URLs: http://HOST[:PORT]/PATH[?QUERY] with HOST an IPv4 literal,
 * "localhost" (127.0.0.1) or a host name, looked up at each request without
 * blocking (resolve.h; within the same timeout). https is refused (no TLS). Responses are bounded to
 * HTTP_MAX_RESP_BODY bytes of body (Content-Length, chunked or until close). */
#ifndef HTTP_DIAL_H
#define HTTP_DIAL_H

#include <st.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One request. Returns 0 when a response came back, whatever its status;
 * else RILL_ERR_URL (refused url, logged with the reason), RILL_ERR_RESOLVE
 * (the name does not resolve), RILL_ERR_TIMEOUT,
 * RILL_ERR_IO / RILL_ERR_EOF (connect or transfer failed), RILL_ERR_HTTP
 * (malformed or oversized response), RILL_ERR_INTERRUPTED. On 0, *body is a
 * malloc'd NUL-terminated copy of the body (free it), *body_len its length.
 * body and body_len may be NULL when the body is not wanted. */
int http_dial_request(const char *method, const char *url, const char *content_type, const void *req_body,
                        size_t req_len, st_utime_t timeout, int *status, char **body, size_t *body_len);

/* POST a JSON document (Content-Type: application/json). */
int http_dial_post_json(const char *url, const char *json_body, st_utime_t timeout, int *status, char **body,
                          size_t *body_len);
int http_dial_get(const char *url, st_utime_t timeout, int *status, char **body, size_t *body_len);

#ifdef __cplusplus
}
#endif
#endif
