#include "http_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_CREDENTIALS 1024    /* encoded; anything longer is refused */

int http_basic_auth_check(const char *authorization, const char *user, const char *pass)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0) return 0;
    const char *b64 = authorization + 6;
    while (*b64 == ' ') b64++;
    size_t n = strlen(b64);
    while (n > 0 && b64[n - 1] == ' ') n--;
    if (n == 0 || n > MAX_CREDENTIALS || n % 4) return 0;

    unsigned char got[MAX_CREDENTIALS];
    int len = EVP_DecodeBlock(got, (const unsigned char *)b64, (int)n);
    if (len < 0) return 0;
    /* EVP_DecodeBlock counts the padding as zero bytes: drop them. */
    if (b64[n - 1] == '=') len--;
    if (b64[n - 2] == '=') len--;

    char want[2 * MAX_CREDENTIALS];
    int wlen = snprintf(want, sizeof want, "%s:%s", user, pass);
    if (wlen < 0 || (size_t)wlen >= sizeof want) return 0;
    /* Constant time over the bytes, so a guess does not learn a prefix. */
    return len == wlen && CRYPTO_memcmp(got, want, (size_t)len) == 0;
}
