/* GET /metrics: the server's state in the Prometheus text exposition format
 * (version 0.0.4): HELP and TYPE for every family, counters ending in
 * _total, per-stream series labelled vhost, app and stream. */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>
#include "rill_bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

struct api_view;

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append the exposition to w. 0 or RILL_ERR_NOMEM. */
int metrics_write(struct api_view *view, int64_t now_ms, rill_writer_t *w);
/* A label value with \, " and newline escaped, appended to w. */
int metrics_label_value(rill_writer_t *w, const char *v);

#ifdef __cplusplus
}
#endif
#endif
