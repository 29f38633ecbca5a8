/* Bodies and answers are plain functions (unit-tested); the calls use the
 * state-threads HTTP client, so a hook server that hangs only holds the
 * coroutine that called it, and never longer than the vhost's timeout. */
#include "http_hooks.h"
#include "http_dial.h"
#include "rill_error.h"
#include "rill_log.h"
#include "hub.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_GRACE_MS   300     /* at shutdown, notifications under way get this long to finish */
#define MAX_POSTS       (3 * 16)

static const char *const actions[HOOK_COUNT] = {
    [HOOK_CONNECT] = "on_connect", [HOOK_CLOSE] = "on_close",
    [HOOK_PUBLISH] = "on_publish", [HOOK_UNPUBLISH] = "on_unpublish",
    [HOOK_PLAY] = "on_play",       [HOOK_STOP] = "on_stop",
};

const char *http_hooks_action(int hook)
{
    return hook >= 0 && hook < HOOK_COUNT ? actions[hook] : "?";
}

/* ---- bodies and answers ------------------------------------------------------ */

static int add_str(cJSON *o, const char *k, const char *v) { return cJSON_AddStringToObject(o, k, v ? v : "") != NULL; }

static int add_id(cJSON *o, const char *k, uint32_t id)
{
    char b[16];
    snprintf(b, sizeof b, "%u", id);
    return add_str(o, k, b);
}

char *http_hooks_body(const hook_event_t *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    const char *a = e->action ? e->action : "";
    int ok = add_str(o, "server_id", e->server_id) && add_str(o, "service_id", e->service_id) &&
             add_str(o, "action", a) && add_id(o, "client_id", e->client_id) && add_str(o, "ip", e->ip) &&
             add_str(o, "vhost", e->vhost) && add_str(o, "app", e->app) && add_str(o, "tcUrl", e->tc_url) &&
             add_str(o, "stream", e->stream) && add_str(o, "param", e->param);
    if (ok && e->stream && e->stream[0]) {
        char url[600];
        snprintf(url, sizeof url, "/%s/%s", e->app ? e->app : "", e->stream);
        ok = add_str(o, "stream_url", url) && (!e->stream_id || add_id(o, "stream_id", e->stream_id));
    }
    /* SRS sends pageUrl with these two; rill does not track it. */
    if (ok && (!strcmp(a, "on_connect") || !strcmp(a, "on_play"))) ok = add_str(o, "pageUrl", "");
    if (ok && !strcmp(a, "on_close"))
        ok = cJSON_AddNumberToObject(o, "send_bytes", (double)e->send_bytes) &&
             cJSON_AddNumberToObject(o, "recv_bytes", (double)e->recv_bytes);
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

#define JSON_DEPTH_MAX 32       /* cJSON recurses once a level: a deeper answer would outgrow a coroutine's stack */
#define FORWARD_URLS_MAX 16     /* a backend's list: each URL is a forwarder and a connection */

/* Do arrays and objects nest deeper than JSON_DEPTH_MAX (strings skipped)? */
static int too_deep(const char *p, size_t len)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > JSON_DEPTH_MAX) return 1;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return 0;
}

/* Parse a whole answer as JSON (NULL when it is not, or nests too deep). */
static cJSON *parse_json(const char *body, size_t len)
{
    if (!body || !len || too_deep(body, len)) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!j) return NULL;
    while (end && end < body + len && isspace((unsigned char)*end)) end++;
    if (end && end < body + len && *end) {   /* trailing garbage */
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int http_hooks_answer_allows(int status, const char *body, size_t len, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (status != 200) {
        *why = "HTTP status is not 200";
        return 0;
    }
    /* exactly "0" (SRS's old answer), whitespace around allowed */
    size_t a = 0, z = len;
    while (a < z && isspace((unsigned char)body[a])) a++;
    while (z > a && isspace((unsigned char)body[z - 1])) z--;
    if (z - a == 1 && body[a] == '0') return 1;
    cJSON *j = parse_json(body, len);
    if (!cJSON_IsObject(j)) {
        *why = z == a ? "the body is empty" : "the body is neither 0 nor a JSON object";
        cJSON_Delete(j);
        return 0;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    int allow = 0;
    if (!cJSON_IsNumber(code)) *why = "the JSON has no numeric \"code\"";
    else if (code->valuedouble != 0) *why = "\"code\" is not 0";
    else allow = 1;
    cJSON_Delete(j);
    return allow;
}

void http_hooks_free_urls(char **urls, int n)
{
    for (int i = 0; i < n; i++) free(urls[i]);
    free(urls);
}

int http_hooks_parse_forward(int status, const char *body, size_t len, char ***urls, int *n, const char **why)
{
    *urls = NULL;
    *n = 0;
    if (status != 200) {
        *why = "HTTP status is not 200";
        return RILL_ERR_HTTP;
    }
    cJSON *j = parse_json(body, len);
    const cJSON *code = j ? cJSON_GetObjectItemCaseSensitive(j, "code") : NULL;
    if (!cJSON_IsObject(j) || !cJSON_IsNumber(code)) {
        *why = "the body is not JSON with a numeric \"code\"";
        cJSON_Delete(j);
        return RILL_ERR_HTTP;
    }
    if (code->valuedouble != 0) {
        *why = "\"code\" is not 0";
        cJSON_Delete(j);
        return RILL_ERR_DENIED;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    const cJSON *list = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "urls") : NULL;
    if (list && !cJSON_IsArray(list)) {
        *why = "\"data.urls\" is not an array";
        cJSON_Delete(j);
        return RILL_ERR_HTTP;
    }
    int count = cJSON_GetArraySize(list), rc = 0;   /* no data.urls: nothing to forward */
    if (count > FORWARD_URLS_MAX) count = FORWARD_URLS_MAX;   /* the first ones; the rest ignored */
    char **a = count ? calloc((size_t)count, sizeof *a) : NULL;
    if (count && !a) rc = RILL_ERR_NOMEM;
    const cJSON *it;
    int k = 0;
    cJSON_ArrayForEach(it, list) {
        if (rc || k == count || !cJSON_IsString(it)) continue;
        int dup = 0;            /* two forwarders to one URL would refuse each other */
        for (int i = 0; i < k && !dup; i++) dup = !strcmp(a[i], it->valuestring);
        if (dup) continue;
        if (!(a[k] = strdup(it->valuestring))) rc = RILL_ERR_NOMEM;
        else k++;
    }
    cJSON_Delete(j);
    if (rc) {
        http_hooks_free_urls(a, k);
        *why = "out of memory";
        return rc;
    }
    *urls = a;
    *n = k;
    return 0;
}

/* ---- calls -------------------------------------------------------------------- */

static void client_event(const http_hooks_t *h, const client_t *cl, const char *action, hook_event_t *e)
{
    memset(e, 0, sizeof *e);
    e->action = action;
    e->server_id = h->server_id;
    e->service_id = h->service_id;
    e->client_id = cl->id;
    e->ip = cl->ip;
    e->vhost = cl->vhost;
    e->app = cl->app;
    e->stream = cl->stream;
    e->param = cl->param;
    e->tc_url = cl->tc_url;
    e->send_bytes = cl->out_bytes ? *cl->out_bytes : 0;
    e->recv_bytes = cl->in_bytes ? *cl->in_bytes : 0;
    if (cl->stream && cl->stream[0]) {
        source_t *s = hub_find(h->hub, cl->vhost, cl->app, cl->stream);
        e->stream_id = s ? s->id : 0;
    }
}

/* One POST. 1: allowed, 0: denied (logged with the reason). */
static int post_one(http_hooks_t *h, const char *action, const char *url, const char *body, int timeout_ms,
                    uint32_t cid, int notify)
{
    int status = 0;
    char *answer = NULL;
    size_t alen = 0;
    h->calls++;
    int rc = http_dial_post_json(url, body, (st_utime_t)timeout_ms * 1000, &status, &answer, &alen);
    if (rc) {
        h->failed++;
        rill_warn("hook %s %s for client %u: no answer (%s)%s", action, url, cid, rill_strerror(rc),
                  notify ? "" : ": denied");
        return 0;
    }
    const char *why = NULL;
    int ok = http_hooks_answer_allows(status, answer, alen, &why);
    if (ok) {
        h->allowed++;
        rill_info("hook %s %s for client %u: allowed", action, url, cid);
    } else if (notify) {
        h->failed++;
        rill_warn("hook %s %s for client %u: HTTP %d, body '%.80s': %s (a notification: ignored)", action, url,
                  cid, status, answer, why);
    } else {
        h->denied++;
        rill_warn("hook %s %s denied client %u: HTTP %d, body '%.80s': %s", action, url, cid, status, answer, why);
    }
    free(answer);
    return ok;
}

int http_hooks_check(http_hooks_t *h, const vhost_conf_t *vc, int hook, client_t *cl)
{
    int n = vc && vc->hooks_enabled ? vc->nhooks[hook] : 0;
    if (n > 0) {
        hook_event_t e;
        client_event(h, cl, actions[hook], &e);
        char *body = http_hooks_body(&e);
        if (!body) return RILL_ERR_NOMEM;
        int ok = 1;
        /* in order; the first that does not allow decides */
        for (int i = 0; i < n && ok; i++) ok = post_one(h, actions[hook], vc->hooks[hook][i], body, vc->hooks_timeout, cl->id, 0);
        free(body);
        if (!ok) return RILL_ERR_DENIED;
    }
    if (hook == HOOK_CONNECT) cl->connected = 1;
    return 0;
}

/* ---- notifications --------------------------------------------------------------- */

struct hook_job {
    http_hooks_t *h;
    task_t task;                /* a member of h->jobs */
    uint32_t cid;
    int timeout_ms;
    int n;
    struct { const char *action, *url; char *body; } post[MAX_POSTS];  /* url: the config's string */
    char *bodies[3];
};

static void job_free(void *arg)
{
    hook_job_t *j = arg;
    for (int i = 0; i < 3; i++) free(j->bodies[i]);
    free(j);
}

static void job_main(void *arg)
{
    hook_job_t *j = arg;
    http_hooks_t *h = j->h;
    rill_log_set_cid(j->cid);
    for (int i = 0; i < j->n; i++) {
        if (j->task.stop) {
            rill_warn("hook %s %s for client %u: not sent (server stopping)", j->post[i].action, j->post[i].url, j->cid);
            continue;
        }
        post_one(h, j->post[i].action, j->post[i].url, j->post[i].body, j->timeout_ms, j->cid, 1);
    }
}

void http_hooks_client_end(http_hooks_t *h, const vhost_conf_t *vc, const client_t *cl)
{
    if (!vc || !vc->hooks_enabled) return;
    int which[3], nw = 0;
    if (cl->type == CLIENT_PUBLISH) which[nw++] = HOOK_UNPUBLISH;
    if (cl->type == CLIENT_PLAY || cl->type == CLIENT_FLV || cl->type == CLIENT_HLS)
        which[nw++] = HOOK_STOP;
    if (cl->connected) which[nw++] = HOOK_CLOSE;
    int total = 0;
    for (int k = 0; k < nw; k++) total += vc->nhooks[which[k]];
    if (total == 0) return;
    hook_job_t *j = calloc(1, sizeof *j);
    if (!j) return;
    j->h = h;
    j->cid = cl->id;
    j->timeout_ms = vc->hooks_timeout;
    for (int k = 0; k < nw; k++) {
        int hook = which[k];
        if (!vc->nhooks[hook]) continue;
        hook_event_t e;
        client_event(h, cl, actions[hook], &e);
        if (!(j->bodies[k] = http_hooks_body(&e))) {
            job_free(j);
            return;
        }
        for (int i = 0; i < vc->nhooks[hook] && j->n < MAX_POSTS; i++) {
            j->post[j->n].action = actions[hook];
            j->post[j->n].url = vc->hooks[hook][i];
            j->post[j->n].body = j->bodies[k];
            j->n++;
        }
    }
    /* the group joins it when it ends and frees it (job_free) */
    if (tasks_start(&h->jobs, &j->task, job_main, j, NULL, job_free) != 0) {
        rill_warn("hooks: no coroutine for the notifications of client %u%s", cl->id,
                  h->jobs.closing ? " (server stopping)" : "");
        job_free(j);
    }
}

int http_hooks_on_forward(http_hooks_t *h, const vhost_conf_t *vc, struct source *s, char ***urls, int *n)
{
    *urls = NULL;
    *n = 0;
    const client_t *pub = clients_find(h->clients, s->publisher_cid);
    hook_event_t e = {
        .action = "on_forward", .server_id = h->server_id, .service_id = h->service_id,
        .client_id = s->publisher_cid, .ip = pub ? pub->ip : "", .vhost = s->vhost, .app = s->app,
        .stream = s->stream, .param = s->publish_param, .tc_url = pub ? pub->tc_url : "", .stream_id = s->id,
    };
    char *body = http_hooks_body(&e);
    if (!body) return RILL_ERR_NOMEM;
    int status = 0;
    char *answer = NULL;
    size_t alen = 0;
    h->calls++;
    int rc = http_dial_post_json(vc->forward_backend, body, (st_utime_t)vc->hooks_timeout * 1000, &status,
                                   &answer, &alen);
    free(body);
    if (rc) {
        h->failed++;
        rill_warn("forward backend %s for %s/%s/%s: no answer (%s)", vc->forward_backend, s->vhost, s->app,
                  s->stream, rill_strerror(rc));
        return rc;
    }
    const char *why = NULL;
    rc = http_hooks_parse_forward(status, answer, alen, urls, n, &why);
    if (rc) {
        h->failed++;
        rill_warn("forward backend %s for %s/%s/%s: HTTP %d, body '%.80s': %s", vc->forward_backend, s->vhost,
                  s->app, s->stream, status, answer, why);
    } else {
        h->allowed++;
    }
    free(answer);
    return rc;
}

int http_hooks_init(http_hooks_t *h, struct hub *hub, const clients_t *clients,
                    const char *server_id, const char *service_id)
{
    memset(h, 0, sizeof *h);
    h->hub = hub;
    h->clients = clients;
    h->server_id = server_id;
    h->service_id = service_id;
    return tasks_init(&h->jobs, "hook notifications");
}

void http_hooks_stop(http_hooks_t *h)
{
    h->stopping = 1;
    for (int i = 0; i < STOP_GRACE_MS / 10 && h->jobs.count; i++) st_usleep(10 * 1000);
    if (h->jobs.count)
        rill_warn("hooks: interrupting %d notification(s) still under way; what was not sent is dropped",
                  h->jobs.count);
    tasks_stop(&h->jobs);
}
