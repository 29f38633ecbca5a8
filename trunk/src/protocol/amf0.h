/* AMF0 values: decode from and encode to memory, with a depth bound so a
 * hostile nest of objects cannot exhaust the stack. */
#ifndef AMF0_H
#define AMF0_H

#include <stddef.h>
#include <stdint.h>
#include "rill_bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

enum amf0_type {
    AMF0_NUMBER       = 0x00,
    AMF0_BOOLEAN      = 0x01,
    AMF0_STRING       = 0x02,
    AMF0_OBJECT       = 0x03,
    AMF0_MOVIECLIP    = 0x04,
    AMF0_NULL         = 0x05,
    AMF0_UNDEFINED    = 0x06,
    AMF0_REFERENCE    = 0x07,
    AMF0_ECMA_ARRAY   = 0x08,
    AMF0_OBJECT_END   = 0x09,
    AMF0_STRICT_ARRAY = 0x0A,
    AMF0_DATE         = 0x0B,
    AMF0_LONG_STRING  = 0x0C,
    AMF0_UNSUPPORTED  = 0x0D,
    AMF0_XML_DOCUMENT = 0x0F,
    AMF0_TYPED_OBJECT = 0x10,
    AMF0_AVMPLUS      = 0x11,
};

#define AMF0_MAX_DEPTH 64   /* nesting rill accepts; deeper input is refused */
/* Values one decode call may create. A 16 MiB message of 1-byte nulls would
 * otherwise become ~2 GiB of nodes; real metadata (even keyframe indexes of
 * long files) stays far below this. More is refused as RILL_ERR_AMF. */
#define AMF0_MAX_VALUES (1u << 18)

typedef struct amf0_value amf0_value_t;

typedef struct amf0_prop {
    char *key;              /* NUL-terminated copy */
    uint32_t key_len;
    amf0_value_t *value;
} amf0_prop_t;

struct amf0_value {
    uint8_t type;           /* enum amf0_type; LONG_STRING and XML decode as such */
    double number;          /* NUMBER, DATE (ms) */
    int boolean;            /* BOOLEAN */
    int16_t tz;             /* DATE */
    char *str;              /* STRING, LONG_STRING, XML_DOCUMENT: NUL-terminated copy */
    uint32_t str_len;
    amf0_prop_t *props;     /* OBJECT, ECMA_ARRAY, TYPED_OBJECT: in wire order */
    uint32_t nprops;
    uint32_t props_cap;
    amf0_value_t **items;   /* STRICT_ARRAY */
    uint32_t nitems;
    uint32_t items_cap;
    char *class_name;       /* TYPED_OBJECT */
    uint16_t ref;           /* REFERENCE */
};

/* Constructors return NULL on no memory. */
amf0_value_t *amf0_new_number(double v);
amf0_value_t *amf0_new_bool(int v);
amf0_value_t *amf0_new_string(const char *s);
amf0_value_t *amf0_new_string_len(const char *s, size_t n);
amf0_value_t *amf0_new_null(void);
amf0_value_t *amf0_new_undefined(void);
amf0_value_t *amf0_new_object(void);
amf0_value_t *amf0_new_ecma_array(void);
amf0_value_t *amf0_new_strict_array(void);
/* Deep copy. */
amf0_value_t *amf0_clone(const amf0_value_t *v);
void amf0_free(amf0_value_t *v);

/* Object/ECMA array: append (or replace) key; takes ownership of value even
 * on failure. Returns 0 or RILL_ERR_NOMEM. */
int amf0_object_set(amf0_value_t *obj, const char *key, amf0_value_t *value);
/* Strict array: append; takes ownership. */
int amf0_array_push(amf0_value_t *arr, amf0_value_t *value);
/* Lookup on object/ECMA array; NULL when absent or obj is not one. */
amf0_value_t *amf0_object_get(const amf0_value_t *obj, const char *key);
/* Typed lookups: NULL / default when absent or of another type. */
const char *amf0_object_get_string(const amf0_value_t *obj, const char *key);
double amf0_object_get_number(const amf0_value_t *obj, const char *key, double dflt);
/* Remove a key; returns 1 when it was there. */
int amf0_object_remove(amf0_value_t *obj, const char *key);

/* Decode one value. 0 and *out set, or RILL_ERR_AMF (truncated or malformed),
 * RILL_ERR_AMF_DEPTH (nested deeper than AMF0_MAX_DEPTH), RILL_ERR_NOMEM.
 * A top-level ECMA array whose end marker is missing at the very end of the
 * input is accepted when it holds at least as many properties as its count
 * said (some encoders send onMetaData that way). */
int amf0_decode(rill_reader_t *r, amf0_value_t **out);
/* Encode one value (the type marker included). STRING longer than 65535
 * bytes is written as LONG_STRING. On error nothing is appended; RILL_ERR_INVAL
 * for a type that cannot be encoded or a key over 65535 bytes,
 * RILL_ERR_AMF_DEPTH when nested deeper than AMF0_MAX_DEPTH. */
int amf0_encode(rill_writer_t *w, const amf0_value_t *v);

/* Decode every value in p[0..n). On success *vals is a malloc'd array of
 * *count values (free with amf0_free_all). */
int amf0_decode_all(const uint8_t *p, size_t n, amf0_value_t ***vals, size_t *count);
void amf0_free_all(amf0_value_t **vals, size_t count);

/* Encoding shortcuts that write one typed value. */
int amf0_write_number(rill_writer_t *w, double v);
int amf0_write_bool(rill_writer_t *w, int v);
int amf0_write_string(rill_writer_t *w, const char *s);
int amf0_write_null(rill_writer_t *w);

#ifdef __cplusplus
}
#endif
#endif
