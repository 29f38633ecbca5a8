/* HTTP basic authentication (RFC 7617) against one configured user. */
#ifndef HTTP_AUTH_H
#define HTTP_AUTH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Whether an Authorization header value ("Basic base64(user:pass)") names
 * exactly this user and password. 1: yes, 0: no (or absent, or malformed). */
int http_basic_auth_check(const char *authorization, const char *user, const char *pass);

#ifdef __cplusplus
}
#endif
#endif
