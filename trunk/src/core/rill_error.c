#include "rill_error.h"

const char *rill_strerror(int code)
{
    switch (code) {
#define RILL_ERR_CASE(name, c, text) case c: return text;
        RILL_ERRORS(RILL_ERR_CASE)
#undef RILL_ERR_CASE
    }
    return "unknown error";
}
