/* nginx-style config text to a tree of directives with file and line.
 * Knows nothing of what directives mean: the config model (app/) does. */
#ifndef CONF_PARSER_H
#define CONF_PARSER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct conf_directive conf_directive_t;
struct conf_directive {
    char *name;
    char **args;
    int nargs;
    const char *file;       /* owned by the root's file table */
    int line;
    int has_block;          /* had { ... } */
    conf_directive_t **children;
    int nchildren;
    int children_cap;
    /* root only: the file names referenced by 'file' */
    char **files;
    int nfiles;
};

/* Parse a file; 'include FILE;' is expanded in place (relative paths against
 * the including file's directory, depth bounded). On error returns
 * RILL_ERR_CONF and writes "FILE:LINE: reason" into err. */
int conf_parse_file(const char *path, conf_directive_t **root, char *err, size_t errlen);
/* Same from memory; 'name' is used as the file name in errors. */
int conf_parse_string(const char *text, const char *name, conf_directive_t **root,
                      char *err, size_t errlen);
void conf_free(conf_directive_t *root);

/* First child named 'name' or NULL. */
conf_directive_t *conf_get(const conf_directive_t *d, const char *name);
/* First argument or NULL. */
const char *conf_arg0(const conf_directive_t *d);

#ifdef __cplusplus
}
#endif
#endif
