/* AMF0: decode every value, encode them again, decode that: the values must
 * be equal and a second encoding byte-identical (round trip stable). A clone
 * must encode the same. The same bytes also go through rtmp_cmd_parse and
 * rtmp_metadata_unwrap, as a command or data message body would. */
#include "amf0.h"
#include "fuzz_util.h"
#include "rill_error.h"
#include "rtmp_cmd.h"

/* Deep equality; numbers by bit pattern (NaN payloads survive encoding). */
static int same(const amf0_value_t *a, const amf0_value_t *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case AMF0_NUMBER:
        return !memcmp(&a->number, &b->number, sizeof a->number);
    case AMF0_DATE:
        return !memcmp(&a->number, &b->number, sizeof a->number) && a->tz == b->tz;
    case AMF0_BOOLEAN:
        return a->boolean == b->boolean;
    case AMF0_REFERENCE:
        return a->ref == b->ref;
    case AMF0_STRING: case AMF0_LONG_STRING: case AMF0_XML_DOCUMENT:
        return a->str_len == b->str_len && !memcmp(a->str, b->str, a->str_len);
    case AMF0_STRICT_ARRAY:
        if (a->nitems != b->nitems) return 0;
        for (uint32_t i = 0; i < a->nitems; i++)
            if (!same(a->items[i], b->items[i])) return 0;
        return 1;
    case AMF0_TYPED_OBJECT:
        if (strcmp(a->class_name, b->class_name)) return 0;
        /* fall through */
    case AMF0_OBJECT: case AMF0_ECMA_ARRAY:
        if (a->nprops != b->nprops) return 0;
        for (uint32_t i = 0; i < a->nprops; i++) {
            const amf0_prop_t *x = &a->props[i], *y = &b->props[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) || !same(x->value, y->value))
                return 0;
        }
        return 1;
    }
    return 1;   /* null, undefined */
}

static int same_bytes(const rill_writer_t *a, const rill_writer_t *b)
{
    return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static void encode_all(amf0_value_t **vals, size_t n, rill_writer_t *w)
{
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(amf0_encode(w, vals[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    amf0_value_t **v1 = NULL, **v2 = NULL;
    size_t n1 = 0, n2 = 0;
    int rc = amf0_decode_all(data, size, &v1, &n1);
    FUZZ_CHECK(rc == 0 || rc == RILL_ERR_AMF || rc == RILL_ERR_AMF_DEPTH);
    if (rc == 0) {
        rill_writer_t e1, e2, e3;
        rill_writer_init(&e1, 0);
        rill_writer_init(&e2, 0);
        rill_writer_init(&e3, 0);
        encode_all(v1, n1, &e1);
        FUZZ_CHECK(amf0_decode_all(e1.data, e1.len, &v2, &n2) == 0);
        FUZZ_CHECK(n1 == n2);
        for (size_t i = 0; i < n1; i++) FUZZ_CHECK(same(v1[i], v2[i]));
        encode_all(v2, n2, &e2);
        FUZZ_CHECK(same_bytes(&e1, &e2));
        for (size_t i = 0; i < n1; i++) {
            amf0_value_t *c = amf0_clone(v1[i]);
            FUZZ_CHECK(c && same(c, v1[i]));
            FUZZ_CHECK(amf0_encode(&e3, c) == 0);
            amf0_free(c);
        }
        FUZZ_CHECK(same_bytes(&e1, &e3));
        /* Lookups the server does on command objects. */
        for (size_t i = 0; i < n1; i++) {
            amf0_object_get_string(v1[i], "app");
            amf0_object_get_number(v1[i], "objectEncoding", 0);
            amf0_object_remove(v1[i], "");
        }
        amf0_free_all(v2, n2);
        rill_writer_free(&e1);
        rill_writer_free(&e2);
        rill_writer_free(&e3);
        amf0_free_all(v1, n1);
    }

    rtmp_cmd_t cmd;
    if (rtmp_cmd_parse(data, size, 0, &cmd) == 0) {
        FUZZ_CHECK(cmd.name);
        rtmp_cmd_arg_string(&cmd, 1);
        rtmp_cmd_free(&cmd);
    }
    rill_writer_t w;
    rill_writer_init(&w, 0);
    rtmp_metadata_unwrap(data, size, &w);
    rill_writer_free(&w);
    return 0;
}
