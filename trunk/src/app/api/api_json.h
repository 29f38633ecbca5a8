/* The API's JSON objects, built with cJSON from the server's live state:
 * a stream (with its codecs, edge upstream and forwarders), a client, a
 * vhost, the summaries. SRS's field names; ids are decimal strings as in
 * SRS 5 (rill's ids are numbers: /api/v1/streams/3). No I/O here, so unit
 * tests build them from a server they set up by hand. */
#ifndef API_JSON_H
#define API_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "hub.h"
#include "client.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct api_view;

/* NULL on no memory. now_ms: rill_now_ms(). */
cJSON *api_json_stream(struct api_view *view, const source_t *s, int64_t now_ms);
cJSON *api_json_client(struct api_view *view, const client_t *c, int64_t now_ms);
cJSON *api_json_vhost(struct api_view *view, const vhost_conf_t *vc, int64_t now_ms);
/* The "data" of /api/v1/summaries. */
cJSON *api_json_summary(struct api_view *view, int64_t now_ms);

/* Codec names as SRS prints them ("High", "3.1"); out must hold 16 bytes. */
const char *api_avc_profile_name(int profile);
const char *api_hevc_profile_name(int profile);
void api_avc_level_name(int level, char out[16]);
void api_hevc_level_name(int level, char out[16]);

#ifdef __cplusplus
}
#endif
#endif
