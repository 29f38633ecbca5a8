/* Config reload (SIGHUP, or GET /api/v1/raw?rpc=reload): read the conf file
 * again and apply it without dropping anyone. New connections, pulls and
 * publishes use the new settings; forward destinations of streams being
 * published now are brought in line at once; the static files' dir and the
 * API's credentials apply from the next request; connections already
 * running keep the settings they started with. What only a restart can
 * change (listens, HTTP timeouts) is logged as a warning. A file with an error is refused with
 * FILE:LINE: reason and the running config stays. */
#ifndef RELOAD_H
#define RELOAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct server;

/* 0, or RILL_ERR_CONF with the reason in err. */
int reload_config(struct server *srv, char *err, size_t errlen);
/* Free the configs replaced by reloads (at exit, once nothing runs). */
void reload_free_retired(void);

#ifdef __cplusplus
}
#endif
#endif
