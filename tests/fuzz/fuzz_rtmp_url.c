/* RTMP URLs (tcUrl, forward and edge upstreams) and stream names with
 * parameters, as publish/play hand them over. */
#include "fuzz_util.h"
#include "rill_error.h"
#include "rtmp_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    rtmp_url_t u;
    if (rtmp_url_parse(s, &u) == 0) {
        FUZZ_CHECK(u.host[0] && u.port >= 1 && u.port <= 65535);
        FUZZ_CHECK(strlen(u.app) < sizeof u.app && strlen(u.stream) < sizeof u.stream);
        FUZZ_CHECK(u.param[0] == '\0' || u.param[0] == '?');
    }
    char name[256], param[1024], v[256];
    if (rtmp_split_param(s, name, sizeof name, param, sizeof param) == 0) {
        FUZZ_CHECK(!strchr(name, '?') && (param[0] == '\0' || param[0] == '?'));
        rtmp_param_get(param, "vhost", v, sizeof v);
    }
    rtmp_param_get(s, "vhost", v, sizeof v);
    rtmp_param_get(s, "domain", v, sizeof v);
    rtmp_param_get(s, "", v, 1);
    free(s);
    return 0;
}
