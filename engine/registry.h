/* The registry HTTP API v2, for update detection without pulling: the digest a tag
 * points at (HEAD on its manifest), the tags of a repository, and the choice of a
 * newer version tag. One claw_registry is a client: one libcurl multi handle (so
 * connections are reused and many lookups run at once), the tokens it was given and
 * the pace it keeps per host. Every wait also polls the cancel pipe. */
#ifndef CLAW_REGISTRY_H
#define CLAW_REGISTRY_H

#include <stddef.h>

#include "cancel.h"
#include "err.h"

/* A registry refused access even with the credentials it asked for. */
#define CLAW_E_UNAUTHORIZED "unauthorized"

typedef struct claw_registry claw_registry;

typedef struct claw_registry_opts {
    /* Registries (host[:port], or a host for all its ports) spoken to over plain
     * HTTP; NULL-terminated, may be NULL. Loopback registries (localhost,
     * 127.0.0.0/8, ::1) try HTTPS first and fall back to HTTP when the server does
     * not speak TLS, as Docker does. Certificates are always verified. */
    const char *const *insecure;
    const char *ca;   /* PEM CA file to trust; NULL: /etc/docker/certs.d/<registry>/ca.crt
                         when it exists, else the system's */
    double timeout;   /* for one reference, every request and wait; 0 means 30 s */
    double interval;  /* at least this long between two requests to one registry */
    int concurrency;  /* transfers at once; 0 means 16 */
    int per_host;     /* transfers at once to one registry; 0 means 6 */
} claw_registry_opts;

typedef struct claw_registry_result {
    char digest[136];     /* "sha256:<hex>" */
    char media_type[128]; /* of the manifest: an index, a list or one image */
    char registry[256];   /* as references name it: docker.io, localhost:5000 */
    char repository[512]; /* library/nginx */
    char tag[129];        /* "" when the reference named a digest */
    claw_err err;         /* err.code is "" on success */
} claw_registry_result;

claw_registry *claw_registry_new(const claw_cancel *cancel);
void claw_registry_free(claw_registry *r);

/* The manifest digest reference `ref` points at. */
int claw_registry_digest(claw_registry *r, const char *ref, const claw_registry_opts *o,
                         claw_registry_result *out, claw_err *err);
/* n lookups at once; out[i] answers refs[i], each with its own err. Returns -1 only
 * when interrupted. */
int claw_registry_digests(claw_registry *r, const char *const *refs, size_t n,
                          const claw_registry_opts *o, claw_registry_result *out,
                          claw_err *err);
/* Every tag of repository `repo` (a reference; its tag is ignored), following the
 * pages: at most `limit` (0: all), `page` per request (0: the registry's choice).
 * A NULL-terminated list the caller frees with claw_registry_tags_free. */
char **claw_registry_tags(claw_registry *r, const char *repo, size_t limit, size_t page,
                          const claw_registry_opts *o, size_t *n, claw_err *err);
void claw_registry_tags_free(char **tags);

/* Whether one of an image's RepoDigests ("name@sha256:...") is `digest` for the
 * same repository. registry NULL matches any repository. A pulled multi-platform
 * image records the index digest, which is what claw_registry_digest returns. */
int claw_registry_has_digest(const char *const *repo_digests, size_t n,
                             const char *registry, const char *repository,
                             const char *digest);

/* ---- parsers, exposed for the unit tests ---- */

typedef struct claw_challenge {
    char scheme[16]; /* "bearer" or "basic" (lowercase) */
    char realm[1024];
    char service[256];
    char scope[512];
} claw_challenge;

/* The first Bearer or Basic challenge of a WWW-Authenticate value; -1 when none. */
int claw_registry_parse_challenge(const char *header, claw_challenge *c);
/* The URL of the rel="next" link of a Link value; -1 when none. */
int claw_registry_next_link(const char *header, char *url, size_t size);

/* ---- version tags ---- */

typedef enum { CLAW_VER_SEMVER, CLAW_VER_CALVER } claw_ver_policy;
typedef enum { CLAW_VER_MAJOR, CLAW_VER_MINOR, CLAW_VER_PATCH } claw_ver_level;

#define CLAW_VER_PARTS 4
typedef struct claw_version {
    int v;                          /* written with a leading "v" */
    int n;                          /* how many numbers */
    long long num[CLAW_VER_PARTS];
    const char *suffix;             /* "-rc.1", "-alpine" (into the tag), or "" */
} claw_version;

/* 0 when tag is a version under the policy: [v]N(.N)*[-suffix], at most 3 numbers
 * for semver, a year (4 digits, or 2) first for calver. */
int claw_version_parse(const char *tag, claw_ver_policy p, claw_version *v);
/* <0, 0, >0 as a is older, the same, newer: numbers numerically, then a suffix is
 * older than none, suffixes compared by dot-separated parts (digits numerically). */
int claw_version_cmp(const claw_version *a, const claw_version *b);

typedef struct claw_newer_opts {
    claw_ver_policy policy;
    claw_ver_level level;      /* how far to move: any newer, same major, same minor */
    const char *include;       /* POSIX extended regex a candidate must match; NULL */
    const char *exclude;       /* ... must not match; NULL */
} claw_newer_opts;

/* The newest of tags[0..n) newer than current and allowed, or NULL: with err->code
 * "" when none is, "invalid" when current is not a version or a pattern is bad.
 * Candidates have the same "v" and as many numbers as current; without include,
 * pre-releases (-alpha, -beta, -rc, ...) are skipped and a variant suffix
 * (-alpine) must be current's. */
const char *claw_registry_newer(const char *current, const char *const *tags, size_t n,
                                const claw_newer_opts *o, claw_err *err);

#endif
