/* The config parser and model: config_load_string on the input text.
 * Inputs naming 'include' are skipped (it would read arbitrary files), and
 * host names never reach DNS: getaddrinfo below resolves only "localhost",
 * so a run neither blocks on the network nor depends on it. Warnings are
 * silenced (rill_log level above error). */
#include <netdb.h>
#include <netinet/in.h>

#include "fuzz_util.h"
#include "config.h"
#include "rill_error.h"
#include "rill_log.h"

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    (void)service;
    (void)hints;
    *res = NULL;
    if (!node || strcmp(node, "localhost") != 0) return EAI_NONAME;
    struct { struct addrinfo ai; struct sockaddr_in sin; } *r = calloc(1, sizeof *r);
    if (!r) return EAI_MEMORY;
    r->sin.sin_family = AF_INET;
    r->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->ai.ai_family = AF_INET;
    r->ai.ai_socktype = SOCK_STREAM;
    r->ai.ai_addrlen = sizeof r->sin;
    r->ai.ai_addr = (struct sockaddr *)&r->sin;
    *res = &r->ai;
    return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
    free(res);   /* one block, from getaddrinfo above */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rill_log_set_level(RILL_LOG_ERROR + 1);
    if (memmem(data, size, "include", 7)) return 0;
    char *text = fuzz_strndup(data, size);
    char err[512];
    err[0] = '\0';
    config_t *c = NULL;
    int rc = config_load_string(text, "fuzz.conf", &c, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(c && c->nlistens >= 1 && c->nvhosts >= 1);
        for (int i = 0; i < c->nvhosts; i++) {
            const vhost_conf_t *v = &c->vhosts[i];
            FUZZ_CHECK(v->name && v->chunk_size >= 128 && v->chunk_size <= 65536);
            FUZZ_CHECK(v->mw_latency >= 0 && v->mw_msgs >= 0 && v->queue_length > 0);
            FUZZ_CHECK(!v->edge || v->norigins > 0);
            config_vhost(c, v->name);
        }
        config_vhost(c, "__defaultVhost__");
        config_vhost(c, NULL);
        config_free(c);
    } else {
        FUZZ_CHECK(c == NULL && err[0]);
        /* Errors point at a place: "NAME:LINE: reason" (or NAME: reason). */
        FUZZ_CHECK(!strncmp(err, "fuzz.conf:", 10));
    }
    free(text);
    return 0;
}
