#include "ref.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int valid_path(const char *p)
{
    if (!*p || *p == '/' || p[strlen(p) - 1] == '/' || strstr(p, "//"))
        return 0;
    for (; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-/", *p)))
            return 0;
    return 1;
}

static int valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
        return 0;
    for (; *t; t++)
        if (!(isalnum((unsigned char)*t) || strchr("_.-", *t)))
            return 0;
    return 1;
}

static int valid_digest(const char *d)
{
    const char *colon = strchr(d, ':');
    if (!colon || colon == d || strlen(colon + 1) < 32)
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return 0;
    return 1;
}

/* Copies src into dst of `size` bytes; -1 when it does not fit. */
static int put(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int claw_ref_parse(const char *s, claw_ref *r, claw_err *err)
{
    memset(r, 0, sizeof *r);
    char buf[1024];
    if (!s || !*s || snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return claw_fail(err, CLAW_E_INVALID, 0, "invalid image reference \"%s\"", s ? s : "");
    int fits = 1;
    char *at = strchr(buf, '@');
    if (at) {
        *at = 0;
        fits &= put(r->digest, sizeof r->digest, at + 1) == 0;
    }
    char *slash = strchr(buf, '/');
    char *rest = buf;
    if (slash && (memchr(buf, '.', (size_t)(slash - buf)) || memchr(buf, ':', (size_t)(slash - buf)) ||
                  strncmp(buf, "localhost/", 10) == 0)) {
        *slash = 0;
        fits &= put(r->domain, sizeof r->domain, buf) == 0;
        rest = slash + 1;
    } else {
        put(r->domain, sizeof r->domain, "docker.io");
    }
    if (strcmp(r->domain, "index.docker.io") == 0 || strcmp(r->domain, "registry-1.docker.io") == 0)
        put(r->domain, sizeof r->domain, "docker.io");
    char *colon = strrchr(rest, ':');
    if (colon) {
        *colon = 0;
        fits &= put(r->tag, sizeof r->tag, colon + 1) == 0 && colon[1] != 0;
    }
    int hub = strcmp(r->domain, "docker.io") == 0;
    if (hub && !strchr(rest, '/'))
        put(r->path, sizeof r->path, "library/");
    fits &= strlen(r->path) + strlen(rest) < sizeof r->path;
    if (fits)
        strcat(r->path, rest);
    if (!r->tag[0] && !r->digest[0])
        put(r->tag, sizeof r->tag, "latest");
    if (!fits || !valid_path(rest) || (r->tag[0] && !valid_tag(r->tag)) ||
        (r->digest[0] && !valid_digest(r->digest)))
        return claw_fail(err, CLAW_E_INVALID, 0, "invalid image reference \"%s\"", s);
    return 0;
}

const char *claw_ref_name(const claw_ref *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", r->domain, r->path);
    return buf;
}

const char *claw_ref_auth_key(const claw_ref *r)
{
    return strcmp(r->domain, "docker.io") == 0 ? "https://index.docker.io/v1/" : r->domain;
}
