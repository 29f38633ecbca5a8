/* RTMP chunk stream: decoder (bytes in, messages out) and encoder
 * (messages to chunk headers + payload slices for writev). Pure memory code:
 * no sockets, so tests and fuzzers feed it bytes directly. */
#ifndef RTMP_CHUNK_H
#define RTMP_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "rill_budget.h"
#include "rtmp_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RTMP_DEFAULT_CHUNK_SIZE 128
#define RTMP_MIN_CHUNK_SIZE     128     /* what rill accepts from a peer */
#define RTMP_MAX_CHUNK_SIZE     65536   /* SRS's bound, larger is refused */
#define RTMP_MAX_MSG_SIZE       0xFFFFFF
#define RTMP_MAX_CSID           65599

typedef struct rtmp_chunk_stream rtmp_chunk_stream_t;  /* per csid state, private */

typedef struct rtmp_chunk_decoder {
    uint32_t chunk_size;           /* incoming chunk size (peer's Set Chunk Size) */
    size_t max_pending;            /* cap on bytes held by partly received messages */
    size_t pending;                /* bytes currently held by partial messages */
    rill_budget_t *budget;         /* shared with other decoders (NULL: none): partial
                                      message bytes are taken from it and given back */
    size_t budget_free;            /* pending bytes held outside the budget, so that
                                      ordinary frames never wait on other peers */
    /* private state */
    rtmp_chunk_stream_t **streams; /* compact array of known chunk streams, grown on demand */
    uint32_t nstreams;             /* slots in streams[] */
    uint32_t nactive;              /* chunk streams allocated (capped) */
    uint8_t hdr[18];               /* partial chunk header bytes */
    uint8_t hdr_len;
    uint32_t cur_csid;             /* csid whose chunk body is being read, or 0 */
    uint32_t cur_left;             /* body bytes left in the current chunk */
    uint8_t back[4];               /* bytes peeked as a repeated extended timestamp */
    uint8_t back_off, back_len;    /* that were not one: they are read again first */
} rtmp_chunk_decoder_t;

/* max_pending: 0 picks the default (64 MiB). Set budget (and budget_free)
 * after init to share a bound with other decoders: what a decoder holds
 * beyond budget_free is taken from the budget. Growth past either bound fails
 * the decode with RILL_ERR_LIMIT (this decoder's) or RILL_ERR_BUDGET (the
 * shared one). */
void rtmp_chunk_decoder_init(rtmp_chunk_decoder_t *d, size_t max_pending);
void rtmp_chunk_decoder_free(rtmp_chunk_decoder_t *d);
/* A peer's Abort Message for csid: its partly received message is dropped
 * (the next chunk on csid starts a new one). Nothing held: nothing to do. */
void rtmp_chunk_decoder_abort(rtmp_chunk_decoder_t *d, uint32_t csid);
/* Apply a peer's Set Chunk Size. RILL_ERR_CHUNK_SIZE when out of range. */
int rtmp_chunk_decoder_set_chunk_size(rtmp_chunk_decoder_t *d, uint32_t size);

/* Consume bytes from p[0..n) until one whole message is complete or the
 * input is used up. *used gets the bytes consumed. When a message is complete,
 * returns 1 and fills *msg (the caller owns msg->payload); returns 0 when all
 * input was consumed without completing a message; negative RILL_ERR_* on a
 * protocol violation (the connection must be closed). The caller must apply a
 * Set Chunk Size message before feeding the bytes after it, which is why this
 * stops after each message. Memory for a message grows as its bytes arrive. */
int rtmp_chunk_decode(rtmp_chunk_decoder_t *d, const uint8_t *p, size_t n,
                      size_t *used, rtmp_msg_t *msg);

/* Encoder: writes the chunked form of one message as header bytes in hdr and
 * iovecs that point alternately at hdr and at msg->payload->data. The payload
 * is not copied. Returns the number of iovecs used (> 0) or a negative
 * RILL_ERR_* if hdr or iov is too small. Always uses fmt 0 for the first
 * chunk and fmt 3 for the others. hdr needs 18 + 8 * nchunks bytes at most,
 * iov 2 * nchunks entries. */
int rtmp_chunk_encode(const rtmp_msg_t *msg, uint32_t chunk_size,
                      uint8_t *hdr, size_t hdr_cap, size_t *hdr_used,
                      struct iovec *iov, int iov_cap);
/* Number of chunks a message of size bytes takes. */
static inline uint32_t rtmp_chunk_count(uint32_t size, uint32_t chunk_size)
{ return size == 0 ? 1 : (size + chunk_size - 1) / chunk_size; }
/* Bytes of chunk header a message needs (for sizing hdr). */
size_t rtmp_chunk_header_bytes(const rtmp_msg_t *msg, uint32_t chunk_size);

/* Encode a message into one contiguous buffer (control and command messages). */
struct rill_writer;
int rtmp_chunk_encode_to(const rtmp_msg_t *msg, uint32_t chunk_size, struct rill_writer *out);

#ifdef __cplusplus
}
#endif
#endif
