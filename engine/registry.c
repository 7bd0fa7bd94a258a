#include "registry.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dockercfg.h"
#include "ref.h"

#define DEFAULT_TIMEOUT 30.0
#define DEFAULT_CONCURRENCY 16
#define DEFAULT_PER_HOST 8
#define MAX_BODY (8u << 20)   /* manifests are small; a tag page can be long */
#define MAX_429 3             /* Retry-After honoured this many times per reference */
#define RETRY_5XX_DELAY 0.2   /* before the one retry of a 5xx */
#define CREDS_TTL 300.0       /* seconds stored credentials are trusted before a re-read */
#define MAX_PAGES 10000

static const char ACCEPT[] =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

/* ======================= parsers: WWW-Authenticate, Link ======================= */

/* Copies src into dst of `size` bytes, cut short when it does not fit. */
static void put(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Reads a token or a quoted string (with \-escapes) into out; returns the rest. */
static const char *read_value(const char *p, char *out, size_t size)
{
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < size)
                out[n++] = *p;
        }
        if (*p == '"')
            p++;
    } else {
        for (; *p && !strchr(" \t,;", *p); p++)
            if (n + 1 < size)
                out[n++] = *p;
    }
    out[n] = 0;
    return p;
}

int claw_registry_parse_challenge(const char *h, claw_challenge *c)
{
    memset(c, 0, sizeof *c);
    int reading = 0; /* inside the chosen challenge */
    for (const char *p = h ? h : ""; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *name = p;
        while (*p && !strchr(" \t,=", *p))
            p++;
        size_t len = (size_t)(p - name);
        if (len == 0)
            break;
        const char *q = skip_ws(p);
        if (*q == '=' && q[1] != '=' && q[1] != 0) { /* an auth-param */
            char val[1024];
            p = read_value(skip_ws(q + 1), val, sizeof val);
            if (!reading)
                continue;
            if (len == 5 && strncasecmp(name, "realm", 5) == 0)
                put(c->realm, sizeof c->realm, val);
            else if (len == 7 && strncasecmp(name, "service", 7) == 0)
                put(c->service, sizeof c->service, val);
            else if (len == 5 && strncasecmp(name, "scope", 5) == 0)
                put(c->scope, sizeof c->scope, val);
            continue;
        }
        if (c->scheme[0]) /* the next challenge: ours is complete */
            break;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++; /* a token68 or "==" padding belongs to a scheme we skip */
        if (len == 6 && strncasecmp(name, "bearer", 6) == 0)
            strcpy(c->scheme, "bearer");
        else if (len == 5 && strncasecmp(name, "basic", 5) == 0)
            strcpy(c->scheme, "basic");
        reading = c->scheme[0] != 0;
    }
    return c->scheme[0] ? 0 : -1;
}

int claw_registry_next_link(const char *h, char *url, size_t size)
{
    for (const char *p = h ? h : ""; (p = strchr(p, '<'));) {
        const char *end = strchr(p, '>');
        if (!end)
            return -1;
        const char *params = end + 1;
        const char *stop = strchr(params, '<'); /* the next link-value starts there */
        size_t plen = stop ? (size_t)(stop - params) : strlen(params);
        for (const char *r = params; r < params + plen; r++) {
            if (strncasecmp(r, "rel", 3) != 0 || (r > params && isalnum((unsigned char)r[-1])))
                continue;
            const char *v = skip_ws(r + 3);
            if (*v != '=')
                continue;
            char rel[128];
            read_value(skip_ws(v + 1), rel, sizeof rel);
            /* rel may list several relation types */
            for (char *save = NULL, *t = strtok_r(rel, " ", &save); t; t = strtok_r(NULL, " ", &save))
                if (strcasecmp(t, "next") == 0) {
                    size_t n = (size_t)(end - p - 1);
                    if (n == 0 || n >= size)
                        return -1;
                    memcpy(url, p + 1, n);
                    url[n] = 0;
                    return 0;
                }
        }
        p = end + 1;
    }
    return -1;
}

/* ================================ version tags ================================ */

int claw_version_parse(const char *tag, claw_ver_policy pol, claw_version *v)
{
    memset(v, 0, sizeof *v);
    v->suffix = "";
    const char *p = tag;
    if (*p == 'v' || *p == 'V')
        v->v = 1, p++;
    int max = pol == CLAW_VER_SEMVER ? 3 : CLAW_VER_PARTS, first_digits = 0;
    for (;;) {
        if (!isdigit((unsigned char)*p) || v->n == max)
            return -1;
        long long x = 0;
        int digits = 0;
        for (; isdigit((unsigned char)*p); p++, digits++) {
            if (digits == 18)
                return -1;
            x = x * 10 + (*p - '0');
        }
        if (v->n == 0)
            first_digits = digits;
        v->num[v->n++] = x;
        if (*p != '.')
            break;
        p++;
    }
    if (*p == '-') {
        if (!p[1])
            return -1;
        for (const char *s = p + 1; *s; s++)
            if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
                return -1;
        v->suffix = p;
    } else if (*p) {
        return -1;
    }
    if (pol == CLAW_VER_CALVER && (v->n < 2 || (first_digits != 4 && first_digits != 2)))
        return -1;
    return 0;
}

/* Natural order of two suffix parts: digit runs numerically. */
static int part_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    while (i < alen && j < blen) {
        if (isdigit((unsigned char)a[i]) && isdigit((unsigned char)b[j])) {
            unsigned long long x = 0, y = 0;
            for (; i < alen && isdigit((unsigned char)a[i]); i++)
                x = x * 10 + (unsigned)(a[i] - '0');
            for (; j < blen && isdigit((unsigned char)b[j]); j++)
                y = y * 10 + (unsigned)(b[j] - '0');
            if (x != y)
                return x < y ? -1 : 1;
            continue;
        }
        int da = isdigit((unsigned char)a[i]) != 0, db = isdigit((unsigned char)b[j]) != 0;
        if (da != db) /* as in semver: numbers sort before words */
            return da ? -1 : 1;
        if (a[i] != b[j])
            return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
        i++, j++;
    }
    return (i < alen) - (j < blen);
}

static int suffix_cmp(const char *a, const char *b)
{
    if (!*a || !*b) /* a release is newer than its pre-releases */
        return (*a == 0) - (*b == 0);
    a++, b++; /* the '-' */
    while (*a && *b) {
        size_t alen = strcspn(a, ".-"), blen = strcspn(b, ".-");
        int c = part_cmp(a, alen, b, blen);
        if (c)
            return c;
        a += alen + (a[alen] != 0);
        b += blen + (b[blen] != 0);
    }
    return (*a != 0) - (*b != 0);
}

int claw_version_cmp(const claw_version *a, const claw_version *b)
{
    int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        long long x = i < a->n ? a->num[i] : 0, y = i < b->n ? b->num[i] : 0;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return suffix_cmp(a->suffix, b->suffix);
}

/* -alpha, -beta.2, -rc1, -pre, -preview, -dev, -snapshot, -canary, -nightly, -next */
static int is_prerelease(const char *suffix)
{
    static const char *const words[] = { "alpha", "beta", "rc", "pre", "preview", "dev",
                                         "snapshot", "canary", "nightly", "next" };
    const char *s = suffix + (*suffix == '-');
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(s, words[i], n) == 0 &&
            (s[n] == 0 || isdigit((unsigned char)s[n]) || s[n] == '.' || s[n] == '-'))
            return 1;
    }
    return 0;
}

static int compile(regex_t *re, const char *pattern, const char *what, claw_err *err)
{
    if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) == 0)
        return 0;
    return claw_fail(err, CLAW_E_INVALID, 0, "invalid %s pattern \"%s\"", what, pattern);
}

/* Whether candidate c may replace current cur under the options. */
static int allowed(const char *tag, const claw_version *c, const claw_version *cur,
                   const claw_newer_opts *o, const regex_t *inc, const regex_t *exc)
{
    if (c->v != cur->v || c->n != cur->n)
        return 0;
    if (o->policy == CLAW_VER_CALVER && (c->num[0] >= 100) != (cur->num[0] >= 100))
        return 0; /* 2026.x is not compared with 26.x */
    if (exc && regexec(exc, tag, 0, NULL, 0) == 0)
        return 0;
    if (inc) {
        if (regexec(inc, tag, 0, NULL, 0) != 0)
            return 0;
    } else if (*c->suffix) {
        if (is_prerelease(c->suffix) || strcmp(c->suffix, cur->suffix) != 0)
            return 0;
    } else if (*cur->suffix && !is_prerelease(cur->suffix)) {
        return 0; /* 1.25-alpine does not move to 1.26 */
    }
    if (o->level >= CLAW_VER_MINOR && c->num[0] != cur->num[0])
        return 0;
    if (o->level == CLAW_VER_PATCH && c->n > 1 && c->num[1] != cur->num[1])
        return 0;
    return claw_version_cmp(c, cur) > 0;
}

const char *claw_registry_newer(const char *current, const char *const *tags, size_t n,
                                const claw_newer_opts *o, claw_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    const char *pname = o->policy == CLAW_VER_CALVER ? "calver" : "semver";
    claw_version cur, c, best_v = { 0 }; /* (best_v is read only once best is set) */
    if (claw_version_parse(current, o->policy, &cur) != 0) {
        claw_fail(err, CLAW_E_INVALID, 0, "tag \"%s\" is not a %s version", current, pname);
        return NULL;
    }
    regex_t inc, exc;
    if (o->include && compile(&inc, o->include, "include", err) != 0)
        return NULL;
    if (o->exclude && compile(&exc, o->exclude, "exclude", err) != 0) {
        if (o->include)
            regfree(&inc);
        return NULL;
    }
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!tags[i] || claw_version_parse(tags[i], o->policy, &c) != 0 ||
            !allowed(tags[i], &c, &cur, o, o->include ? &inc : NULL, o->exclude ? &exc : NULL))
            continue;
        int d = best ? claw_version_cmp(&c, &best_v) : 1;
        if (d > 0 || (d == 0 && strcmp(tags[i], best) < 0)) /* ties: the same answer every time */
            best = tags[i], best_v = c;
    }
    if (o->include)
        regfree(&inc);
    if (o->exclude)
        regfree(&exc);
    return best;
}

/* ============================ RepoDigests comparison ============================ */

int claw_registry_has_digest(const char *const *repo_digests, size_t n, const char *registry,
                             const char *repository, const char *digest)
{
    claw_ref want = { 0 };
    if (registry) {
        char name[1024];
        snprintf(name, sizeof name, "%s/%s", registry, repository ? repository : "");
        if (claw_ref_parse(name, &want, NULL) != 0)
            return 0;
    }
    for (size_t i = 0; i < n; i++) {
        claw_ref r;
        if (!repo_digests[i] || claw_ref_parse(repo_digests[i], &r, NULL) != 0)
            continue;
        if (strcmp(r.digest, digest) == 0 &&
            (!registry || (strcmp(r.domain, want.domain) == 0 && strcmp(r.path, want.path) == 0)))
            return 1;
    }
    return 0;
}

/* ================================ the client ================================ */

enum { SCHEME_UNKNOWN, SCHEME_HTTPS, SCHEME_HTTP };
enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

/* What the client knows of one registry, kept between calls. */
struct host {
    char domain[256];          /* as references name it */
    int scheme, auth;
    int active;                /* transfers under way */
    int answered;              /* an answer came: scheme and challenge are known */
    double next_start;         /* pacing: no request before this */
    double paused_until;       /* after a 429 */
    char realm[1024], service[256];
    int down;                  /* unreachable in this run: down_err says why */
    claw_err down_err;
    int creds;                 /* -1 not read yet, 0 none, 1 found */
    double creds_at;
    claw_cred cred;
};

/* A bearer token for (registry, scope). */
struct token {
    char domain[256], scope[600];
    char *value;
    double expires;
    int pending;   /* a job is fetching it: others wait */
    int failed;    /* the fetch failed in this run: its waiters fail alike */
    claw_err err;
};

struct claw_registry {
    const claw_cancel *cancel;
    CURLM *multi; /* its connection pool is shared by every transfer */
    struct host *hosts;
    size_t nhosts;
    struct token *tokens;
    size_t ntokens;
    int active;
};

claw_registry *claw_registry_new(const claw_cancel *cancel)
{
    claw_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cancel = cancel;
    r->multi = curl_multi_init();
    if (!r->multi) {
        free(r);
        return NULL;
    }
    return r;
}

void claw_registry_free(claw_registry *r)
{
    if (!r)
        return;
    curl_multi_cleanup(r->multi);
    for (size_t i = 0; i < r->ntokens; i++)
        free(r->tokens[i].value);
    for (size_t i = 0; i < r->nhosts; i++)
        memset(&r->hosts[i].cred, 0, sizeof r->hosts[i].cred);
    free(r->tokens);
    free(r->hosts);
    free(r);
}

static long host_index(claw_registry *r, const char *domain)
{
    for (size_t i = 0; i < r->nhosts; i++)
        if (strcmp(r->hosts[i].domain, domain) == 0)
            return (long)i;
    struct host *h = realloc(r->hosts, (r->nhosts + 1) * sizeof *h);
    if (!h)
        return -1;
    r->hosts = h;
    h = &r->hosts[r->nhosts];
    memset(h, 0, sizeof *h);
    put(h->domain, sizeof h->domain, domain);
    h->creds = -1;
    return (long)r->nhosts++;
}

static long token_find(claw_registry *r, const char *domain, const char *scope, int add)
{
    long free_slot = -1;
    for (size_t i = 0; i < r->ntokens; i++) {
        struct token *t = &r->tokens[i];
        if (strcmp(t->domain, domain) == 0 && strcmp(t->scope, scope) == 0)
            return (long)i;
        if (!t->domain[0])
            free_slot = (long)i;
    }
    if (!add)
        return -1;
    if (free_slot < 0) {
        struct token *t = realloc(r->tokens, (r->ntokens + 1) * sizeof *t);
        if (!t)
            return -1;
        r->tokens = t;
        free_slot = (long)r->ntokens++;
    }
    struct token *t = &r->tokens[free_slot];
    memset(t, 0, sizeof *t);
    put(t->domain, sizeof t->domain, domain);
    put(t->scope, sizeof t->scope, scope);
    return free_slot;
}

/* "localhost", 127.0.0.0/8 and ::1, with or without a port. */
static int is_loopback(const char *domain)
{
    char host[256];
    put(host, sizeof host, domain);
    if (host[0] == '[')
        return strncmp(host, "[::1]", 5) == 0;
    host[strcspn(host, ":")] = 0;
    if (strcmp(host, "localhost") == 0)
        return 1;
    unsigned a, b, c, d;
    char extra;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

static int named_insecure(const char *const *list, const char *domain)
{
    size_t hlen = domain[0] == '[' ? strcspn(domain, "]") + 1 : strcspn(domain, ":");
    for (; list && *list; list++)
        if (strcmp(*list, domain) == 0 || (strlen(*list) == hlen && strncmp(*list, domain, hlen) == 0))
            return 1;
    return 0;
}

/* ================================== jobs ================================== */

enum { K_HEAD, K_GET, K_TAGS, K_TOKEN };

/* One reference (or one repository's tag list) on its way through requests. */
struct job {
    const char *input;   /* as the caller wrote it, for messages */
    claw_ref ref;
    long host;
    int kind, after;     /* after: what to ask once the token came */
    int done, active, https;
    double not_before, deadline;
    int rounds401, tries429, tries5xx, authed, too_big;
    long tok;            /* the token this job fetches, or -1 */
    char *bearer;        /* the token its requests carry */
    int bearer_cached;   /* taken from the cache rather than fetched for it */
    char url[4096];      /* the request under way */
    char req_host[256];  /* the host it goes to, for messages */
    CURL *easy;
    struct curl_slist *hdrs;
    claw_buf body, head;
    char errbuf[CURL_ERROR_SIZE];
    claw_registry_result *res;
    char **tags;         /* K_TAGS: what the pages gave */
    size_t ntags, cap, limit, page, pages;
};

struct run {
    claw_registry *r;
    const claw_registry_opts *o;
    double timeout;
    int concurrency, per_host;
};

static struct host *host_of(struct run *x, struct job *j)
{
    return &x->r->hosts[j->host];
}

static const char *api_host(const char *domain)
{
    return strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
}

static void scope_of(const struct job *j, char *out, size_t size)
{
    snprintf(out, size, "repository:%s:pull", j->ref.path);
}

static void release_token(struct run *x, struct job *j)
{
    if (j->tok >= 0) {
        struct token *t = &x->r->tokens[j->tok];
        t->pending = 0;
        j->tok = -1;
    }
}

/* Ends job j with an error "<input>: <message>". */
__attribute__((format(printf, 4, 5))) static void fail(struct run *x, struct job *j,
                                                       const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (j->tok >= 0) { /* those waiting for this token fail alike */
        struct token *t = &x->r->tokens[j->tok];
        t->failed = 1;
        claw_fail(&t->err, code, 0, "%s", msg);
    }
    release_token(x, j);
    claw_fail(&j->res->err, code, 0, "%s: %s", j->input, msg);
    j->done = 1;
}

/* " as alice", or ", no credentials for <key>": who the registry refused. */
static const char *who(struct run *x, struct job *j, char *buf, size_t size)
{
    struct host *h = host_of(x, j);
    if (h->creds == 1)
        snprintf(buf, size, " as %s", h->cred.username);
    else
        snprintf(buf, size, ", no credentials for %s", claw_ref_auth_key(&j->ref));
    return buf;
}

/* Reads the stored credentials of j's registry once in a while; -1 when that fails. */
static int ensure_creds(struct run *x, struct job *j, double now)
{
    struct host *h = host_of(x, j);
    if (h->creds >= 0 && now - h->creds_at < CREDS_TTL)
        return 0;
    claw_err e = { 0 };
    int rc = claw_dockercfg_creds(claw_ref_auth_key(&j->ref), &h->cred, &e);
    if (rc < 0) {
        fail(x, j, e.code, "%s", e.message);
        return -1;
    }
    h->creds = rc;
    h->creds_at = now;
    return 0;
}

static int add_header(struct job *j, const char *line)
{
    struct curl_slist *s = curl_slist_append(j->hdrs, line);
    if (!s)
        return -1;
    j->hdrs = s;
    return 0;
}

static int add_basic(struct job *j, const claw_cred *c)
{
    char pair[sizeof c->username + sizeof c->secret + 2];
    snprintf(pair, sizeof pair, "%s:%s", c->username, c->secret);
    size_t n = strlen(pair);
    char *line = malloc(4 * ((n + 2) / 3) + 32);
    if (!line)
        return -1;
    strcpy(line, "Authorization: Basic ");
    EVP_EncodeBlock((unsigned char *)line + strlen(line), (const unsigned char *)pair, (int)n);
    int rc = add_header(j, line);
    memset(pair, 0, sizeof pair);
    memset(line, 0, strlen(line));
    free(line);
    return rc;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct job *j = ud;
    size_t len = size * n;
    if (j->body.len + len > MAX_BODY) {
        j->too_big = 1;
        return 0;
    }
    return claw_buf_add(&j->body, p, len) == 0 ? len : 0;
}

static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
    struct job *j = ud;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) /* a new answer (after a redirect) */
        j->head.len = 0;
    return claw_buf_add(&j->head, p, len) == 0 ? len : 0;
}

/* The URL of j's next request into j->url; -1 (job failed) when it cannot be made. */
static int build_url(struct run *x, struct job *j)
{
    struct host *h = host_of(x, j);
    if (j->kind == K_TOKEN) {
        char scope[600];
        scope_of(j, scope, sizeof scope);
        char *svc = curl_easy_escape(NULL, h->service, 0), *sc = curl_easy_escape(NULL, scope, 0);
        int n = snprintf(j->url, sizeof j->url, "%s%cservice=%s&scope=%s", h->realm,
                         strchr(h->realm, '?') ? '&' : '?', svc ? svc : "", sc ? sc : "");
        curl_free(svc);
        curl_free(sc);
        const char *p = strstr(h->realm, "://");
        snprintf(j->req_host, sizeof j->req_host, "%.*s", (int)strcspn(p + 3, "/?"), p + 3);
        j->https = strncasecmp(h->realm, "https:", 6) == 0;
        if (n >= (int)sizeof j->url) {
            fail(x, j, CLAW_E_HTTP, "token realm too long");
            return -1;
        }
        return 0;
    }
    put(j->req_host, sizeof j->req_host, api_host(h->domain));
    j->https = !named_insecure(x->o->insecure, h->domain) && h->scheme != SCHEME_HTTP;
    const char *scheme = j->https ? "https" : "http";
    if (j->kind == K_TAGS) {
        if (j->pages) /* the next page, resolved already */
            return 0;
        char n[32] = "";
        if (j->page)
            snprintf(n, sizeof n, "?n=%zu", j->page);
        snprintf(j->url, sizeof j->url, "%s://%s/v2/%s/tags/list%s", scheme, j->req_host,
                 j->ref.path, n);
        return 0;
    }
    snprintf(j->url, sizeof j->url, "%s://%s/v2/%s/manifests/%s", scheme, j->req_host, j->ref.path,
             j->ref.digest[0] ? j->ref.digest : j->ref.tag);
    return 0;
}

static void set_tls(struct run *x, struct job *j)
{
    const char *ca = x->o->ca;
    char path[600];
    if (!ca && j->kind != K_TOKEN) { /* Docker's place for a registry's own CA */
        snprintf(path, sizeof path, "/etc/docker/certs.d/%s/ca.crt", host_of(x, j)->domain);
        if (access(path, R_OK) == 0)
            ca = path;
    }
    if (ca)
        curl_easy_setopt(j->easy, CURLOPT_CAINFO, ca);
}

static void start(struct run *x, struct job *j, double now)
{
    struct host *h = host_of(x, j);
    if (!j->deadline)
        j->deadline = now + x->timeout;
    if (build_url(x, j) != 0)
        return;
    j->authed = 0;
    j->too_big = 0;
    j->errbuf[0] = 0;
    claw_buf_free(&j->body);
    claw_buf_free(&j->head);
    int bad = add_header(j, "Expect:");
    if (j->kind == K_HEAD || j->kind == K_GET)
        bad |= add_header(j, ACCEPT);
    if (j->kind == K_TOKEN) {
        if (h->creds == 1 && strcmp(h->cred.username, "<token>") != 0)
            bad |= add_basic(j, &h->cred);
    } else if (h->auth == AUTH_BEARER && j->bearer) {
        char line[64 + 8192];
        snprintf(line, sizeof line, "Authorization: Bearer %s", j->bearer);
        bad |= add_header(j, line);
        j->authed = 1;
    } else if (h->auth == AUTH_BASIC && h->creds == 1) {
        bad |= add_basic(j, &h->cred);
        j->authed = 1;
    }
    CURL *e = j->easy = curl_easy_init();
    if (bad || !e) {
        fail(x, j, CLAW_E_HTTP, "out of memory");
        return;
    }
    double left = j->deadline - now;
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "clawengine/" CLAW_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(left * 1000) + 1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)((left < 10 ? left : 10) * 1000) + 1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (j->kind == K_HEAD)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (j->https)
        set_tls(x, j);
    if (curl_multi_add_handle(x->r->multi, e) != CURLM_OK) {
        fail(x, j, CLAW_E_HTTP, "cannot start a transfer to %s", j->req_host);
        return;
    }
    j->active = 1;
    x->r->active++;
    if (j->kind != K_TOKEN) {
        h->active++;
        h->next_start = now + (x->o->interval > 0 ? x->o->interval : 0);
    }
}

static void end_transfer(struct run *x, struct job *j)
{
    if (!j->active)
        return;
    curl_multi_remove_handle(x->r->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    curl_slist_free_all(j->hdrs);
    j->hdrs = NULL;
    j->active = 0;
    x->r->active--;
    if (j->kind != K_TOKEN)
        host_of(x, j)->active--;
}

/* Decides whether job j may send its next request now, and sends it. *wake is lowered
 * to when a job that waits for time may go. */
static void step(struct run *x, struct job *j, double now, double *wake)
{
    if (j->done || j->active)
        return;
    struct host *h = host_of(x, j);
    if (h->down && j->kind != K_TOKEN) {
        fail(x, j, h->down_err.code, "%s", h->down_err.message);
        return;
    }
    if (j->deadline && now >= j->deadline) {
        fail(x, j, CLAW_E_TIMEOUT, "no answer from %s within %g s", api_host(h->domain), x->timeout);
        return;
    }
    double at = j->not_before; /* the earliest it may go */
    if (j->kind != K_TOKEN && h->paused_until > at)
        at = h->paused_until;
    if (j->kind != K_TOKEN && h->next_start > at)
        at = h->next_start;
    if (at > now) {
        if (at < *wake)
            *wake = at;
        return;
    }
    if (x->r->active >= x->concurrency)
        return;
    if (j->kind != K_TOKEN) {
        /* Until a registry first answers, one request at a time: the answer tells
         * the scheme and the challenge the others then use. */
        if (h->active >= x->per_host || (!h->answered && h->active > 0))
            return;
        if (h->auth == AUTH_BEARER && !j->bearer) {
            char scope[600];
            scope_of(j, scope, sizeof scope);
            long ti = token_find(x->r, h->domain, scope, 1);
            if (ti < 0) {
                fail(x, j, CLAW_E_HTTP, "out of memory");
                return;
            }
            struct token *t = &x->r->tokens[ti];
            if (t->failed) {
                fail(x, j, t->err.code, "%s", t->err.message);
                return;
            }
            if (t->pending)
                return;
            if (t->value && t->expires > now) {
                j->bearer = strdup(t->value);
                j->bearer_cached = 1;
            } else {
                if (ensure_creds(x, j, now) != 0)
                    return;
                t = &x->r->tokens[ti];
                free(t->value);
                t->value = NULL;
                t->pending = 1;
                j->tok = ti;
                j->after = j->kind;
                j->kind = K_TOKEN;
            }
        } else if (h->auth == AUTH_BASIC && ensure_creds(x, j, now) != 0) {
            return;
        }
    }
    start(x, j, now);
}

/* ---- answers ---- */

static const char *header(struct job *j, const char *name, char *buf, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *line = j->head.data; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = skip_ws(line + nlen + 1), *end = line + llen;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            snprintf(buf, size, "%.*s", (int)(end - v), v);
            return buf;
        }
        line = eol ? eol + 1 : line + llen;
    }
    return NULL;
}

/* The first message of a registry's error answer {"errors":[{"message":...}]}. */
static const char *error_message(struct job *j, char *buf, size_t size)
{
    cJSON *a = j->body.data ? cJSON_Parse(j->body.data) : NULL;
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "errors"), 0), "message"));
    int found = m && *m;
    if (found)
        snprintf(buf, size, "%.200s", m);
    cJSON_Delete(a);
    return found ? buf : NULL;
}

static int valid_digest(const char *d)
{
    size_t hex = strncmp(d, "sha256:", 7) == 0 ? 64 : strncmp(d, "sha512:", 7) == 0 ? 128 : 0;
    if (!hex || strlen(d + 7) != hex)
        return 0;
    for (const char *p = d + 7; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return 0;
    return 1;
}

static void media_type(struct job *j, const char *fallback)
{
    char ct[256];
    if (header(j, "Content-Type", ct, sizeof ct)) {
        ct[strcspn(ct, "; ")] = 0;
        put(j->res->media_type, sizeof j->res->media_type, ct);
    } else if (fallback) {
        put(j->res->media_type, sizeof j->res->media_type, fallback);
    }
}

static void got_manifest(struct run *x, struct job *j)
{
    char d[160];
    const char *hd = header(j, "Docker-Content-Digest", d, sizeof d);
    if (hd && !valid_digest(hd)) {
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: invalid Docker-Content-Digest \"%.80s\"",
             j->req_host, hd);
        return;
    }
    if (j->kind == K_HEAD) {
        if (!hd) { /* some registries leave it out of HEAD: hash the manifest */
            j->kind = K_GET;
            return;
        }
        put(j->res->digest, sizeof j->res->digest, hd);
        media_type(j, NULL);
        j->done = 1;
        return;
    }
    cJSON *m = j->body.data ? cJSON_Parse(j->body.data) : NULL;
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: the manifest is not JSON", j->req_host);
        return;
    }
    unsigned char sum[32];
    unsigned int len = 0;
    EVP_Digest(j->body.data, j->body.len, sum, &len, EVP_sha256(), NULL);
    char *p = j->res->digest + sprintf(j->res->digest, "sha256:");
    for (unsigned i = 0; i < len; i++)
        p += sprintf(p, "%02x", sum[i]);
    media_type(j, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "mediaType")));
    cJSON_Delete(m);
    if (hd && strcmp(hd, j->res->digest) != 0) {
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: Docker-Content-Digest %.80s is not the manifest's %s",
             j->req_host, hd, j->res->digest);
        return;
    }
    j->done = 1;
}

static int add_tag(struct job *j, const char *tag)
{
    if (j->ntags + 1 >= j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        char **t = realloc(j->tags, cap * sizeof *t);
        if (!t)
            return -1;
        j->tags = t;
        j->cap = cap;
    }
    if (!(j->tags[j->ntags] = strdup(tag)))
        return -1;
    j->tags[++j->ntags] = NULL;
    return 0;
}

static void got_tags(struct run *x, struct job *j)
{
    cJSON *a = j->body.data ? cJSON_Parse(j->body.data) : NULL;
    cJSON *list = cJSON_GetObjectItemCaseSensitive(a, "tags");
    if (!cJSON_IsObject(a) || !(cJSON_IsArray(list) || cJSON_IsNull(list) || !list)) {
        cJSON_Delete(a);
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: the tag list is not JSON", j->req_host);
        return;
    }
    cJSON *t;
    cJSON_ArrayForEach(t, list)
    {
        if (j->limit && j->ntags >= j->limit)
            break;
        if (cJSON_IsString(t) && add_tag(j, t->valuestring) != 0) {
            cJSON_Delete(a);
            fail(x, j, CLAW_E_HTTP, "out of memory");
            return;
        }
    }
    cJSON_Delete(a);
    char link[2048], next[4096];
    if ((j->limit && j->ntags >= j->limit) || !header(j, "Link", link, sizeof link) ||
        claw_registry_next_link(link, next, sizeof next) != 0) {
        j->done = 1;
        return;
    }
    /* The link is usually a path: resolve it against the page it came with. */
    CURLU *u = curl_url();
    char *abs = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, j->url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, next, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &abs, 0) != CURLUE_OK || strlen(abs) >= sizeof j->url ||
        strcmp(abs, j->url) == 0 || ++j->pages > MAX_PAGES) {
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: bad Link \"%.200s\"", j->req_host, link);
    } else {
        put(j->url, sizeof j->url, abs);
    }
    curl_free(abs);
    curl_url_cleanup(u);
}

static void got_token(struct run *x, struct job *j, long status, double now)
{
    char why[300];
    if (status == 401 || status == 403) {
        fail(x, j, CLAW_E_UNAUTHORIZED, "token request to %s refused (%ld)%s", j->req_host, status,
             who(x, j, why, sizeof why));
        return;
    }
    if (status != 200) {
        fail(x, j, CLAW_E_HTTP, "token request to %s: status %ld", j->req_host, status);
        return;
    }
    cJSON *a = j->body.data ? cJSON_Parse(j->body.data) : NULL;
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "token"));
    if (!v || !*v)
        v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "access_token"));
    double life = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "expires_in"));
    if (!(life > 0)) /* absent or NaN: the spec's default */
        life = 60;
    char *copy = v && *v ? strdup(v) : NULL, *mine = copy ? strdup(copy) : NULL;
    cJSON_Delete(a);
    if (!copy || !mine) {
        free(copy);
        free(mine);
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: no token", j->req_host);
        return;
    }
    struct token *t = &x->r->tokens[j->tok];
    free(t->value);
    t->value = copy;
    t->expires = now + life - (life > 20 ? 10 : life / 2); /* renew a little early */
    release_token(x, j);
    free(j->bearer);
    j->bearer = mine;
    j->bearer_cached = 0;
    j->kind = j->after;
}

/* Takes a Bearer challenge for j's registry: its realm must be https (or http on
 * loopback or an insecure registry). -1 when j failed. */
static int take_bearer(struct run *x, struct job *j, const claw_challenge *c)
{
    struct host *h = host_of(x, j);
    const char *rest = strstr(c->realm, "://");
    char rhost[256];
    snprintf(rhost, sizeof rhost, "%.*s", rest ? (int)strcspn(rest + 3, "/?") : 0, rest ? rest + 3 : "");
    int https = strncasecmp(c->realm, "https://", 8) == 0;
    int http = strncasecmp(c->realm, "http://", 7) == 0;
    if (!rhost[0] || (!https && !(http && (is_loopback(rhost) || named_insecure(x->o->insecure, rhost))))) {
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: token realm \"%.200s\" is not an https URL",
             j->req_host, c->realm);
        return -1;
    }
    h->auth = AUTH_BEARER;
    put(h->realm, sizeof h->realm, c->realm);
    put(h->service, sizeof h->service, c->service);
    /* a token from the cache (or another realm) is not trusted again for this scope */
    char scope[600];
    scope_of(j, scope, sizeof scope);
    long ti = token_find(x->r, h->domain, scope, 0);
    if (ti >= 0 && j->bearer && x->r->tokens[ti].value && strcmp(x->r->tokens[ti].value, j->bearer) == 0)
        x->r->tokens[ti].expires = 0;
    free(j->bearer);
    j->bearer = NULL;
    return 0;
}

static void challenged(struct run *x, struct job *j, double now)
{
    struct host *h = host_of(x, j);
    char www[2048], why[300];
    claw_challenge c;
    if (!header(j, "WWW-Authenticate", www, sizeof www) || claw_registry_parse_challenge(www, &c) != 0) {
        fail(x, j, CLAW_E_HTTP, "malformed answer from %s: 401 without a Bearer or Basic challenge",
             j->req_host);
        return;
    }
    int bearer = strcmp(c.scheme, "bearer") == 0;
    if (j->authed) {
        /* Once more with a fresh token when the registry forgot one from the cache
         * before its time, or names another realm; else the answer stands. */
        int moved = bearer && strcmp(c.realm, h->realm) != 0;
        if (j->bearer && (j->bearer_cached || moved) && j->rounds401++ == 0)
            take_bearer(x, j, &c);
        else
            fail(x, j, CLAW_E_UNAUTHORIZED, "unauthorized (401)%s", who(x, j, why, sizeof why));
        return;
    }
    if (++j->rounds401 > 2) {
        fail(x, j, CLAW_E_UNAUTHORIZED, "unauthorized (401)%s", who(x, j, why, sizeof why));
        return;
    }
    if (bearer) {
        take_bearer(x, j, &c);
        return;
    }
    h->auth = AUTH_BASIC;
    if (ensure_creds(x, j, now) != 0)
        return;
    h = host_of(x, j);
    if (h->creds != 1 || strcmp(h->cred.username, "<token>") == 0)
        fail(x, j, CLAW_E_UNAUTHORIZED, "unauthorized (401)%s", who(x, j, why, sizeof why));
}

/* Seconds a 429 asks to wait: Retry-After as seconds or an HTTP date; -1 when absent. */
static double retry_after(struct job *j)
{
    char v[128];
    if (!header(j, "Retry-After", v, sizeof v))
        return -1;
    char *end;
    double s = strtod(v, &end);
    if (end != v && *end == 0 && s >= 0)
        return s;
    time_t at = curl_getdate(v, NULL);
    if (at < 0)
        return -1;
    double d = difftime(at, time(NULL));
    return d > 0 ? d : 0;
}

static void rate_limited(struct run *x, struct job *j, double now)
{
    struct host *h = host_of(x, j);
    double asked = retry_after(j);
    double wait = asked >= 0 ? asked : (double)(1 << j->tries429);
    char after[64] = "";
    if (asked >= 0)
        snprintf(after, sizeof after, ", retry after %g s", asked);
    if (++j->tries429 > MAX_429 || now + wait >= j->deadline) {
        fail(x, j, CLAW_E_HTTP, "too many requests (429)%s", after);
        return;
    }
    /* The whole registry is asked to slow down, not only this reference. */
    if (now + wait > h->paused_until)
        h->paused_until = now + wait;
    j->not_before = now + wait;
}

static void transport_error(struct run *x, struct job *j, CURLcode rc)
{
    struct host *h = host_of(x, j);
    long oserr = 0;
    if (j->easy)
        curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &oserr);
    if (rc == CURLE_SSL_CONNECT_ERROR && j->kind != K_TOKEN && j->https &&
        h->scheme == SCHEME_UNKNOWN && is_loopback(h->domain)) {
        h->scheme = SCHEME_HTTP; /* a loopback registry without TLS, as Docker allows */
        return;
    }
    claw_err e;
    const char *why = j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        claw_fail(&e, CLAW_E_TIMEOUT, 0, "no answer from %s within %g s", j->req_host, x->timeout);
    else if (rc == CURLE_COULDNT_RESOLVE_HOST)
        claw_fail(&e, CLAW_E_UNREACHABLE, 0, "cannot resolve %s", j->req_host);
    else if (rc == CURLE_COULDNT_CONNECT && oserr == ECONNREFUSED)
        claw_fail(&e, CLAW_E_UNREACHABLE, 0, "cannot reach %s: connection refused", j->req_host);
    else if (rc == CURLE_COULDNT_CONNECT)
        claw_fail(&e, CLAW_E_UNREACHABLE, 0, "cannot reach %s: %s", j->req_host, why);
    else if (rc == CURLE_WRITE_ERROR && j->too_big)
        claw_fail(&e, CLAW_E_HTTP, 0, "malformed answer from %s: larger than %u MiB", j->req_host,
                  MAX_BODY >> 20);
    else
        claw_fail(&e, CLAW_E_HTTP, 0, "request to %s failed: %s", j->req_host, why);
    /* A registry that cannot be reached, or does not answer in time, fails the
     * references still waiting for it at once, rather than one timeout after another. */
    if (j->kind != K_TOKEN && !j->too_big) {
        h->down = 1;
        h->down_err = e;
    }
    fail(x, j, e.code, "%s", e.message);
}

static void finished(struct run *x, struct job *j, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    double now = claw_clock_monotonic();
    if (rc != CURLE_OK) {
        transport_error(x, j, rc);
        end_transfer(x, j);
        return;
    }
    end_transfer(x, j);
    struct host *h = host_of(x, j);
    char msg[256];
    if (j->kind == K_TOKEN) {
        got_token(x, j, status, now);
        return;
    }
    h->answered = 1;
    if (h->scheme == SCHEME_UNKNOWN)
        h->scheme = j->https ? SCHEME_HTTPS : SCHEME_HTTP;
    if (status == 401)
        challenged(x, j, now);
    else if (status == 403)
        fail(x, j, CLAW_E_UNAUTHORIZED, "%s (403)", error_message(j, msg, sizeof msg) ? msg : "denied");
    else if (status == 404)
        fail(x, j, CLAW_E_NOT_FOUND, "%s (404)",
             error_message(j, msg, sizeof msg) ? msg
             : j->kind == K_TAGS                ? "repository unknown"
                                                : "manifest unknown");
    else if (status == 429)
        rate_limited(x, j, now);
    else if (status >= 500 && j->tries5xx++ == 0)
        j->not_before = now + RETRY_5XX_DELAY;
    else if (status >= 500)
        fail(x, j, CLAW_E_HTTP, "%s (%ld)", error_message(j, msg, sizeof msg) ? msg : "server error",
             status);
    else if (status >= 200 && status < 300 && j->kind == K_TAGS)
        got_tags(x, j);
    else if (status >= 200 && status < 300)
        got_manifest(x, j);
    else
        fail(x, j, CLAW_E_HTTP, "unexpected answer from %s (%ld)", j->req_host, status);
}

static void job_init(struct run *x, struct job *j, const char *input, claw_registry_result *res)
{
    memset(j, 0, sizeof *j);
    memset(res, 0, sizeof *res);
    j->input = input ? input : "";
    j->res = res;
    j->tok = -1;
    claw_buf_init(&j->body);
    claw_buf_init(&j->head);
    if (claw_ref_parse(j->input, &j->ref, &res->err) != 0) {
        j->done = 1;
        return;
    }
    put(res->registry, sizeof res->registry, j->ref.domain);
    put(res->repository, sizeof res->repository, j->ref.path);
    put(res->tag, sizeof res->tag, j->ref.digest[0] ? "" : j->ref.tag);
    j->host = host_index(x->r, j->ref.domain);
    if (j->host < 0)
        fail(x, j, CLAW_E_HTTP, "out of memory");
}

static void job_free(struct run *x, struct job *j)
{
    end_transfer(x, j);
    release_token(x, j);
    free(j->bearer);
    j->bearer = NULL;
    claw_buf_free(&j->body);
    claw_buf_free(&j->head);
    curl_slist_free_all(j->hdrs);
    j->hdrs = NULL;
}

/* The loop: start what may start, wait for answers or the next time a job may go,
 * handle the answers; until every job is done or an interrupt comes. */
static int run(struct run *x, struct job *jobs, size_t n, claw_err *err)
{
    claw_registry *r = x->r;
    for (size_t i = 0; i < r->ntokens; i++) /* a fresh start for failed fetches */
        r->tokens[i].pending = r->tokens[i].failed = 0;
    for (size_t i = 0; i < r->nhosts; i++) /* and for registries that were down */
        r->hosts[i].down = 0;
    for (;;) {
        double now = claw_clock_monotonic(), wake = now + 1;
        size_t left = 0;
        for (size_t i = 0; i < n; i++) {
            step(x, &jobs[i], now, &wake);
            left += !jobs[i].done;
        }
        if (!left)
            return 0;
        if (claw_cancel_pending(r->cancel))
            return claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
        int running, msgs, answered = 0;
        curl_multi_perform(r->multi, &running);
        for (CURLMsg *m; (m = curl_multi_info_read(r->multi, &msgs));) {
            char *priv = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            finished(x, (struct job *)(void *)priv, m->data.result);
            answered = 1;
        }
        if (answered)
            continue;
        int ms = (int)((wake - claw_clock_monotonic()) * 1000) + 1;
        ms = ms < 1 ? 1 : ms > 1000 ? 1000 : ms;
        struct curl_waitfd extra = { .fd = r->cancel ? r->cancel->rfd : -1, .events = CURL_WAIT_POLLIN };
        curl_multi_poll(r->multi, extra.fd >= 0 ? &extra : NULL, extra.fd >= 0 ? 1 : 0, ms, NULL);
    }
}

static void run_init(struct run *x, claw_registry *r, const claw_registry_opts *o)
{
    static const claw_registry_opts none = { 0 };
    x->r = r;
    x->o = o ? o : &none;
    x->timeout = x->o->timeout > 0 ? x->o->timeout : DEFAULT_TIMEOUT;
    x->concurrency = x->o->concurrency > 0 ? x->o->concurrency : DEFAULT_CONCURRENCY;
    x->per_host = x->o->per_host > 0 ? x->o->per_host : DEFAULT_PER_HOST;
}

int claw_registry_digests(claw_registry *r, const char *const *refs, size_t n,
                          const claw_registry_opts *o, claw_registry_result *out, claw_err *err)
{
    struct run x;
    run_init(&x, r, o);
    struct job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        job_init(&x, &jobs[i], refs[i], &out[i]);
        jobs[i].kind = K_HEAD;
    }
    int rc = run(&x, jobs, n, err);
    for (size_t i = 0; i < n; i++)
        job_free(&x, &jobs[i]);
    free(jobs);
    return rc;
}

int claw_registry_digest(claw_registry *r, const char *ref, const claw_registry_opts *o,
                         claw_registry_result *out, claw_err *err)
{
    if (claw_registry_digests(r, &ref, 1, o, out, err) != 0)
        return -1;
    if (out->err.code[0]) {
        if (err)
            *err = out->err;
        return -1;
    }
    return 0;
}

void claw_registry_tags_free(char **tags)
{
    for (char **t = tags; t && *t; t++)
        free(*t);
    free(tags);
}

char **claw_registry_tags(claw_registry *r, const char *repo, size_t limit, size_t page,
                          const claw_registry_opts *o, size_t *n, claw_err *err)
{
    struct run x;
    run_init(&x, r, o);
    struct job j;
    claw_registry_result res;
    job_init(&x, &j, repo, &res);
    j.kind = K_TAGS;
    j.limit = limit;
    j.page = page;
    int rc = run(&x, &j, 1, err);
    job_free(&x, &j);
    if (rc == 0 && res.err.code[0]) {
        if (err)
            *err = res.err;
        rc = -1;
    }
    if (rc == 0 && !j.tags && !(j.tags = calloc(1, sizeof *j.tags)))
        rc = claw_fail(err, CLAW_E_IO, 0, "out of memory");
    if (rc != 0) {
        claw_registry_tags_free(j.tags);
        return NULL;
    }
    *n = j.ntags;
    return j.tags;
}
