/* Each builder returns a whole object or NULL: a failed add (no memory)
 * marks the object bad and it is dropped at the end, so the code reads as a
 * flat list of fields. */
#include "api_json.h"
#include "flv.h"
#include "rill_proc.h"
#include "api_view.h"
#include "edge_standby.h"
#include "stats.h"
#include "rill_time.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#ifndef RILL_VERSION
#define RILL_VERSION "0.0.0"
#endif

/* A cJSON object being filled; ok turns 0 at the first failed add. */
typedef struct jb {
    cJSON *o;
    int ok;
} jb_t;

static jb_t jb_new(void)
{
    jb_t b = { cJSON_CreateObject(), 1 };
    b.ok = b.o != NULL;
    return b;
}

static void jnum(jb_t *b, const char *k, double v) { if (b->ok && !cJSON_AddNumberToObject(b->o, k, v)) b->ok = 0; }
static void jstr(jb_t *b, const char *k, const char *v) { if (b->ok && !cJSON_AddStringToObject(b->o, k, v ? v : "")) b->ok = 0; }
static void jbool(jb_t *b, const char *k, int v) { if (b->ok && !cJSON_AddBoolToObject(b->o, k, v)) b->ok = 0; }
static void jnull(jb_t *b, const char *k) { if (b->ok && !cJSON_AddNullToObject(b->o, k)) b->ok = 0; }

static void jid(jb_t *b, const char *k, uint32_t id)
{
    char s[16];
    snprintf(s, sizeof s, "%u", id);
    jstr(b, k, s);
}

/* Adds child (which may be NULL: no memory) under k. */
static void jobj(jb_t *b, const char *k, cJSON *child)
{
    if (!child) b->ok = 0;
    if (!b->ok) {
        cJSON_Delete(child);
        return;
    }
    cJSON_AddItemToObject(b->o, k, child);
}

static cJSON *jb_done(jb_t *b)
{
    if (b->ok) return b->o;
    cJSON_Delete(b->o);
    return NULL;
}

static cJSON *kbps_obj(const rill_rate_t *r, int64_t now, uint64_t in, uint64_t out)
{
    int64_t ki, ko;
    rill_rate_kbps(r, now, in, out, STATS_KBPS_WINDOW_MS, &ki, &ko);
    jb_t b = jb_new();
    jnum(&b, "recv_30s", (double)ki);
    jnum(&b, "send_30s", (double)ko);
    return jb_done(&b);
}

/* ---- codec names ---------------------------------------------------------- */

const char *api_avc_profile_name(int p)
{
    switch (p) {
    case 66: return "Baseline";
    case 77: return "Main";
    case 88: return "Extended";
    case 100: return "High";
    case 110: return "High10";
    case 122: return "High422";
    case 144:
    case 244: return "High444";
    }
    return "Other";
}

const char *api_hevc_profile_name(int p)
{
    switch (p) {
    case 1: return "Main";
    case 2: return "Main10";
    case 3: return "MainStillPicture";
    case 4: return "RExt";
    }
    return "Other";
}

static void major_minor(int major, int minor, char out[16])
{
    if (minor) snprintf(out, 16, "%d.%d", major, minor);
    else snprintf(out, 16, "%d", major);
}

/* level_idc is ten times the level (31 is 3.1). */
void api_avc_level_name(int l, char out[16]) { major_minor(l / 10, l % 10, out); }
/* general_level_idc is thirty times the level (93 is 3.1). */
void api_hevc_level_name(int l, char out[16]) { major_minor(l / 30, (l % 30) / 3, out); }

static cJSON *video_obj(const media_msg_t *sh)
{
    const uint8_t *p = sh->payload->data;
    size_t n = sh->payload->size;
    flv_video_info_t vi;
    video_params_t vp;
    memset(&vp, 0, sizeof vp);
    if (flv_video_probe(p, n, &vi) != 0) return cJSON_CreateNull();
    int parsed = flv_video_parse_seq_header(p, n, &vp) == 0;
    jb_t b = jb_new();
    char level[16] = "";
    if (vi.codec == FLV_VIDEO_H264) {
        jstr(&b, "codec", "H264");
        jstr(&b, "profile", parsed ? api_avc_profile_name(vp.profile) : "Other");
        api_avc_level_name(vp.level, level);
    } else if (vi.codec == FLV_VIDEO_HEVC) {
        jstr(&b, "codec", "H265");
        jstr(&b, "profile", parsed ? api_hevc_profile_name(vp.profile) : "Other");
        api_hevc_level_name(vp.level, level);
    } else {
        jstr(&b, "codec", vi.codec == FLV_VIDEO_AV1 ? "AV1" : "Other");
        jnull(&b, "profile");
    }
    if (level[0] && parsed) jstr(&b, "level", level);
    else jnull(&b, "level");
    jnum(&b, "width", vp.width);
    jnum(&b, "height", vp.height);
    return jb_done(&b);
}

static const char *aac_profile_name(int object_type)
{
    switch (object_type) {
    case 1: return "Main";
    case 2: return "LC";
    case 3: return "SSR";
    case 5: return "HE";
    case 29: return "HEv2";
    }
    return "Other";
}

static cJSON *audio_obj(const media_msg_t *sh)
{
    const uint8_t *p = sh->payload->data;
    size_t n = sh->payload->size;
    flv_audio_info_t ai;
    if (flv_audio_probe(p, n, &ai) != 0) return cJSON_CreateNull();
    jb_t b = jb_new();
    audio_params_t ap;
    if (ai.codec == FLV_AUDIO_AAC && flv_audio_parse_seq_header(p, n, &ap) == 0) {
        jstr(&b, "codec", "AAC");
        jnum(&b, "sample_rate", ap.sample_rate);
        jnum(&b, "channel", ap.channels);
        jstr(&b, "profile", aac_profile_name(ap.object_type));
    } else {
        static const int rates[4] = { 5512, 11025, 22050, 44100 };
        jstr(&b, "codec", ai.codec == FLV_AUDIO_AAC ? "AAC" : ai.codec == FLV_AUDIO_MP3 ? "MP3" : "Other");
        jnum(&b, "sample_rate", rates[ai.sound_rate & 3]);
        jnum(&b, "channel", ai.sound_type + 1);
        jnull(&b, "profile");
    }
    return jb_done(&b);
}

/* ---- streams ------------------------------------------------------------------ */

static int same_stream(const client_t *c, const source_t *s)
{
    return c->type != CLIENT_RTMP && !strcmp(c->stream, s->stream) && !strcmp(c->app, s->app) &&
           !strcmp(c->vhost, s->vhost);
}

static cJSON *upstream_obj(edge_pull_t *g)
{
    jb_t b = jb_new();
    jstr(&b, "origin", g->origin);
    jstr(&b, "state", edge_state_name(g->state));
    jnum(&b, "switches", g->switches);
    jnum(&b, "rejoins", g->rejoins);   /* ordinary switches that continued the players' timeline */
    jnum(&b, "recv_bytes", (double)edge_pull_bytes(g));
    /* what the silence detection sees now: the longest recent gap, and the silence that would be a hang */
    const vhost_conf_t *vc = g->vc;
    int64_t now = rill_now_ms();
    jnum(&b, "longest_gap_ms", edge_rhythm_longest(&g->rhythm, now));
    if (vc)
        jnum(&b, "silence_limit_ms", edge_silence_limit(&g->rhythm, now, vc->origin_silence_factor,
                                                        vc->origin_silence_min, vc->origin_read_timeout));
    if (vc && vc->origin_redundancy) {
        jnum(&b, "hitless_switches", g->hitless_switches);
        const edge_standby_t *st = g->standby;
        if (st) {
            jb_t sb = jb_new();
            jstr(&sb, "origin", st->origin);
            jstr(&sb, "state", st->failed ? "failed" : edge_state_name(st->state));
            jnum(&sb, "queued", st->qn);
            jnum(&sb, "delivered_first", (double)st->merged);   /* its copy reached players first */
            jbool(&sb, "merging", !st->apart);
            jobj(&b, "standby", jb_done(&sb));
        } else {
            jnull(&b, "standby");
        }
    }
    return jb_done(&b);
}

static cJSON *forwarders_arr(api_view_t *view, const source_t *s)
{
    cJSON *a = cJSON_CreateArray();
    for (forwarder_t *f = view->env->fwd.list; f && a; f = f->next) {
        if (f->src != s) continue;
        jb_t b = jb_new();
        jstr(&b, "destination", f->dest);
        jstr(&b, "state", forward_state_name(f->state));
        jnum(&b, "send_bytes", (double)forwarder_bytes(f));
        jnum(&b, "reconnects", f->reconnects);
        cJSON *o = jb_done(&b);
        if (!o) {
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *api_json_stream(api_view_t *view, const source_t *s, int64_t now)
{
    int nclients = 0, nplayers = 0;
    const client_t *pub = NULL;
    for (const client_t *c = view->env->clients.list; c; c = c->next) {
        if (!same_stream(c, s)) continue;
        nclients++;
        nplayers += c->type == CLIENT_PLAY || c->type == CLIENT_FLV || c->type == CLIENT_HLS;
        if (s->publisher && c->id == s->publisher_cid) pub = c;
    }
    char url[600];
    snprintf(url, sizeof url, "/%s/%s", s->app, s->stream);
    jb_t b = jb_new();
    jid(&b, "id", s->id);
    jstr(&b, "name", s->stream);
    jstr(&b, "vhost", s->vhost);
    jstr(&b, "app", s->app);
    jstr(&b, "tcUrl", pub ? pub->tc_url : "");
    jstr(&b, "url", url);
    jnum(&b, "alive", (double)(now - s->created_ms) / 1000.0);
    jnum(&b, "clients", nclients);
    jnum(&b, "players", nplayers);          /* RTMP and HTTP-FLV; edges pulling it are RTMP players */
    jnum(&b, "frames", (double)s->video_frames);
    jnum(&b, "send_bytes", (double)s->bytes_out);
    jnum(&b, "recv_bytes", (double)s->bytes_in);
    jobj(&b, "kbps", kbps_obj(&s->rate, now, s->bytes_in, s->bytes_out));
    jb_t p = jb_new();
    jbool(&p, "active", s->publisher != NULL);
    if (s->publisher) jid(&p, "cid", s->publisher_cid);
    jobj(&b, "publish", jb_done(&p));
    if (s->video_sh) jobj(&b, "video", video_obj(s->video_sh));
    else jnull(&b, "video");
    if (s->audio_sh) jobj(&b, "audio", audio_obj(s->audio_sh));
    else jnull(&b, "audio");
    edge_pull_t *g = edge_find(&view->env->edge, s);
    if (g) jobj(&b, "upstream", upstream_obj(g));
    jobj(&b, "forwarders", forwarders_arr(view, s));
    return jb_done(&b);
}

/* ---- clients and vhosts -------------------------------------------------------- */

cJSON *api_json_client(api_view_t *view, const client_t *c, int64_t now)
{
    uint64_t in = c->in_bytes ? *c->in_bytes : 0, out = c->out_bytes ? *c->out_bytes : 0;
    source_t *s = c->stream[0] ? hub_find(&view->env->hub, c->vhost, c->app, c->stream) : NULL;
    char url[600] = "";
    if (c->stream[0]) snprintf(url, sizeof url, "/%s/%s", c->app, c->stream);
    jb_t b = jb_new();
    jid(&b, "id", c->id);
    jstr(&b, "vhost", c->vhost);
    jstr(&b, "app", c->app);
    jstr(&b, "stream", c->stream);
    if (s) jid(&b, "stream_id", s->id);
    else jnull(&b, "stream_id");
    jstr(&b, "name", c->stream);
    jstr(&b, "ip", c->ip);
    jnum(&b, "port", c->port);
    jstr(&b, "tcUrl", c->tc_url);
    jstr(&b, "url", url);
    jstr(&b, "param", c->param);
    jstr(&b, "type", client_type_name(c->type));
    jbool(&b, "publish", c->type == CLIENT_PUBLISH);
    jnum(&b, "alive", (double)(now - c->start_ms) / 1000.0);
    jnum(&b, "send_bytes", (double)out);
    jnum(&b, "recv_bytes", (double)in);
    jobj(&b, "kbps", kbps_obj(&c->rate, now, in, out));
    return jb_done(&b);
}

cJSON *api_json_vhost(api_view_t *view, const vhost_conf_t *vc, int64_t now)
{
    int nclients = 0, nstreams = 0;
    uint64_t in = 0, out = 0;
    int64_t kin = 0, kout = 0;
    for (const client_t *c = view->env->clients.list; c; c = c->next)
        if (!strcmp(c->vhost, vc->name)) nclients++;
    for (const source_t *s = view->env->hub.sources; s; s = s->next) {
        if (strcmp(s->vhost, vc->name)) continue;
        nstreams++;
        in += s->bytes_in;
        out += s->bytes_out;
        int64_t i, o;
        rill_rate_kbps(&s->rate, now, s->bytes_in, s->bytes_out, STATS_KBPS_WINDOW_MS, &i, &o);
        kin += i;
        kout += o;
    }
    jb_t b = jb_new();
    jstr(&b, "id", vc->name);       /* rill's vhost ids are their names */
    jstr(&b, "name", vc->name);
    jbool(&b, "enabled", vc->enabled);
    jbool(&b, "edge", vc->edge);
    jnum(&b, "clients", nclients);
    jnum(&b, "streams", nstreams);
    jnum(&b, "send_bytes", (double)out);
    jnum(&b, "recv_bytes", (double)in);
    jb_t k = jb_new();
    jnum(&k, "recv_30s", (double)kin);
    jnum(&k, "send_30s", (double)kout);
    jobj(&b, "kbps", jb_done(&k));
    jb_t h = jb_new();
    jbool(&h, "enabled", 0);
    jobj(&b, "hls", jb_done(&h));
    jb_t hk = jb_new();
    jbool(&hk, "enabled", vc->hooks_enabled);
    jobj(&b, "http_hooks", jb_done(&hk));
    return jb_done(&b);
}

/* ---- summaries ------------------------------------------------------------------ */

cJSON *api_json_summary(api_view_t *view, int64_t now)
{
    rill_proc_t p;
    int proc_ok = rill_proc_self(&p) == 0;
    if (!proc_ok) memset(&p, 0, sizeof p);
    struct sysinfo si;
    int sys_ok = sysinfo(&si) == 0;
    if (!sys_ok) memset(&si, 0, sizeof si);
    double ram_kb = (double)si.totalram * si.mem_unit / 1024.0;
    uint64_t in, out;
    stats_bytes(view->env, &in, &out);
    int64_t kin, kout;
    rill_rate_kbps(&view->stats->rate, now, in, out, STATS_KBPS_WINDOW_MS, &kin, &kout);
    int published = 0;
    for (const source_t *s = view->env->hub.sources; s; s = s->next) published += s->publisher != NULL;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    char cwd[512];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
    int conns_http = api_view_http_conns(view);

    jb_t b = jb_new();
    jbool(&b, "ok", proc_ok && sys_ok);
    jnum(&b, "now_ms", (double)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
    jb_t self = jb_new();
    jstr(&self, "version", RILL_VERSION);
    jnum(&self, "pid", getpid());
    jnum(&self, "ppid", p.ppid);
    jstr(&self, "cwd", cwd);
    jnum(&self, "mem_kbyte", (double)(p.rss_bytes / 1024));
    jnum(&self, "mem_percent", ram_kb > 0 ? (double)p.rss_bytes / 1024.0 * 100.0 / ram_kb : 0);
    jnum(&self, "cpu_percent", view->stats->cpu_percent);
    jnum(&self, "cpu_seconds", p.cpu_seconds);
    jnum(&self, "srs_uptime", (double)((now - view->env->start_ms) / 1000));
    jobj(&b, "self", jb_done(&self));
    jb_t sys = jb_new();
    jnum(&sys, "cpus", (double)sysconf(_SC_NPROCESSORS_CONF));
    jnum(&sys, "cpus_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
    jnum(&sys, "mem_ram_kbyte", ram_kb);
    jnum(&sys, "uptime", (double)si.uptime);
    jnum(&sys, "load_1m", si.loads[0] / 65536.0);
    jnum(&sys, "load_5m", si.loads[1] / 65536.0);
    jnum(&sys, "load_15m", si.loads[2] / 65536.0);
    jnum(&sys, "srs_recv_bytes", (double)in);
    jnum(&sys, "srs_send_bytes", (double)out);
    jnum(&sys, "conn_srs", view->rtmp->count + conns_http);
    jobj(&b, "system", jb_done(&sys));
    /* rill's own: what an operator looks at first */
    jb_t conns = jb_new();
    jnum(&conns, "total", view->rtmp->count + conns_http);
    jnum(&conns, "rtmp", view->rtmp->count);
    jnum(&conns, "http", conns_http);
    jnum(&conns, "clients", view->env->clients.count);
    jobj(&b, "connections", jb_done(&conns));
    jb_t st = jb_new();
    jnum(&st, "total", view->env->hub.nsources);
    jnum(&st, "published", published);
    jobj(&b, "streams", jb_done(&st));
    jb_t k = jb_new();
    jnum(&k, "recv_30s", (double)kin);
    jnum(&k, "send_30s", (double)kout);
    jobj(&b, "kbps", jb_done(&k));
    return jb_done(&b);
}
