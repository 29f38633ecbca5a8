/* AMF0 codec. Decoding recurses once per container level and refuses to go
 * past AMF0_MAX_DEPTH, so the stack use is bounded whatever the input. Every
 * length is checked against the bytes actually left before anything is
 * allocated, and arrays grow as items decode, never from a declared count. */
#include "amf0.h"
#include "rill_error.h"

#include <stdlib.h>
#include <string.h>

/* ---- construction and ownership ---------------------------------------- */

static amf0_value_t *new_value(uint8_t type)
{
    amf0_value_t *v = calloc(1, sizeof(*v));
    if (v) v->type = type;
    return v;
}

amf0_value_t *amf0_new_number(double n)
{
    amf0_value_t *v = new_value(AMF0_NUMBER);
    if (v) v->number = n;
    return v;
}

amf0_value_t *amf0_new_bool(int b)
{
    amf0_value_t *v = new_value(AMF0_BOOLEAN);
    if (v) v->boolean = b ? 1 : 0;
    return v;
}

/* NUL-terminated copy of n bytes (which may themselves contain NULs). */
static char *dup_bytes(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

amf0_value_t *amf0_new_string_len(const char *s, size_t n)
{
    if ((!s && n) || n > UINT32_MAX) return NULL;
    amf0_value_t *v = new_value(AMF0_STRING);
    if (!v) return NULL;
    v->str = dup_bytes(s, n);
    if (!v->str) { free(v); return NULL; }
    v->str_len = (uint32_t)n;
    return v;
}

amf0_value_t *amf0_new_string(const char *s)
{
    return amf0_new_string_len(s, s ? strlen(s) : 0);
}

amf0_value_t *amf0_new_null(void) { return new_value(AMF0_NULL); }
amf0_value_t *amf0_new_undefined(void) { return new_value(AMF0_UNDEFINED); }
amf0_value_t *amf0_new_object(void) { return new_value(AMF0_OBJECT); }
amf0_value_t *amf0_new_ecma_array(void) { return new_value(AMF0_ECMA_ARRAY); }
amf0_value_t *amf0_new_strict_array(void) { return new_value(AMF0_STRICT_ARRAY); }

/* Recursion here is bounded by how the tree was built: decoded and cloned
 * trees are at most AMF0_MAX_DEPTH deep. */
void amf0_free(amf0_value_t *v)
{
    if (!v) return;
    for (uint32_t i = 0; i < v->nprops; i++) {
        free(v->props[i].key);
        amf0_free(v->props[i].value);
    }
    for (uint32_t i = 0; i < v->nitems; i++) amf0_free(v->items[i]);
    free(v->props);
    free(v->items);
    free(v->str);
    free(v->class_name);
    free(v);
}

static int has_props(const amf0_value_t *v)
{
    return v && (v->type == AMF0_OBJECT || v->type == AMF0_ECMA_ARRAY ||
                 v->type == AMF0_TYPED_OBJECT);
}

/* Make room for one more element in a uint32-counted array. */
static int grow(void **arr, uint32_t *cap, uint32_t used, size_t elem)
{
    if (used < *cap) return 0;
    if (*cap > UINT32_MAX / 2) return RILL_ERR_NOMEM;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    if ((size_t)ncap > SIZE_MAX / elem) return RILL_ERR_NOMEM;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return RILL_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Append a property; owns key and value from here on, even on failure. */
static int props_push(amf0_value_t *obj, char *key, uint32_t key_len, amf0_value_t *value)
{
    void *props = obj->props;
    if (grow(&props, &obj->props_cap, obj->nprops, sizeof(amf0_prop_t))) {
        free(key);
        amf0_free(value);
        return RILL_ERR_NOMEM;
    }
    obj->props = props;
    amf0_prop_t *pr = &obj->props[obj->nprops++];
    pr->key = key;
    pr->key_len = key_len;
    pr->value = value;
    return 0;
}

static int items_push(amf0_value_t *arr, amf0_value_t *value)
{
    void *items = arr->items;
    if (grow(&items, &arr->items_cap, arr->nitems, sizeof(amf0_value_t *))) {
        amf0_free(value);
        return RILL_ERR_NOMEM;
    }
    arr->items = items;
    arr->items[arr->nitems++] = value;
    return 0;
}

/* Index of the first property named key (whole key, NULs included), or -1. */
static long find_key(const amf0_value_t *obj, const char *key, size_t len)
{
    for (uint32_t i = 0; i < obj->nprops; i++) {
        if (obj->props[i].key_len == len && memcmp(obj->props[i].key, key, len) == 0)
            return (long)i;
    }
    return -1;
}

int amf0_object_set(amf0_value_t *obj, const char *key, amf0_value_t *value)
{
    if (!value) return RILL_ERR_NOMEM;   /* a constructor that failed */
    if (!has_props(obj) || !key) {
        amf0_free(value);
        return RILL_ERR_INVAL;
    }
    size_t len = strlen(key);
    long i = find_key(obj, key, len);
    if (i >= 0) {
        amf0_free(obj->props[i].value);
        obj->props[i].value = value;
        return 0;
    }
    if (len > UINT32_MAX) { amf0_free(value); return RILL_ERR_INVAL; }
    char *k = dup_bytes(key, len);
    if (!k) { amf0_free(value); return RILL_ERR_NOMEM; }
    return props_push(obj, k, (uint32_t)len, value);
}

int amf0_array_push(amf0_value_t *arr, amf0_value_t *value)
{
    if (!value) return RILL_ERR_NOMEM;
    if (!arr || arr->type != AMF0_STRICT_ARRAY) {
        amf0_free(value);
        return RILL_ERR_INVAL;
    }
    return items_push(arr, value);
}

amf0_value_t *amf0_object_get(const amf0_value_t *obj, const char *key)
{
    if (!has_props(obj) || !key) return NULL;
    long i = find_key(obj, key, strlen(key));
    return i >= 0 ? obj->props[i].value : NULL;
}

const char *amf0_object_get_string(const amf0_value_t *obj, const char *key)
{
    const amf0_value_t *v = amf0_object_get(obj, key);
    if (v && (v->type == AMF0_STRING || v->type == AMF0_LONG_STRING)) return v->str;
    return NULL;
}

double amf0_object_get_number(const amf0_value_t *obj, const char *key, double dflt)
{
    const amf0_value_t *v = amf0_object_get(obj, key);
    return v && v->type == AMF0_NUMBER ? v->number : dflt;
}

/* Removes every property with that key: decoded input may repeat a key. */
int amf0_object_remove(amf0_value_t *obj, const char *key)
{
    if (!has_props(obj) || !key) return 0;
    size_t len = strlen(key);
    uint32_t kept = 0;
    int found = 0;
    for (uint32_t i = 0; i < obj->nprops; i++) {
        amf0_prop_t *pr = &obj->props[i];
        if (pr->key_len == len && memcmp(pr->key, key, len) == 0) {
            free(pr->key);
            amf0_free(pr->value);
            found = 1;
        } else {
            obj->props[kept++] = *pr;
        }
    }
    obj->nprops = kept;
    return found;
}

static int is_container(uint8_t t)
{
    return t == AMF0_OBJECT || t == AMF0_ECMA_ARRAY || t == AMF0_TYPED_OBJECT ||
           t == AMF0_STRICT_ARRAY;
}

/* Same depth rule as decoding, so a clone is always encodable. */
static amf0_value_t *clone_value(const amf0_value_t *v, int depth)
{
    if (!v || (is_container(v->type) && depth >= AMF0_MAX_DEPTH)) return NULL;
    amf0_value_t *c = new_value(v->type);
    if (!c) return NULL;
    c->number = v->number;
    c->boolean = v->boolean;
    c->tz = v->tz;
    c->ref = v->ref;
    if (v->str) {
        if (!(c->str = dup_bytes(v->str, v->str_len))) goto fail;
        c->str_len = v->str_len;
    }
    if (v->class_name && !(c->class_name = dup_bytes(v->class_name, strlen(v->class_name))))
        goto fail;
    for (uint32_t i = 0; i < v->nprops; i++) {
        const amf0_prop_t *pr = &v->props[i];
        amf0_value_t *cv = clone_value(pr->value, depth + 1);
        if (!cv) goto fail;
        char *k = dup_bytes(pr->key, pr->key_len);
        if (!k) { amf0_free(cv); goto fail; }
        if (props_push(c, k, pr->key_len, cv)) goto fail;
    }
    for (uint32_t i = 0; i < v->nitems; i++) {
        amf0_value_t *cv = clone_value(v->items[i], depth + 1);
        if (!cv || items_push(c, cv)) goto fail;
    }
    return c;
fail:
    amf0_free(c);
    return NULL;
}

amf0_value_t *amf0_clone(const amf0_value_t *v)
{
    return v ? clone_value(v, 0) : NULL;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct decoder {
    rill_reader_t *r;
    uint32_t budget;        /* values still allowed, see AMF0_MAX_VALUES */
} decoder_t;

static int decode_value(decoder_t *d, int depth, amf0_value_t **out);

/* Read len bytes as a NUL-terminated copy. The read is checked before the
 * allocation, so a huge declared length costs nothing. */
static int read_str(rill_reader_t *r, size_t len, char **out)
{
    const uint8_t *p = rill_read_bytes(r, len);
    if (!p) return RILL_ERR_AMF;
    *out = dup_bytes(p, len);
    return *out ? 0 : RILL_ERR_NOMEM;
}

/* Properties up to the 00 00 09 end marker. For a top-level ECMA array
 * (min_props >= 0) the marker may be missing at the very end of the input
 * once the announced count has been read; any other short read is an error. */
static int decode_props(decoder_t *d, amf0_value_t *obj, int depth, int64_t min_props)
{
    rill_reader_t *r = d->r;
    for (;;) {
        if (min_props >= 0 && rill_reader_left(r) == 0 && obj->nprops >= min_props)
            return 0;
        uint16_t klen = rill_read_u16be(r);
        if (r->err) return RILL_ERR_AMF;
        /* An empty key is the end marker only when 0x09 follows; otherwise it
         * is a property with an empty name. */
        if (klen == 0 && rill_reader_left(r) > 0 && r->p[r->pos] == AMF0_OBJECT_END) {
            r->pos++;
            return 0;
        }
        char *key;
        int rc = read_str(r, klen, &key);
        if (rc) return rc;
        amf0_value_t *v;
        if ((rc = decode_value(d, depth, &v))) { free(key); return rc; }
        if ((rc = props_push(obj, key, klen, v))) return rc;
    }
}

static int decode_strict_array(decoder_t *d, amf0_value_t *arr, int depth)
{
    uint32_t count = rill_read_u32be(d->r);
    if (d->r->err) return RILL_ERR_AMF;
    /* Every item takes at least one byte: refuse a count the input cannot
     * hold before decoding anything. */
    if (count > rill_reader_left(d->r)) return RILL_ERR_AMF;
    for (uint32_t i = 0; i < count; i++) {
        amf0_value_t *v;
        int rc = decode_value(d, depth, &v);
        if (rc) return rc;
        if ((rc = items_push(arr, v))) return rc;
    }
    return 0;
}

/* Fill v from the payload after its type marker. depth counts the containers
 * around v. Containers pass depth + 1 to their children. */
static int decode_body(decoder_t *d, amf0_value_t *v, int depth)
{
    rill_reader_t *r = d->r;
    switch (v->type) {
    case AMF0_NUMBER:
        v->number = rill_read_f64be(r);
        return r->err ? RILL_ERR_AMF : 0;
    case AMF0_BOOLEAN:
        v->boolean = rill_read_u8(r) ? 1 : 0;
        return r->err ? RILL_ERR_AMF : 0;
    case AMF0_STRING:
    case AMF0_LONG_STRING:
    case AMF0_XML_DOCUMENT: {
        uint32_t n = v->type == AMF0_STRING ? rill_read_u16be(r) : rill_read_u32be(r);
        if (r->err) return RILL_ERR_AMF;
        v->str_len = n;
        return read_str(r, n, &v->str);
    }
    case AMF0_NULL:
    case AMF0_UNDEFINED:
        return 0;
    case AMF0_REFERENCE:
        v->ref = rill_read_u16be(r);
        return r->err ? RILL_ERR_AMF : 0;
    case AMF0_DATE:
        v->number = rill_read_f64be(r);
        v->tz = (int16_t)rill_read_u16be(r);
        return r->err ? RILL_ERR_AMF : 0;
    case AMF0_OBJECT:
        return decode_props(d, v, depth + 1, -1);
    case AMF0_ECMA_ARRAY: {
        uint32_t hint = rill_read_u32be(r);
        if (r->err) return RILL_ERR_AMF;
        /* Only a top-level array (onMetaData) may lack its end marker. */
        return decode_props(d, v, depth + 1, depth == 0 ? (int64_t)hint : -1);
    }
    case AMF0_TYPED_OBJECT: {
        uint16_t n = rill_read_u16be(r);
        if (r->err) return RILL_ERR_AMF;
        int rc = read_str(r, n, &v->class_name);
        return rc ? rc : decode_props(d, v, depth + 1, -1);
    }
    case AMF0_STRICT_ARRAY:
        return decode_strict_array(d, v, depth + 1);
    }
    /* movieclip, unsupported, recordset, avmplus (AMF3) and unknown markers */
    return RILL_ERR_AMF;
}

static int decode_value(decoder_t *d, int depth, amf0_value_t **out)
{
    uint8_t type = rill_read_u8(d->r);
    if (d->r->err) return RILL_ERR_AMF;
    /* Checked before recursing so that hostile nesting costs 64 frames. */
    if (is_container(type) && depth >= AMF0_MAX_DEPTH) return RILL_ERR_AMF_DEPTH;
    if (d->budget == 0) return RILL_ERR_AMF;
    d->budget--;
    amf0_value_t *v = new_value(type);
    if (!v) return RILL_ERR_NOMEM;
    int rc = decode_body(d, v, depth);
    if (rc) { amf0_free(v); return rc; }
    *out = v;
    return 0;
}

int amf0_decode(rill_reader_t *r, amf0_value_t **out)
{
    if (!r || !out) return RILL_ERR_INVAL;
    if (r->err) return RILL_ERR_AMF;
    decoder_t d = { r, AMF0_MAX_VALUES };
    return decode_value(&d, 0, out);
}

int amf0_decode_all(const uint8_t *p, size_t n, amf0_value_t ***vals, size_t *count)
{
    if (!vals || !count || (!p && n)) return RILL_ERR_INVAL;
    *vals = NULL;
    *count = 0;
    rill_reader_t r;
    rill_reader_init(&r, p, n);
    decoder_t d = { &r, AMF0_MAX_VALUES };   /* one budget for the whole message */
    amf0_value_t **arr = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    while (rill_reader_left(&r) > 0) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            amf0_value_t **na = realloc(arr, ncap * sizeof(*arr));
            if (!na) { rc = RILL_ERR_NOMEM; break; }
            arr = na;
            cap = ncap;
        }
        if ((rc = decode_value(&d, 0, &arr[len]))) break;
        len++;
    }
    if (rc) {
        amf0_free_all(arr, len);
        return rc;
    }
    *vals = arr;
    *count = len;
    return 0;
}

void amf0_free_all(amf0_value_t **vals, size_t count)
{
    if (!vals) return;
    for (size_t i = 0; i < count; i++) amf0_free(vals[i]);
    free(vals);
}

/* ---- encoding ----------------------------------------------------------- */

/* Strings up to 65535 bytes use the short form; longer ones must be long. */
static int encode_string(rill_writer_t *w, const char *s, size_t n)
{
    int rc;
    if (n <= UINT16_MAX) {
        if ((rc = rill_writer_reserve(w, 3 + n))) return rc;
        rill_write_u8(w, AMF0_STRING);
        rill_write_u16be(w, (uint16_t)n);
    } else {
        if (n > UINT32_MAX) return RILL_ERR_INVAL;
        if ((rc = rill_writer_reserve(w, 5 + n))) return rc;
        rill_write_u8(w, AMF0_LONG_STRING);
        rill_write_u32be(w, (uint32_t)n);
    }
    return rill_write_bytes(w, s, n);
}

/* A u16 length then the bytes: property names and class names. */
static int encode_utf8(rill_writer_t *w, const char *s, size_t n)
{
    if (n > UINT16_MAX) return RILL_ERR_INVAL;
    int rc = rill_write_u16be(w, (uint16_t)n);
    return rc ? rc : rill_write_bytes(w, s, n);
}

static int encode_value(rill_writer_t *w, const amf0_value_t *v, int depth);

static int encode_props(rill_writer_t *w, const amf0_value_t *v, int depth)
{
    int rc;
    for (uint32_t i = 0; i < v->nprops; i++) {
        const amf0_prop_t *pr = &v->props[i];
        if ((rc = encode_utf8(w, pr->key, pr->key_len))) return rc;
        if ((rc = encode_value(w, pr->value, depth))) return rc;
    }
    static const uint8_t end[3] = { 0x00, 0x00, AMF0_OBJECT_END };
    return rill_write_bytes(w, end, sizeof end);
}

/* depth counts the containers around v, as in decoding, so anything encoded
 * here decodes again. */
static int encode_value(rill_writer_t *w, const amf0_value_t *v, int depth)
{
    if (!v) return RILL_ERR_INVAL;
    if (is_container(v->type) && depth >= AMF0_MAX_DEPTH) return RILL_ERR_AMF_DEPTH;
    int rc;
    switch (v->type) {
    case AMF0_NUMBER:
        return amf0_write_number(w, v->number);
    case AMF0_BOOLEAN:
        return amf0_write_bool(w, v->boolean);
    case AMF0_STRING:
        return encode_string(w, v->str ? v->str : "", v->str_len);
    case AMF0_LONG_STRING:
    case AMF0_XML_DOCUMENT:
        if ((rc = rill_writer_reserve(w, 5 + (size_t)v->str_len))) return rc;
        rill_write_u8(w, v->type);
        rill_write_u32be(w, v->str_len);
        return rill_write_bytes(w, v->str ? v->str : "", v->str_len);
    case AMF0_NULL:
    case AMF0_UNDEFINED:
        return rill_write_u8(w, v->type);
    case AMF0_REFERENCE:
        if ((rc = rill_write_u8(w, AMF0_REFERENCE))) return rc;
        return rill_write_u16be(w, v->ref);
    case AMF0_DATE:
        if ((rc = rill_write_u8(w, AMF0_DATE))) return rc;
        if ((rc = rill_write_f64be(w, v->number))) return rc;
        return rill_write_u16be(w, (uint16_t)v->tz);
    case AMF0_OBJECT:
        if ((rc = rill_write_u8(w, AMF0_OBJECT))) return rc;
        return encode_props(w, v, depth + 1);
    case AMF0_ECMA_ARRAY:
        if ((rc = rill_write_u8(w, AMF0_ECMA_ARRAY))) return rc;
        if ((rc = rill_write_u32be(w, v->nprops))) return rc;
        return encode_props(w, v, depth + 1);
    case AMF0_TYPED_OBJECT: {
        const char *cls = v->class_name ? v->class_name : "";
        if ((rc = rill_write_u8(w, AMF0_TYPED_OBJECT))) return rc;
        if ((rc = encode_utf8(w, cls, strlen(cls)))) return rc;
        return encode_props(w, v, depth + 1);
    }
    case AMF0_STRICT_ARRAY:
        if ((rc = rill_write_u8(w, AMF0_STRICT_ARRAY))) return rc;
        if ((rc = rill_write_u32be(w, v->nitems))) return rc;
        for (uint32_t i = 0; i < v->nitems; i++) {
            if ((rc = encode_value(w, v->items[i], depth + 1))) return rc;
        }
        return 0;
    }
    return RILL_ERR_INVAL;
}

int amf0_encode(rill_writer_t *w, const amf0_value_t *v)
{
    if (!w) return RILL_ERR_INVAL;
    size_t start = w->len;
    int rc = encode_value(w, v, 0);
    if (rc) w->len = start;   /* leave no half-written value behind */
    return rc;
}

/* The shortcuts reserve first so they append all or nothing. */
int amf0_write_number(rill_writer_t *w, double v)
{
    int rc = rill_writer_reserve(w, 9);
    if (rc) return rc;
    rill_write_u8(w, AMF0_NUMBER);
    return rill_write_f64be(w, v);
}

int amf0_write_bool(rill_writer_t *w, int v)
{
    int rc = rill_writer_reserve(w, 2);
    if (rc) return rc;
    rill_write_u8(w, AMF0_BOOLEAN);
    return rill_write_u8(w, v ? 1 : 0);
}

int amf0_write_string(rill_writer_t *w, const char *s)
{
    if (!s) return RILL_ERR_INVAL;
    return encode_string(w, s, strlen(s));
}

int amf0_write_null(rill_writer_t *w) { return rill_write_u8(w, AMF0_NULL); }
