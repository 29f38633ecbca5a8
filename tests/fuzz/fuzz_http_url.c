/* URL pieces for HTTP: percent-decoding (both modes), request path safety,
 * query parameters, client URLs, basic auth, MIME types, and HTTP-FLV mount
 * matching. Input: "MOUNT\nPATH" matches PATH against MOUNT (a mount comes
 * from the config: only those with at most two [app]/[stream] in all, as
 * real ones) and against the usual mounts; without a newline the whole
 * input is the path. */
#include "fuzz_util.h"
#include "http_auth.h"
#include "http_mime.h"
#include "http_mount.h"
#include "http_url.h"
#include "rill_error.h"

static void decode(const uint8_t *data, size_t size, int plus)
{
    char *out = malloc(size + 1);
    if (!out) abort();
    int n = http_percent_decode((const char *)data, size, out, plus);
    if (n >= 0) {
        FUZZ_CHECK((size_t)n <= size && out[n] == '\0' && strlen(out) == (size_t)n);
        /* In place gives the same. */
        char *again = malloc(size + 1);
        if (!again) abort();
        memcpy(again, data, size);
        FUZZ_CHECK(http_percent_decode(again, size, again, plus) == n && !memcmp(again, out, (size_t)n + 1));
        free(again);
    } else {
        FUZZ_CHECK(n == RILL_ERR_HTTP);
    }
    free(out);
}

/* [app] and [stream] in a mount: real ones have one of each at most. */
static int placeholders(const char *m)
{
    int k = 0;
    for (const char *p = m; (p = strstr(p, "[app]")); p++) k++;
    for (const char *p = m; (p = strstr(p, "[stream]")); p++) k++;
    return k;
}

static void mount(const char *m, const char *path)
{
    http_mount_match_t mm;
    int rc = http_mount_match(m, path, &mm);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == RILL_ERR_INVAL);
    FUZZ_CHECK((rc == RILL_ERR_INVAL) == !http_mount_valid(m));
    if (rc == 1) {
        FUZZ_CHECK(mm.stream[0] && !strchr(mm.stream, '/') && !strchr(mm.app, '/'));
        FUZZ_CHECK(strlen(mm.stream) < sizeof mm.stream && strlen(mm.app) < sizeof mm.app);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode(data, size, 0);
    decode(data, size, 1);

    char *s = fuzz_strndup(data, size);
    size_t len = strlen(s);
    char *dec = malloc(len + 1);
    if (!dec) abort();
    if (http_percent_decode(s, len, dec, 0) >= 0 && http_path_is_safe(s, dec)) {
        FUZZ_CHECK(s[0] == '/' && dec[0] == '/' && !strchr(dec, '\\') && !strstr(dec, "/../"));
        size_t dl = strlen(dec);
        FUZZ_CHECK(!(dl >= 3 && !strcmp(dec + dl - 3, "/..")));
    }
    free(dec);

    char v[64];
    http_query_get(s, "a", v, sizeof v);
    http_query_get(s, "token", v, sizeof v);
    http_query_get(s, "", v, 1);

    http_dial_url_t u;
    const char *why = NULL;
    if (http_dial_url_parse(s, &u, &why) == 0) {
        FUZZ_CHECK(u.port > 0 && u.port <= 65535 && u.target[0] == '/' && u.ip[0]);
        FUZZ_CHECK(strlen(u.target) < sizeof u.target);
    } else {
        FUZZ_CHECK(why != NULL);
    }

    http_basic_auth_check(s, "admin", "secret");
    http_basic_auth_check(s, "", "");
    FUZZ_CHECK(http_mime_type(s) != NULL);

    char *nl = strchr(s, '\n');
    const char *path = s;
    if (nl) {
        *nl = '\0';
        path = nl + 1;
        if (placeholders(s) <= 2) mount(s, path);
    }
    mount("[vhost]/[app]/[stream].flv", path);
    mount("/live/[stream].flv", path);
    mount("[app]/[stream]", path);
    free(s);
    return 0;
}
