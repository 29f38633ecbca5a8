#include "api_view.h"

int api_view_http_conns(const api_view_t *view)
{
    int n = view->http_server ? http_server_nconns(view->http_server) : 0;
    if (view->http_api && view->http_api != view->http_server) n += http_server_nconns(view->http_api);
    return n;
}
