/* Image references as Docker reads them: [domain/]path[:tag][@digest], with Docker
 * Hub's rules (no domain means docker.io, a one-part path gets "library/"). */
#ifndef CLAW_REF_H
#define CLAW_REF_H

#include <stddef.h>

#include "err.h"

typedef struct claw_ref {
    char domain[256]; /* "docker.io", "localhost:5000", "ghcr.io" */
    char path[512];   /* "library/nginx", "openclaw/gateway" */
    char tag[129];    /* "latest" when neither tag nor digest was given */
    char digest[136]; /* "sha256:<64 hex>" or "" */
} claw_ref;

int claw_ref_parse(const char *s, claw_ref *r, claw_err *err);
/* domain/path, e.g. "docker.io/library/nginx". */
const char *claw_ref_name(const claw_ref *r, char *buf, size_t size);
/* The key Docker uses for this registry in config.json "auths". */
const char *claw_ref_auth_key(const claw_ref *r);

#endif
