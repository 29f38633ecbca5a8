/* nginx-style config parser: a hand-written tokenizer feeding a recursive
 * block parser. Every directive remembers its file and line so the model can
 * point at the exact place of a bad value. */
#include "conf_parser.h"
#include "rill_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that refuse garbage (a binary file, a runaway quote) early. */
#define CONF_MAX_TOKEN          4096
#define CONF_MAX_FILE           (4 * 1024 * 1024)
#define CONF_MAX_INCLUDE_DEPTH  8
#define CONF_MAX_NESTING        64      /* keeps the recursion shallow */

enum tok { TOK_WORD, TOK_SEMI, TOK_OPEN, TOK_CLOSE, TOK_EOF, TOK_ERR };

typedef struct parser {
    conf_directive_t *root;     /* owns the file table */
    char *err;
    size_t errlen;
    int include_depth;
} parser_t;

typedef struct lexer {
    const char *p, *end;
    const char *file;           /* entry of root->files */
    int line;                   /* current line */
    int tok_line;               /* line where the last token started */
    size_t len;
    char buf[CONF_MAX_TOKEN + 1];
} lexer_t;

static int fail(parser_t *ps, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(parser_t *ps, const char *file, int line, const char *fmt, ...)
{
    if (ps->err && ps->errlen) {
        int n = snprintf(ps->err, ps->errlen, "%s:%d: ", file, line);
        if (n >= 0 && (size_t)n < ps->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return RILL_ERR_CONF;
}

/* ---- directive tree ---------------------------------------------------- */

static conf_directive_t *dir_new(const char *name, const char *file, int line)
{
    conf_directive_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->name = strdup(name);
    if (!d->name) { free(d); return NULL; }
    d->file = file;
    d->line = line;
    return d;
}

static int dir_add_arg(conf_directive_t *d, const char *arg, size_t len)
{
    char *s = strndup(arg, len);
    if (!s) return RILL_ERR_NOMEM;
    char **a = realloc(d->args, sizeof *a * (size_t)(d->nargs + 1));
    if (!a) { free(s); return RILL_ERR_NOMEM; }
    d->args = a;
    d->args[d->nargs++] = s;
    return 0;
}

static int dir_add_child(conf_directive_t *parent, conf_directive_t *c)
{
    if (parent->nchildren == parent->children_cap) {
        int cap = parent->children_cap ? parent->children_cap * 2 : 8;
        conf_directive_t **a = realloc(parent->children, sizeof *a * (size_t)cap);
        if (!a) return RILL_ERR_NOMEM;
        parent->children = a;
        parent->children_cap = cap;
    }
    parent->children[parent->nchildren++] = c;
    return 0;
}

void conf_free(conf_directive_t *d)
{
    if (!d) return;
    for (int i = 0; i < d->nargs; i++) free(d->args[i]);
    free(d->args);
    for (int i = 0; i < d->nchildren; i++) conf_free(d->children[i]);
    free(d->children);
    for (int i = 0; i < d->nfiles; i++) free(d->files[i]);
    free(d->files);
    free(d->name);
    free(d);
}

conf_directive_t *conf_get(const conf_directive_t *d, const char *name)
{
    if (!d) return NULL;
    for (int i = 0; i < d->nchildren; i++)
        if (strcmp(d->children[i]->name, name) == 0) return d->children[i];
    return NULL;
}

const char *conf_arg0(const conf_directive_t *d)
{
    return d && d->nargs > 0 ? d->args[0] : NULL;
}

/* Remember a file name in the root's table; directives point at the copy. */
static const char *add_file(conf_directive_t *root, const char *name)
{
    char *s = strdup(name);
    if (!s) return NULL;
    char **a = realloc(root->files, sizeof *a * (size_t)(root->nfiles + 1));
    if (!a) { free(s); return NULL; }
    root->files = a;
    root->files[root->nfiles++] = s;
    return s;
}

/* ---- tokenizer --------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
static int is_delim(char c) { return is_space(c) || c == ';' || c == '{' || c == '}'; }

static int push(parser_t *ps, lexer_t *lx, char c)
{
    if (lx->len >= CONF_MAX_TOKEN)
        return fail(ps, lx->file, lx->tok_line, "token too long (more than %d bytes)", CONF_MAX_TOKEN);
    lx->buf[lx->len++] = c;
    return 0;
}

static int read_quoted(parser_t *ps, lexer_t *lx)
{
    char q = *lx->p++;
    while (lx->p < lx->end) {
        char c = *lx->p++;
        if (c == q) return 0;
        if (c == '\n') lx->line++;
        if (c == '\\' && lx->p < lx->end) {
            char e = *lx->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '"': case '\'': case '\\': c = e; break;
            default:
                /* Unknown escape: keep it literally, like nginx. */
                if (push(ps, lx, '\\')) return RILL_ERR_CONF;
                if (e == '\n') lx->line++;
                c = e;
            }
        }
        if (push(ps, lx, c)) return RILL_ERR_CONF;
    }
    return fail(ps, lx->file, lx->tok_line, "unterminated quote");
}

static enum tok next_token(parser_t *ps, lexer_t *lx)
{
    lx->len = 0;
    for (;;) {
        while (lx->p < lx->end && is_space(*lx->p))
            if (*lx->p++ == '\n') lx->line++;
        if (lx->p < lx->end && *lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n') lx->p++;
            continue;
        }
        break;
    }
    lx->tok_line = lx->line;
    if (lx->p >= lx->end) return TOK_EOF;

    char c = *lx->p;
    if (c == '\0') {
        fail(ps, lx->file, lx->line, "unexpected NUL byte (not a text file?)");
        return TOK_ERR;
    }
    if (c == ';') { lx->p++; return TOK_SEMI; }
    if (c == '{') { lx->p++; return TOK_OPEN; }
    if (c == '}') { lx->p++; return TOK_CLOSE; }
    if (c == '"' || c == '\'') return read_quoted(ps, lx) ? TOK_ERR : TOK_WORD;

    while (lx->p < lx->end && !is_delim(*lx->p)) {
        if (*lx->p == '\0') {
            fail(ps, lx->file, lx->line, "unexpected NUL byte (not a text file?)");
            return TOK_ERR;
        }
        if (push(ps, lx, *lx->p++)) return TOK_ERR;
    }
    return TOK_WORD;
}

/* ---- parser ------------------------------------------------------------ */

static int parse_text(parser_t *ps, const char *text, size_t len, const char *file,
                      conf_directive_t *parent, int nesting);

/* Read a whole file, bounded. On failure returns NULL with a reason in why. */
static char *read_file(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(why, whylen, "%s", strerror(errno)); return NULL; }
    size_t cap = 4096, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap || !buf) {
            if (buf) cap *= 2;
            char *b = realloc(buf, cap);
            if (!b) { snprintf(why, whylen, "out of memory"); goto bad; }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n > CONF_MAX_FILE) {
            snprintf(why, whylen, "file too large (more than %d bytes)", CONF_MAX_FILE);
            goto bad;
        }
        if (r == 0) {
            if (ferror(f)) { snprintf(why, whylen, "%s", strerror(errno)); goto bad; }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
bad:
    free(buf);
    fclose(f);
    return NULL;
}

/* 'include FILE;' — the file's directives become siblings of the include. */
static int do_include(parser_t *ps, const conf_directive_t *inc, conf_directive_t *parent, int nesting)
{
    if (inc->nargs != 1)
        return fail(ps, inc->file, inc->line, "directive 'include' takes 1 argument, got %d", inc->nargs);
    if (ps->include_depth >= CONF_MAX_INCLUDE_DEPTH)
        return fail(ps, inc->file, inc->line, "include '%s' nested too deeply (more than %d levels, include loop?)",
                    inc->args[0], CONF_MAX_INCLUDE_DEPTH);

    /* Relative paths are relative to the including file's directory. */
    const char *arg = inc->args[0];
    char *path;
    const char *slash = strrchr(inc->file, '/');
    if (arg[0] == '/' || !slash) {
        path = strdup(arg);
    } else if (asprintf(&path, "%.*s/%s", (int)(slash - inc->file), inc->file, arg) < 0) {
        path = NULL;
    }
    if (!path) return RILL_ERR_NOMEM;

    char why[256];
    size_t len = 0;
    char *text = read_file(path, &len, why, sizeof why);
    if (!text) {
        int rc = fail(ps, inc->file, inc->line, "cannot open include file '%s': %s", path, why);
        free(path);
        return rc;
    }
    const char *file = add_file(ps->root, path);
    free(path);
    if (!file) { free(text); return RILL_ERR_NOMEM; }

    ps->include_depth++;
    int rc = parse_text(ps, text, len, file, parent, nesting);
    ps->include_depth--;
    free(text);
    return rc;
}

/* Parse directives into parent until EOF (opener == NULL) or the '}' that
 * closes opener. */
static int parse_block(parser_t *ps, lexer_t *lx, conf_directive_t *parent,
                       const conf_directive_t *opener, int nesting)
{
    for (;;) {
        enum tok k = next_token(ps, lx);
        if (k == TOK_ERR) return RILL_ERR_CONF;
        if (k == TOK_EOF) {
            if (!opener) return 0;
            return fail(ps, lx->file, lx->line, "unexpected end of file, missing '}' for '%s' opened at line %d",
                        opener->name, opener->line);
        }
        if (k == TOK_CLOSE) {
            if (opener) return 0;
            return fail(ps, lx->file, lx->tok_line, "unexpected '}'");
        }
        if (k != TOK_WORD || lx->len == 0)
            return fail(ps, lx->file, lx->tok_line, "empty directive name");

        lx->buf[lx->len] = '\0';
        conf_directive_t *d = dir_new(lx->buf, lx->file, lx->tok_line);
        if (!d) return RILL_ERR_NOMEM;

        int rc = 0;
        for (;;) {
            k = next_token(ps, lx);
            if (k == TOK_ERR) { rc = RILL_ERR_CONF; break; }
            if (k == TOK_WORD) {
                if ((rc = dir_add_arg(d, lx->buf, lx->len))) break;
                continue;
            }
            if (k == TOK_SEMI) break;
            if (k == TOK_OPEN) {
                if (nesting + 1 > CONF_MAX_NESTING) {
                    rc = fail(ps, lx->file, lx->tok_line, "blocks nested too deeply (more than %d levels)",
                              CONF_MAX_NESTING);
                    break;
                }
                d->has_block = 1;
                rc = parse_block(ps, lx, d, d, nesting + 1);
                break;
            }
            /* '}' or EOF while still reading arguments. */
            rc = fail(ps, d->file, d->line, "missing ';' after directive '%s' (before %s)", d->name,
                      k == TOK_CLOSE ? "'}'" : "end of file");
            break;
        }
        if (rc == 0 && strcmp(d->name, "include") == 0) {
            if (d->has_block)
                rc = fail(ps, d->file, d->line, "directive 'include' takes no block");
            else
                rc = do_include(ps, d, parent, nesting);
            conf_free(d);
            if (rc) return rc;
            continue;
        }
        if (rc == 0) rc = dir_add_child(parent, d);
        if (rc) { conf_free(d); return rc; }
    }
}

static int parse_text(parser_t *ps, const char *text, size_t len, const char *file,
                      conf_directive_t *parent, int nesting)
{
    lexer_t *lx = malloc(sizeof *lx);   /* big token buffer: keep it off the stack */
    if (!lx) return RILL_ERR_NOMEM;
    lx->p = text;
    lx->end = text + len;
    lx->file = file;
    lx->line = 1;
    lx->tok_line = 1;
    lx->len = 0;
    int rc = parse_block(ps, lx, parent, NULL, nesting);
    free(lx);
    return rc;
}

static int parse_root(const char *text, size_t len, const char *name, conf_directive_t **root,
                      char *err, size_t errlen)
{
    *root = NULL;
    conf_directive_t *r = calloc(1, sizeof *r);
    if (!r) return RILL_ERR_NOMEM;
    r->name = strdup("");
    const char *file = r->name ? add_file(r, name) : NULL;
    if (!file) { conf_free(r); return RILL_ERR_NOMEM; }
    r->file = file;

    parser_t ps = { .root = r, .err = err, .errlen = errlen };
    int rc = parse_text(&ps, text, len, file, r, 0);
    if (rc) {
        if (rc == RILL_ERR_NOMEM && err && errlen) snprintf(err, errlen, "%s: out of memory", name);
        conf_free(r);
        return rc;
    }
    *root = r;
    return 0;
}

int conf_parse_file(const char *path, conf_directive_t **root, char *err, size_t errlen)
{
    char why[256];
    size_t len = 0;
    *root = NULL;
    char *text = read_file(path, &len, why, sizeof why);
    if (!text) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot open config file: %s", path, why);
        return RILL_ERR_CONF;
    }
    int rc = parse_root(text, len, path, root, err, errlen);
    free(text);
    return rc;
}

int conf_parse_string(const char *text, const char *name, conf_directive_t **root,
                      char *err, size_t errlen)
{
    if (!name) name = "<string>";
    size_t len = strnlen(text, (size_t)CONF_MAX_FILE + 1);
    if (len > CONF_MAX_FILE) {
        *root = NULL;
        if (err && errlen) snprintf(err, errlen, "%s: file too large (more than %d bytes)", name, CONF_MAX_FILE);
        return RILL_ERR_CONF;
    }
    return parse_root(text, len, name, root, err, errlen);
}
