#include "http_mime.h"

#include <string.h>
#include <strings.h>

static const struct { const char *ext, *type; } mime_types[] = {
    { "html", "text/html; charset=utf-8" },
    { "htm", "text/html; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "txt", "text/plain; charset=utf-8" },
    { "xml", "application/xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "svg", "image/svg+xml" },
    { "ico", "image/x-icon" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "wasm", "application/wasm" },
    { "pdf", "application/pdf" },
    { "m3u8", "application/vnd.apple.mpegurl" },
    { "ts", "video/mp2t" },
    { "flv", "video/x-flv" },
    { "mp4", "video/mp4" },
    { "m4s", "video/iso.segment" },
    { "mpd", "application/dash+xml" },
    { "webm", "video/webm" },
    { "aac", "audio/aac" },
    { "mp3", "audio/mpeg" },
    { "wav", "audio/wav" },
};

const char *http_mime_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot && dot[1]) {
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (strcasecmp(dot + 1, mime_types[i].ext) == 0) return mime_types[i].type;
    }
    return "application/octet-stream";
}
