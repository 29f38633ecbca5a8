/* One table of error codes for the whole server. A function that can fail
 * returns 0 or one of these (negative). rill_strerror() gives the text. */
#ifndef RILL_ERROR_H
#define RILL_ERROR_H

#define RILL_ERRORS(X)                                                        \
    X(RILL_OK,               0,   "ok")                                       \
    X(RILL_ERR_NOMEM,       -1,   "out of memory")                            \
    X(RILL_ERR_AGAIN,       -2,   "need more data")                           \
    X(RILL_ERR_INVAL,       -3,   "invalid argument")                         \
    X(RILL_ERR_IO,          -4,   "i/o error")                                \
    X(RILL_ERR_EOF,         -5,   "peer closed the connection")               \
    X(RILL_ERR_TIMEOUT,     -6,   "timed out")                                \
    X(RILL_ERR_INTERRUPTED, -7,   "interrupted")                              \
    X(RILL_ERR_LIMIT,       -8,   "limit exceeded")                           \
    X(RILL_ERR_BUDGET,      -9,   "server-wide input budget exhausted (input_budget)") \
    X(RILL_ERR_HANDSHAKE,   -10,  "bad rtmp handshake")                       \
    X(RILL_ERR_CHUNK,       -11,  "bad rtmp chunk stream")                    \
    X(RILL_ERR_CHUNK_SIZE,  -12,  "bad rtmp chunk size")                      \
    X(RILL_ERR_MSG_SIZE,    -13,  "rtmp message too large")                   \
    X(RILL_ERR_AMF,         -14,  "malformed amf0 data")                      \
    X(RILL_ERR_AMF_DEPTH,   -15,  "amf0 nesting too deep")                    \
    X(RILL_ERR_COMMAND,     -16,  "bad rtmp command")                         \
    X(RILL_ERR_FLV,         -17,  "malformed flv data")                       \
    X(RILL_ERR_CODEC,       -18,  "malformed codec header")                   \
    X(RILL_ERR_CONF,        -20,  "bad configuration")                        \
    X(RILL_ERR_STREAM_BUSY, -30,  "stream is already publishing")             \
    X(RILL_ERR_NOT_FOUND,   -31,  "not found")                                \
    X(RILL_ERR_DENIED,      -32,  "denied")                                   \
    X(RILL_ERR_TOO_MANY,    -33,  "too many connections")                     \
    X(RILL_ERR_GOP_TOO_BIG, -34,  "one GOP exceeds the stream's byte bound (queue_bytes)") \
    X(RILL_ERR_HTTP,        -40,  "bad http request")                         \
    X(RILL_ERR_URL,         -41,  "unsupported url (http://host[:port]/path only)") \
    X(RILL_ERR_RESOLVE,     -42,  "host name does not resolve")           \
    X(RILL_ERR_SYSTEM,      -50,  "system call failed")

enum rill_error {
#define RILL_ERR_ENUM(name, code, text) name = code,
    RILL_ERRORS(RILL_ERR_ENUM)
#undef RILL_ERR_ENUM
};

const char *rill_strerror(int code);

#endif
