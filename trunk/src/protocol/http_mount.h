/* SRS-style HTTP mounts for live streams: "[vhost]/[app]/[stream].flv"
 * matches "/live/x.flv" with app "live" and stream "x" (the vhost comes
 * from the Host header); a literal mount like "/live/[stream].flv" fixes
 * the app. Pure string code. */
#ifndef HTTP_MOUNT_H
#define HTTP_MOUNT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct http_mount_match {
    char app[256];
    char stream[256];
} http_mount_match_t;

/* 1 when path matches mount (captures set), 0 when not, RILL_ERR_INVAL for
 * a mount that is not valid (see http_mount_valid). */
int http_mount_match(const char *mount, const char *path, http_mount_match_t *out);
/* A mount must contain [stream], may contain [app] and a leading [vhost]. */
int http_mount_valid(const char *mount);

#ifdef __cplusplus
}
#endif
#endif
