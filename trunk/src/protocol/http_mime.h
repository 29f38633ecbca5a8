/* Content types by file extension, for static files. */
#ifndef HTTP_MIME_H
#define HTTP_MIME_H

#ifdef __cplusplus
extern "C" {
#endif

/* The type for a file name's extension (case-insensitive);
 * "application/octet-stream" when unknown or none. */
const char *http_mime_type(const char *name);

#ifdef __cplusplus
}
#endif
#endif
