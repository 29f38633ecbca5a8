#include "rtmp_cmd.h"
#include "rill_error.h"

#include <string.h>

int rtmp_cmd_parse(const uint8_t *p, size_t n, int amf3, rtmp_cmd_t *out)
{
    memset(out, 0, sizeof(*out));
    if (amf3) {
        /* AMF3 command messages start with a format byte, then AMF0 values. */
        if (n < 1) return RILL_ERR_COMMAND;
        p++;
        n--;
    }
    int rc = amf0_decode_all(p, n, &out->vals, &out->nvals);
    if (rc) return rc;
    if (out->nvals < 2 || out->vals[0]->type != AMF0_STRING || out->vals[1]->type != AMF0_NUMBER) {
        rtmp_cmd_free(out);
        return RILL_ERR_COMMAND;
    }
    out->name = out->vals[0]->str;
    out->txid = out->vals[1]->number;
    return 0;
}

void rtmp_cmd_free(rtmp_cmd_t *c)
{
    if (c->vals) amf0_free_all(c->vals, c->nvals);
    memset(c, 0, sizeof(*c));
}

const amf0_value_t *rtmp_cmd_arg(const rtmp_cmd_t *c, size_t i)
{
    return i + 2 < c->nvals ? c->vals[i + 2] : NULL;
}

const char *rtmp_cmd_arg_string(const rtmp_cmd_t *c, size_t i)
{
    const amf0_value_t *v = rtmp_cmd_arg(c, i);
    return v && (v->type == AMF0_STRING || v->type == AMF0_LONG_STRING) ? v->str : NULL;
}

/* Encode a freshly built value and free it. */
static int put(rill_writer_t *w, amf0_value_t *v)
{
    if (!v) return RILL_ERR_NOMEM;
    int rc = amf0_encode(w, v);
    amf0_free(v);
    return rc;
}

static amf0_value_t *status_object(const char *level, const char *code, const char *description)
{
    amf0_value_t *o = amf0_new_object();
    if (!o) return NULL;
    if (amf0_object_set(o, "level", amf0_new_string(level)) ||
        amf0_object_set(o, "code", amf0_new_string(code)) ||
        amf0_object_set(o, "description", amf0_new_string(description))) {
        amf0_free(o);
        return NULL;
    }
    return o;
}

int rtmp_cmd_connect_result(rill_writer_t *w, double txid, double object_encoding)
{
    amf0_value_t *props = amf0_new_object();
    if (!props) return RILL_ERR_NOMEM;
    if (amf0_object_set(props, "fmsVer", amf0_new_string("FMS/3,5,3,888")) ||
        amf0_object_set(props, "capabilities", amf0_new_number(127)) ||
        amf0_object_set(props, "mode", amf0_new_number(1))) {
        amf0_free(props);
        return RILL_ERR_NOMEM;
    }
    amf0_value_t *info = status_object("status", "NetConnection.Connect.Success", "Connection succeeded.");
    if (!info || amf0_object_set(info, "objectEncoding", amf0_new_number(object_encoding))) {
        amf0_free(props);
        amf0_free(info);
        return RILL_ERR_NOMEM;
    }
    int rc = amf0_write_string(w, "_result");
    if (!rc) rc = amf0_write_number(w, txid);
    if (!rc) rc = amf0_encode(w, props);
    if (!rc) rc = amf0_encode(w, info);
    amf0_free(props);
    amf0_free(info);
    return rc;
}

int rtmp_cmd_connect_error(rill_writer_t *w, double txid, const char *code, const char *description)
{
    int rc = amf0_write_string(w, "_error");
    if (!rc) rc = amf0_write_number(w, txid);
    if (!rc) rc = amf0_write_null(w);
    if (!rc) rc = put(w, status_object("error", code, description));
    return rc;
}

int rtmp_cmd_result(rill_writer_t *w, double txid, const amf0_value_t *arg)
{
    int rc = amf0_write_string(w, "_result");
    if (!rc) rc = amf0_write_number(w, txid);
    if (!rc) rc = amf0_write_null(w);
    if (!rc) rc = arg ? amf0_encode(w, arg) : put(w, amf0_new_undefined());
    return rc;
}

int rtmp_cmd_result_number(rill_writer_t *w, double txid, double v)
{
    int rc = amf0_write_string(w, "_result");
    if (!rc) rc = amf0_write_number(w, txid);
    if (!rc) rc = amf0_write_null(w);
    if (!rc) rc = amf0_write_number(w, v);
    return rc;
}

int rtmp_cmd_on_status(rill_writer_t *w, const char *level, const char *code, const char *description)
{
    int rc = amf0_write_string(w, "onStatus");
    if (!rc) rc = amf0_write_number(w, 0);
    if (!rc) rc = amf0_write_null(w);
    if (!rc) rc = put(w, status_object(level, code, description));
    return rc;
}

int rtmp_cmd_on_bw_done(rill_writer_t *w)
{
    int rc = amf0_write_string(w, "onBWDone");
    if (!rc) rc = amf0_write_number(w, 0);
    if (!rc) rc = amf0_write_null(w);
    return rc;
}

int rtmp_data_sample_access(rill_writer_t *w)
{
    int rc = amf0_write_string(w, "|RtmpSampleAccess");
    if (!rc) rc = amf0_write_bool(w, 1);
    if (!rc) rc = amf0_write_bool(w, 1);
    return rc;
}

int rtmp_data_start(rill_writer_t *w)
{
    amf0_value_t *o = amf0_new_object();
    if (!o) return RILL_ERR_NOMEM;
    if (amf0_object_set(o, "code", amf0_new_string("NetStream.Data.Start"))) {
        amf0_free(o);
        return RILL_ERR_NOMEM;
    }
    int rc = amf0_write_string(w, "onStatus");
    if (!rc) rc = put(w, o);
    else amf0_free(o);
    return rc;
}

int rtmp_cmd_connect(rill_writer_t *w, double txid, const char *app, const char *tc_url, int publish, int edge)
{
    amf0_value_t *o = amf0_new_object();
    if (!o) return RILL_ERR_NOMEM;
    int rc = amf0_object_set(o, "app", amf0_new_string(app));
    if (!rc) rc = amf0_object_set(o, "type", amf0_new_string("nonprivate"));
    if (!rc) rc = amf0_object_set(o, "flashVer", amf0_new_string(publish ? "FMLE/3.0 (compatible; rill)" : "LNX 9,0,124,2"));
    if (!rc) rc = amf0_object_set(o, "tcUrl", amf0_new_string(tc_url));
    if (!rc && !publish) {
        rc = amf0_object_set(o, "fpad", amf0_new_bool(0));
        if (!rc) rc = amf0_object_set(o, "capabilities", amf0_new_number(15));
        if (!rc) rc = amf0_object_set(o, "audioCodecs", amf0_new_number(4071));
        if (!rc) rc = amf0_object_set(o, "videoCodecs", amf0_new_number(252));
        if (!rc) rc = amf0_object_set(o, "videoFunction", amf0_new_number(1));
    }
    if (!rc && edge) rc = amf0_object_set(o, "rillEdge", amf0_new_bool(1));
    if (!rc) rc = amf0_write_string(w, "connect");
    if (!rc) rc = amf0_write_number(w, txid);
    if (!rc) rc = amf0_encode(w, o);
    amf0_free(o);
    return rc;
}

int rtmp_cmd_simple(rill_writer_t *w, const char *name, double txid, const char *arg)
{
    int rc = amf0_write_string(w, name);
    if (!rc) rc = amf0_write_number(w, txid);
    if (!rc) rc = amf0_write_null(w);
    if (!rc && arg) rc = amf0_write_string(w, arg);
    return rc;
}

int rtmp_cmd_publish(rill_writer_t *w, double txid, const char *stream)
{
    int rc = rtmp_cmd_simple(w, "publish", txid, stream);
    if (!rc) rc = amf0_write_string(w, "live");
    return rc;
}

int rtmp_cmd_play(rill_writer_t *w, double txid, const char *stream)
{
    int rc = rtmp_cmd_simple(w, "play", txid, stream);
    if (!rc) rc = amf0_write_number(w, -2000);  /* live, or recorded if there is none */
    return rc;
}

int rtmp_metadata_unwrap(const uint8_t *p, size_t n, rill_writer_t *out)
{
    amf0_value_t **vals = NULL;
    size_t count = 0;
    int rc = amf0_decode_all(p, n, &vals, &count);
    if (rc) return RILL_ERR_AMF;
    size_t i = 0;
    if (count > 0 && vals[0]->type == AMF0_STRING && strcmp(vals[0]->str, "@setDataFrame") == 0) i = 1;
    int is_meta = count >= i + 2 && vals[i]->type == AMF0_STRING && strcmp(vals[i]->str, "onMetaData") == 0;
    if (is_meta) {
        rc = amf0_write_string(out, "onMetaData");
        for (size_t k = i + 1; !rc && k < count; k++) rc = amf0_encode(out, vals[k]);
    }
    amf0_free_all(vals, count);
    if (rc) return rc;
    return is_meta;
}

void rtmp_ctrl_u32(uint8_t out[4], uint32_t v) { rill_put_u32be(out, v); }

void rtmp_ctrl_peer_bw(uint8_t out[5], uint32_t window, uint8_t limit_type)
{
    rill_put_u32be(out, window);
    out[4] = limit_type;
}

void rtmp_ctrl_user(uint8_t out[6], uint16_t event, uint32_t value)
{
    rill_put_u16be(out, event);
    rill_put_u32be(out + 2, value);
}
