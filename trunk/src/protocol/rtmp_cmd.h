/* RTMP command and data messages over AMF0: parse a command into its parts,
 * build the replies servers send (connect _result, onStatus, ...) and the
 * small control message payloads. Pure memory code. */
#ifndef RTMP_CMD_H
#define RTMP_CMD_H

#include <stddef.h>
#include <stdint.h>
#include "amf0.h"
#include "rill_bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtmp_cmd {
    const char *name;       /* points into vals[0] */
    double txid;
    amf0_value_t **vals;    /* every decoded value: name, txid, command object, args... */
    size_t nvals;
} rtmp_cmd_t;

/* Parse a command (type 20, or 17 with amf3 set: one leading format byte).
 * RILL_ERR_COMMAND when it does not start with a name and a transaction id. */
int rtmp_cmd_parse(const uint8_t *p, size_t n, int amf3, rtmp_cmd_t *out);
void rtmp_cmd_free(rtmp_cmd_t *c);
/* The i-th value after the transaction id: 0 is the command object. NULL if absent. */
const amf0_value_t *rtmp_cmd_arg(const rtmp_cmd_t *c, size_t i);
/* The i-th argument as a string, or NULL. */
const char *rtmp_cmd_arg_string(const rtmp_cmd_t *c, size_t i);

/* Replies. Each appends one AMF0 command body to w. */
int rtmp_cmd_connect_result(rill_writer_t *w, double txid, double object_encoding);
int rtmp_cmd_connect_error(rill_writer_t *w, double txid, const char *code, const char *description);
int rtmp_cmd_result(rill_writer_t *w, double txid, const amf0_value_t *arg); /* _result, null, arg|undefined */
int rtmp_cmd_result_number(rill_writer_t *w, double txid, double v);
int rtmp_cmd_on_status(rill_writer_t *w, const char *level, const char *code, const char *description);
int rtmp_cmd_on_bw_done(rill_writer_t *w);
/* Data messages sent to players before media. */
int rtmp_data_sample_access(rill_writer_t *w);
int rtmp_data_start(rill_writer_t *w);

/* Client requests (the edge and forwarder use these). */
/* edge: mark the connection as a rill edge's upstream (property "rillEdge":
 * true, ignored by other servers), so a rill origin answers a play of an
 * absent stream with StreamNotFound at once instead of waiting. */
int rtmp_cmd_connect(rill_writer_t *w, double txid, const char *app, const char *tc_url, int publish, int edge);
int rtmp_cmd_simple(rill_writer_t *w, const char *name, double txid, const char *arg); /* name, txid, null[, arg] */
int rtmp_cmd_publish(rill_writer_t *w, double txid, const char *stream);
int rtmp_cmd_play(rill_writer_t *w, double txid, const char *stream);

/* Script data: if p holds "@setDataFrame", "onMetaData", {...} (or just
 * "onMetaData", {...}), write "onMetaData", {...} to out and return 1;
 * other data returns 0; malformed AMF returns RILL_ERR_AMF. */
int rtmp_metadata_unwrap(const uint8_t *p, size_t n, rill_writer_t *out);

/* Control message payloads. */
void rtmp_ctrl_u32(uint8_t out[4], uint32_t v);             /* chunk size, ack, window */
void rtmp_ctrl_peer_bw(uint8_t out[5], uint32_t window, uint8_t limit_type);
void rtmp_ctrl_user(uint8_t out[6], uint16_t event, uint32_t value);

#ifdef __cplusplus
}
#endif
#endif
