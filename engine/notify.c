/* Notification targets: URL parsing (our forms and shoutrrr's), secret masking,
 * message building (RFC 5322 mail, JSON bodies) and sending (SMTP with libcurl on
 * its own handle; webhooks through http.c). */
#define _GNU_SOURCE
#include "notify.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http.h"
#include "log.h"

#define MAX_PARAMS 64
#define MAX_RCPT 64
#define DEFAULT_TIMEOUT 30.0
#define DISCORD_MAX 2000 /* characters in a Discord message */

/* ---------------------------------------------------------------- helpers ---- */

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static char *dup_s(const char *s)
{
    return s ? dup_n(s, strlen(s)) : NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decoding ('+' stays '+': addresses like a+tag@b must survive). */
static char *decode_n(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return out;
}

static int is_yes(const char *v)
{
    return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

static int is_no(const char *v)
{
    return strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0;
}

/* A query key whose value is secret: token=, password=, apikey=, @Authorization=,
 * but not the *_file keys (a path is no secret) nor shoutrrr's auth=Plain. */
static int secret_key(const char *key, size_t n)
{
    char k[128];
    if (n >= sizeof k)
        n = sizeof k - 1;
    memcpy(k, key, n);
    k[n] = 0;
    if (strcasecmp(k, "auth") == 0 || (n > 5 && strcasecmp(k + n - 5, "_file") == 0))
        return 0;
    return claw_log_is_secret(k);
}

/* Where the authority of a URL (after "://") ends, and where its userinfo ends (the
 * '@', or NULL). `user:@/run/secrets/pw@host` (a password read from a file) keeps
 * the path inside the userinfo. `stop` lists characters that end a URL in text. */
static const char *authority(const char *rest, const char *stop, const char **at)
{
    char delims[32];
    snprintf(delims, sizeof delims, "/?#%s", stop);
    size_t n = strcspn(rest, delims);
    *at = NULL;
    const char *colon_at = strstr(rest, ":@/");
    if (colon_at && colon_at + 2 == rest + n) {
        size_t m = strcspn(colon_at + 2, stop[0] ? stop : "\x01");
        const char *next = memchr(colon_at + 2, '@', m);
        if (next) {
            *at = next;
            return next + 1 + strcspn(next + 1, delims);
        }
    }
    for (const char *p = rest; p < rest + n; p++)
        if (*p == '@')
            *at = p;
    if (!*at && rest[n] == '/') {
        /* A password with a '/' not percent-encoded (user:pa/ss@host) must not be
         * taken for a host and a path, and shown: the userinfo then runs to the
         * last '@' before the query, when a ':' in the first segment is not
         * followed by a port number. */
        char qstop[32];
        snprintf(qstop, sizeof qstop, "?#%s", stop);
        size_t q = strcspn(rest, qstop);
        const char *last = NULL;
        for (const char *p = rest; p < rest + q; p++)
            if (*p == '@')
                last = p;
        const char *colon = last ? memchr(rest, ':', n) : NULL;
        size_t digits = colon ? strspn(colon + 1, "0123456789") : 0;
        if (colon && (digits == 0 || colon + 1 + digits != rest + n)) {
            *at = last;
            return last + 1 + strcspn(last + 1, delims);
        }
    }
    return rest + n;
}

#define MASK_USER 1     /* the user name is the secret (discord://token@id) */
#define MASK_LAST_SEG 2 /* the last path segment is (gotify://host/token) */

/* The URL with its secrets masked: the userinfo password, secret-looking query
 * values and, by flags, the user name or the last path segment. */
static char *masked_url(const char *url, int flags)
{
    const char *sep = strstr(url, "://");
    claw_buf b;
    claw_buf_init(&b);
    if (!sep) {
        claw_buf_str(&b, url); /* no URL: nothing to mask */
        return claw_buf_take(&b, NULL);
    }
    const char *rest = sep + 3, *at;
    const char *end = authority(rest, "", &at);
    claw_buf_add(&b, url, (size_t)(rest - url));
    const char *host = rest;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *uend = colon ? colon : at;
        if (flags & MASK_USER)
            claw_buf_str(&b, "***");
        else
            claw_buf_add(&b, rest, (size_t)(uend - rest));
        if (colon)
            claw_buf_str(&b, ":***");
        claw_buf_str(&b, "@");
        host = at + 1;
    }
    claw_buf_add(&b, host, (size_t)(end - host));
    size_t plen = strcspn(end, "?#");
    const char *path = end;
    if ((flags & MASK_LAST_SEG) && plen > 0) {
        size_t stop = plen;
        while (stop > 0 && path[stop - 1] == '/')
            stop--;
        size_t start = stop;
        while (start > 0 && path[start - 1] != '/')
            start--;
        claw_buf_add(&b, path, start);
        if (stop > start)
            claw_buf_str(&b, "***");
        claw_buf_add(&b, path + stop, plen - stop);
    } else {
        claw_buf_add(&b, path, plen);
    }
    if (path[plen] == '?') {
        const char *q = path + plen + 1;
        size_t qlen = strcspn(q, "#");
        claw_buf_str(&b, "?");
        for (const char *s = q; s < q + qlen;) {
            size_t n = strcspn(s, "&#");
            if (n > (size_t)(q + qlen - s))
                n = (size_t)(q + qlen - s);
            const char *eq = memchr(s, '=', n);
            if (eq && secret_key(s, (size_t)(eq - s))) {
                claw_buf_add(&b, s, (size_t)(eq - s));
                claw_buf_str(&b, "=***");
            } else {
                claw_buf_add(&b, s, n);
            }
            s += n;
            if (s < q + qlen && *s == '&') {
                claw_buf_str(&b, "&");
                s++;
            }
        }
        claw_buf_str(&b, q + qlen);
    } else {
        claw_buf_str(&b, path + plen); /* a fragment */
    }
    return claw_buf_take(&b, NULL);
}

/* What a URL's scheme (or well-known host) says is secret besides its password. */
static int mask_flags(const char *url)
{
    if (strncasecmp(url, "discord://", 10) == 0)
        return MASK_USER;
    if (strncasecmp(url, "gotify://", 9) == 0 || strncasecmp(url, "slack://", 8) == 0 ||
        strncasecmp(url, "https://hooks.slack.com/", 24) == 0 ||
        strncasecmp(url, "https://discord.com/api/webhooks/", 33) == 0 ||
        strncasecmp(url, "https://discordapp.com/api/webhooks/", 36) == 0 ||
        strstr(url, "format=slack") || strstr(url, "format=discord"))
        return MASK_LAST_SEG;
    return 0;
}

static int scheme_char(int c)
{
    return isalnum(c) || c == '+' || c == '-' || c == '.';
}

void claw_notify_mask(const char *text, char *out, size_t size)
{
    static const char stop[] = " \t\r\n\"'<>";
    claw_buf b;
    claw_buf_init(&b);
    const char *p = text;
    for (;;) {
        const char *sep = strstr(p, "://");
        if (!sep) {
            claw_buf_str(&b, p);
            break;
        }
        const char *start = sep;
        while (start > p && scheme_char((unsigned char)start[-1]))
            start--;
        const char *rest = sep + 3, *at;
        const char *end = authority(rest, stop, &at);
        end += strcspn(end, stop);
        while (end > rest && strchr(".,:;!?)]}", end[-1]))
            end--; /* the punctuation of the sentence around it */
        claw_buf_add(&b, p, (size_t)(start - p));
        char *url = dup_n(start, (size_t)(end - start));
        char *m = url ? masked_url(url, mask_flags(url)) : NULL;
        claw_buf_str(&b, m ? m : "***");
        free(url);
        free(m);
        p = end;
    }
    snprintf(out, size, "%s", b.data ? b.data : "");
    claw_buf_free(&b);
}

/* ------------------------------------------------------------- URL parts ---- */

typedef struct param {
    char *key, *value;  /* decoded */
    const char *raw;    /* "key=value" as written */
    size_t rawlen;
    int used;
} param;

typedef struct url_parts {
    char scheme[32];
    char *user, *pass; /* decoded; NULL when absent */
    char *host;        /* decoded, without brackets or port */
    char *hostport;    /* as written: "host:port", "[::1]:80" */
    int port;          /* 0 when none */
    char *path;        /* as written: "" or "/..." */
    param params[MAX_PARAMS];
    size_t nparams;
    const char *shown; /* the masked URL, for messages */
} url_parts;

static void parts_free(url_parts *u)
{
    free(u->user);
    free(u->pass);
    free(u->host);
    free(u->hostport);
    free(u->path);
    for (size_t i = 0; i < u->nparams; i++) {
        free(u->params[i].key);
        free(u->params[i].value);
    }
    memset(u, 0, sizeof *u);
}

static int bad(claw_err *err, const url_parts *u, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(claw_err *err, const url_parts *u, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return claw_fail(err, CLAW_E_INVALID, 0, "notification URL %s: %s", u->shown, why);
}

static int split_query(url_parts *u, const char *q, size_t qlen, claw_err *err)
{
    for (const char *s = q; s < q + qlen;) {
        size_t n = strcspn(s, "&");
        if (n > (size_t)(q + qlen - s))
            n = (size_t)(q + qlen - s);
        if (n > 0) {
            if (u->nparams == MAX_PARAMS)
                return bad(err, u, "more than %d parameters", MAX_PARAMS);
            param *p = &u->params[u->nparams++];
            const char *eq = memchr(s, '=', n);
            size_t klen = eq ? (size_t)(eq - s) : n;
            p->key = decode_n(s, klen);
            p->value = eq ? decode_n(eq + 1, n - klen - 1) : dup_s("");
            p->raw = s;
            p->rawlen = n;
            if (!p->key || !p->value)
                return claw_fail(err, CLAW_E_INVALID, 0, "out of memory");
        }
        s += n + 1;
    }
    return 0;
}

static int split_url(const char *url, url_parts *u, claw_err *err)
{
    const char *sep = strstr(url, "://");
    size_t slen = sep ? (size_t)(sep - url) : 0;
    int ok = slen > 0 && slen < sizeof u->scheme && isalpha((unsigned char)url[0]);
    for (size_t i = 0; ok && i < slen; i++)
        ok = isalnum((unsigned char)url[i]) || strchr("+-.", url[i]);
    if (!ok)
        return bad(err, u, "not a URL (want scheme://...)");
    for (size_t i = 0; i < slen; i++)
        u->scheme[i] = (char)tolower((unsigned char)url[i]);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return bad(err, u, "spaces or control characters");
    const char *rest = sep + 3, *at;
    const char *end = authority(rest, "", &at);
    const char *hp = rest;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        u->user = decode_n(rest, (size_t)((colon ? colon : at) - rest));
        if (colon)
            u->pass = decode_n(colon + 1, (size_t)(at - colon - 1));
        hp = at + 1;
    }
    u->hostport = dup_n(hp, (size_t)(end - hp));
    const char *port = NULL, *hend = end;
    if (*hp == '[') {
        const char *close = memchr(hp, ']', (size_t)(end - hp));
        if (!close)
            return bad(err, u, "unclosed [ in the host");
        u->host = dup_n(hp + 1, (size_t)(close - hp - 1));
        if (close + 1 < end) {
            if (close[1] != ':')
                return bad(err, u, "text after the IPv6 address");
            port = close + 2;
        }
    } else {
        const char *colon = memrchr(hp, ':', (size_t)(end - hp));
        if (colon) {
            port = colon + 1;
            hend = colon;
        }
        u->host = decode_n(hp, (size_t)(hend - hp));
    }
    if (port) {
        long v = 0;
        const char *p = port;
        for (; p < end && isdigit((unsigned char)*p) && v <= 65535; p++)
            v = v * 10 + (*p - '0');
        if (p != end || p == port || v < 1 || v > 65535)
            return bad(err, u, "invalid port \"%.*s\"", (int)(end - port), port);
        u->port = (int)v;
    }
    size_t plen = strcspn(end, "?#");
    u->path = dup_n(end, plen);
    if (!u->hostport || !u->host || !u->path)
        return claw_fail(err, CLAW_E_INVALID, 0, "out of memory");
    if (end[plen] == '?')
        return split_query(u, end + plen + 1, strcspn(end + plen + 1, "#"), err);
    return 0;
}

/* The value of the first parameter named one of names (case-insensitive), marked
 * used; later duplicates are marked used too. NULL when absent. */
static const char *take(url_parts *u, const char *const *names)
{
    const char *v = NULL;
    for (size_t i = 0; i < u->nparams; i++)
        for (const char *const *n = names; *n; n++)
            if (strcasecmp(u->params[i].key, *n) == 0) {
                if (!v)
                    v = u->params[i].value;
                u->params[i].used = 1;
            }
    return v;
}
#define TAKE(u, ...) take((u), (const char *const[]){ __VA_ARGS__, NULL })

static int reject_unused(url_parts *u, claw_err *err)
{
    for (size_t i = 0; i < u->nparams; i++)
        if (!u->params[i].used)
            return bad(err, u, "unknown parameter \"%s\"", u->params[i].key);
    return 0;
}

/* The path's segments, decoded; empty segments are skipped. Returns the count. */
static size_t segments(const char *path, char **out, size_t max)
{
    size_t n = 0;
    for (const char *s = path; *s;) {
        size_t len = strcspn(s, "/");
        if (len > 0 && n < max)
            out[n++] = decode_n(s, len);
        s += len;
        if (*s == '/')
            s++;
    }
    return n;
}

static void free_segments(char **segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(segs[i]);
}

/* --------------------------------------------------------------- secrets ---- */

static char *read_secret(const char *path, const char *what, url_parts *u, claw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bad(err, u, "cannot read %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        bad(err, u, "cannot read %s %s", what, path);
        return NULL;
    }
    buf[n] = 0;
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = 0; /* the newline an editor leaves */
    if (n == 0 || strlen(buf) != n) {
        bad(err, u, "%s %s is empty or not text", what, path);
        return NULL;
    }
    return dup_n(buf, n);
}

/* password_file= and `@/path` as the password fill t->password; token_file= fills
 * t->token. */
static int secrets(claw_notify_target *t, url_parts *u, claw_err *err)
{
    const char *pf = TAKE(u, "password_file"), *tf = TAKE(u, "token_file");
    if (pf && u->pass && u->pass[0])
        return bad(err, u, "both a password and password_file");
    t->user = dup_s(u->user);
    if (pf || (u->pass && u->pass[0] == '@' && u->pass[1] == '/')) {
        t->password_file = dup_s(pf ? pf : u->pass + 1);
        if (!(t->password = read_secret(t->password_file, "password_file", u, err)))
            return -1;
    } else if (u->pass) {
        t->password = dup_s(u->pass);
    }
    if (tf) {
        t->token_file = dup_s(tf);
        if (!(t->token = read_secret(tf, "token_file", u, err)))
            return -1;
    }
    const char *ca = TAKE(u, "cacert");
    if (ca)
        t->cacert = dup_s(ca);
    return 0;
}

/* ----------------------------------------------------------------- email ---- */

static int valid_addr(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("<>()[],;:\\\"", *p))
            return 0;
    return 1;
}

static int add_rcpts(claw_notify_target *t, url_parts *u, claw_err *err)
{
    for (size_t i = 0; i < u->nparams; i++) {
        if (strcasecmp(u->params[i].key, "to") != 0 &&
            strcasecmp(u->params[i].key, "toaddresses") != 0)
            continue;
        u->params[i].used = 1;
        for (const char *s = u->params[i].value; *s;) {
            size_t n = strcspn(s, ",");
            while (n > 0 && *s == ' ')
                s++, n--;
            size_t m = n;
            while (m > 0 && s[m - 1] == ' ')
                m--;
            if (m > 0) {
                char *a = dup_n(s, m);
                if (!valid_addr(a)) {
                    bad(err, u, "invalid recipient \"%s\"", a);
                    free(a);
                    return -1;
                }
                if (t->nto == MAX_RCPT) {
                    free(a);
                    return bad(err, u, "more than %d recipients", MAX_RCPT);
                }
                t->to[t->nto++] = a;
            }
            s += n;
            if (*s == ',')
                s++;
        }
    }
    return t->nto ? 0 : bad(err, u, "no recipient (want to=address[,address...])");
}

/* starttls= (ours: yes = required), shoutrrr's usestarttls=/requirestarttls= and
 * encryption=None|ExplicitTLS|ImplicitTLS|Auto. */
static int email_tls(claw_notify_target *t, url_parts *u, int implicit, claw_err *err)
{
    const char *enc = TAKE(u, "encryption");
    const char *st = TAKE(u, "starttls"), *use = TAKE(u, "usestarttls");
    const char *req = TAKE(u, "requirestarttls");
    t->tls = implicit ? CLAW_NOTIFY_TLS_IMPLICIT : CLAW_NOTIFY_TLS_AUTO;
    if (enc) {
        if (strcasecmp(enc, "none") == 0)
            t->tls = CLAW_NOTIFY_TLS_NONE;
        else if (strcasecmp(enc, "explicittls") == 0)
            t->tls = CLAW_NOTIFY_TLS_STARTTLS;
        else if (strcasecmp(enc, "implicittls") == 0)
            t->tls = CLAW_NOTIFY_TLS_IMPLICIT;
        else if (strcasecmp(enc, "auto") == 0)
            t->tls = implicit || u->port == 465 ? CLAW_NOTIFY_TLS_IMPLICIT : CLAW_NOTIFY_TLS_AUTO;
        else
            return bad(err, u, "encryption=%s (want None, ExplicitTLS, ImplicitTLS or Auto)", enc);
    }
    if (use && t->tls != CLAW_NOTIFY_TLS_IMPLICIT) {
        if (is_no(use))
            t->tls = CLAW_NOTIFY_TLS_NONE;
        else if (!is_yes(use))
            return bad(err, u, "usestarttls=%s (want yes or no)", use);
    }
    if (req && is_yes(req) && t->tls != CLAW_NOTIFY_TLS_IMPLICIT)
        t->tls = CLAW_NOTIFY_TLS_STARTTLS;
    if (st) {
        if (t->tls == CLAW_NOTIFY_TLS_IMPLICIT)
            return bad(err, u, "starttls= does not apply to implicit TLS (smtps://)");
        if (is_yes(st))
            t->tls = CLAW_NOTIFY_TLS_STARTTLS;
        else if (is_no(st))
            t->tls = CLAW_NOTIFY_TLS_NONE;
        else if (strcasecmp(st, "auto") == 0)
            t->tls = CLAW_NOTIFY_TLS_AUTO;
        else
            return bad(err, u, "starttls=%s (want yes, no or auto)", st);
    }
    return 0;
}

static int build_email(claw_notify_target *t, url_parts *u, int implicit, claw_err *err)
{
    t->kind = CLAW_NOTIFY_EMAIL;
    if (!u->host[0])
        return bad(err, u, "no mail server host");
    if (strcmp(u->path, "") != 0 && strcmp(u->path, "/") != 0)
        return bad(err, u, "a path after the host (want smtp://host:port/?from=...&to=...)");
    if (email_tls(t, u, implicit, err) != 0)
        return -1;
    const char *from = TAKE(u, "from", "fromaddress");
    if (!from)
        return bad(err, u, "no sender (want from=address)");
    if (!valid_addr(from))
        return bad(err, u, "invalid sender \"%s\"", from);
    t->from = dup_s(from);
    t->to = calloc(MAX_RCPT, sizeof *t->to);
    if (!t->to || add_rcpts(t, u, err) != 0)
        return -1;
    const char *name = TAKE(u, "fromname"), *subject = TAKE(u, "subject", "title");
    const char *client = TAKE(u, "clienthost"), *auth = TAKE(u, "auth");
    const char *html = TAKE(u, "usehtml");
    t->from_name = dup_s(name && name[0] ? name : NULL);
    t->default_subject = dup_s(subject && subject[0] ? subject : NULL);
    if (html && is_yes(html))
        return bad(err, u, "usehtml=yes: only plain text mail is sent");
    if (client) /* curl sends the URL's path as the EHLO name */
        for (const char *p = client; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr(".-_[]:", *p))
                return bad(err, u, "invalid clienthost \"%s\"", client);
    if (auth) {
        if (strcasecmp(auth, "none") == 0) {
            free(t->user);
            free(t->password);
            t->user = t->password = NULL;
        } else if (strcasecmp(auth, "oauth2") == 0) {
            free(t->token);
            t->token = t->password; /* the password field holds the bearer token */
            t->password = NULL;
        } else if (strcasecmp(auth, "plain") != 0 && strcasecmp(auth, "login") != 0 &&
                   strcasecmp(auth, "crammd5") != 0 && strcasecmp(auth, "unknown") != 0) {
            return bad(err, u, "auth=%s (want None, Plain, Login, CRAMMD5, OAuth2 or Unknown)", auth);
        }
    }
    if (reject_unused(u, err) != 0)
        return -1;
    int port = u->port ? u->port : t->tls == CLAW_NOTIFY_TLS_IMPLICIT ? 465 : 25;
    int v6 = strchr(u->host, ':') != NULL;
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "%s://%s%s%s:%d/%s", t->tls == CLAW_NOTIFY_TLS_IMPLICIT ? "smtps" : "smtp",
                    v6 ? "[" : "", u->host, v6 ? "]" : "", port, client ? client : "");
    t->endpoint = claw_buf_take(&b, NULL);
    t->endpoint_shown = dup_s(t->endpoint);
    return 0;
}

/* -------------------------------------------------------------- webhooks ---- */

static void add_header(claw_notify_target *t, const char *name, const char *value)
{
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "%s: %s", name, value);
    cJSON_AddItemToArray(t->headers, cJSON_CreateString(b.data ? b.data : ""));
    claw_buf_free(&b);
}

static void add_auth(claw_notify_target *t, const char *kind, const char *secret)
{
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "%s %s", kind, secret);
    add_header(t, "Authorization", b.data ? b.data : "");
    if (b.data)
        memset(b.data, 0, b.len);
    claw_buf_free(&b);
}

static int has_header(const claw_notify_target *t, const char *name)
{
    size_t n = strlen(name);
    const cJSON *h;
    cJSON_ArrayForEach(h, t->headers) {
        if (strncasecmp(h->valuestring, name, n) == 0 && h->valuestring[n] == ':')
            return 1;
    }
    return 0;
}

/* Basic auth from user:password, or a bearer token (ntfy, generic). */
static void auth_headers(claw_notify_target *t)
{
    if (t->token) {
        add_auth(t, "Bearer", t->token);
    } else if (t->password || (t->user && t->user[0])) {
        claw_buf plain;
        claw_buf_init(&plain);
        claw_buf_printf(&plain, "%s:%s", t->user ? t->user : "", t->password ? t->password : "");
        char *enc = malloc(plain.len / 3 * 4 + 8);
        if (enc && plain.data) {
            EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain.data, (int)plain.len);
            add_auth(t, "Basic", enc);
            memset(enc, 0, strlen(enc));
            memset(plain.data, 0, plain.len);
        }
        free(enc);
        claw_buf_free(&plain);
    }
}

/* scheme://hostport + path + the query parameters not used, as written. */
static char *endpoint_url(const char *scheme, const url_parts *u, const char *path)
{
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "%s://%s%s", scheme, u->hostport, path[0] ? path : "/");
    char sep = '?';
    for (size_t i = 0; i < u->nparams; i++) {
        if (u->params[i].used)
            continue;
        claw_buf_add(&b, &sep, 1);
        claw_buf_add(&b, u->params[i].raw, u->params[i].rawlen);
        sep = '&';
    }
    return claw_buf_take(&b, NULL);
}

static int ntfy_priority(const char *v)
{
    static const char *const names[] = { "min", "low", "default", "high", "max" };
    for (int i = 0; i < 5; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i + 1;
    if (strcasecmp(v, "urgent") == 0)
        return 5;
    return strlen(v) == 1 && v[0] >= '1' && v[0] <= '5' ? v[0] - '0' : 0;
}

static void extra_str(claw_notify_target *t, const char *key, const char *v)
{
    if (v && v[0])
        cJSON_AddStringToObject(t->extra, key, v);
}

/* ntfy: JSON is published to the server's root with the topic in the body. */
static int build_ntfy(claw_notify_target *t, url_parts *u, const char *scheme, int strict,
                      claw_err *err)
{
    t->kind = CLAW_NOTIFY_NTFY;
    const char *sch = TAKE(u, "scheme"), *notls = TAKE(u, "disabletls");
    if (sch && strcasecmp(sch, "http") != 0 && strcasecmp(sch, "https") != 0)
        return bad(err, u, "scheme=%s (want http or https)", sch);
    if (!scheme)
        scheme = (sch && strcasecmp(sch, "http") == 0) || (notls && is_yes(notls)) ? "http" : "https";
    if (!u->host[0])
        return bad(err, u, "no ntfy server host");
    size_t plen = strlen(u->path);
    while (plen > 0 && u->path[plen - 1] == '/')
        plen--;
    size_t start = plen;
    while (start > 0 && u->path[start - 1] != '/')
        start--;
    if (start == plen)
        return bad(err, u, "no topic (want ntfy://host/topic)");
    char *topic = decode_n(u->path + start, plen - start);
    cJSON_AddStringToObject(t->extra, "topic", topic);
    free(topic);
    const char *pr = TAKE(u, "priority");
    if (pr) {
        int p = ntfy_priority(pr);
        if (!p)
            return bad(err, u, "priority=%s (want 1-5 or min, low, default, high, max)", pr);
        cJSON_AddNumberToObject(t->extra, "priority", p);
    }
    const char *tags = TAKE(u, "tags", "tag");
    if (tags && tags[0]) {
        cJSON *list = cJSON_AddArrayToObject(t->extra, "tags");
        for (const char *s = tags; *s;) {
            size_t n = strcspn(s, ",");
            if (n) {
                char *tag = dup_n(s, n);
                cJSON_AddItemToArray(list, cJSON_CreateString(tag));
                free(tag);
            }
            s += n + (s[n] == ',');
        }
    }
    static const char *const plain[] = { "click", "icon", "attach", "filename", "delay", "email" };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        extra_str(t, plain[i], TAKE(u, plain[i]));
    const char *md = TAKE(u, "markdown");
    if (md && is_yes(md))
        cJSON_AddBoolToObject(t->extra, "markdown", 1);
    const char *title = TAKE(u, "title");
    t->default_subject = dup_s(title && title[0] ? title : NULL);
    const char *cache = TAKE(u, "cache"), *fcm = TAKE(u, "firebase");
    if (cache && is_no(cache))
        add_header(t, "X-Cache", "no");
    if (fcm && is_no(fcm))
        add_header(t, "X-Firebase", "no");
    if (strict && reject_unused(u, err) != 0)
        return -1;
    char *root = dup_n(u->path, start);
    t->endpoint = endpoint_url(scheme, u, root);
    free(root);
    auth_headers(t);
    return 0;
}

/* gotify://host[:port][/path]/token → POST https://host[:port][/path]/message. */
static int build_gotify(claw_notify_target *t, url_parts *u, const char *scheme, int strict,
                        claw_err *err)
{
    t->kind = CLAW_NOTIFY_GOTIFY;
    const char *notls = TAKE(u, "disabletls");
    TAKE(u, "useheader"); /* shoutrrr's choice between header and query: always the header */
    const char *pr = TAKE(u, "priority"), *title = TAKE(u, "title");
    if (pr) {
        char *end;
        long p = strtol(pr, &end, 10);
        if (!pr[0] || *end || p < 0 || p > 10)
            return bad(err, u, "priority=%s (want 0-10)", pr);
        cJSON_AddNumberToObject(t->extra, "priority", (double)p);
    }
    t->default_subject = dup_s(title && title[0] ? title : NULL);
    if (!u->host[0])
        return bad(err, u, "no Gotify server host");
    if (scheme) { /* an https URL with format=gotify is posted to as it is */
        if (strict && reject_unused(u, err) != 0)
            return -1;
        t->endpoint = endpoint_url(scheme, u, u->path);
    } else {
        scheme = notls && is_yes(notls) ? "http" : "https";
        size_t plen = strlen(u->path);
        while (plen > 0 && u->path[plen - 1] == '/')
            plen--;
        size_t start = plen;
        while (start > 0 && u->path[start - 1] != '/')
            start--;
        if (!t->token) {
            if (start == plen)
                return bad(err, u, "no application token (want gotify://host/token)");
            t->token = decode_n(u->path + start, plen - start);
        } else {
            start = plen; /* with token_file the whole path is the server's */
        }
        if (reject_unused(u, err) != 0)
            return -1;
        char *path = malloc(start + 16);
        snprintf(path, start + 16, "%.*s%smessage", (int)start, u->path,
                 start && u->path[start - 1] == '/' ? "" : "/");
        t->endpoint = endpoint_url(scheme, u, path);
        free(path);
    }
    if (t->token)
        add_header(t, "X-Gotify-Key", t->token);
    return 0;
}

/* Slack's username/channel/icon options (shoutrrr names). */
static int slack_options(claw_notify_target *t, url_parts *u, claw_err *err)
{
    extra_str(t, "channel", TAKE(u, "channel"));
    extra_str(t, "username", TAKE(u, "username", "botname"));
    const char *icon = TAKE(u, "icon");
    if (icon && icon[0])
        extra_str(t, icon[0] == ':' ? "icon_emoji" : "icon_url", icon);
    extra_str(t, "thread_ts", TAKE(u, "threadts", "thread_ts"));
    TAKE(u, "color"); /* attachments' colour: plain text has none */
    const char *title = TAKE(u, "title");
    t->default_subject = dup_s(title && title[0] ? title : NULL);
    (void)err;
    return 0;
}

static int valid_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
            return 0;
    return 1;
}

/* slack://hooks.slack.com/services/A/B/C, slack://[botname@]A/B/C,
 * slack://hook:A-B-C@webhook and slack://webhook?token_file= (A/B/C in the file). */
static int build_slack(claw_notify_target *t, url_parts *u, claw_err *err)
{
    t->kind = CLAW_NOTIFY_SLACK;
    char *segs[8] = { 0 };
    char tokens[3][256] = { "", "", "" };
    int ok = 0;
    size_t n = segments(u->path, segs, 8);
    const char *secret = t->token ? t->token : t->password; /* hook:A-B-C@webhook */
    const char *from[3] = { NULL, NULL, NULL };
    if (u->user && strncasecmp(u->user, "xox", 3) == 0) {
        free_segments(segs, n);
        return bad(err, u, "Slack API tokens are not supported (use a webhook URL)");
    }
    if (secret && n == 0) {
        const char *s = secret;
        if (strncmp(s, "https://hooks.slack.com/services/", 33) == 0)
            s += 33;
        ok = sscanf(s, "%255[^/-]%*[/-]%255[^/-]%*[/-]%255[^/-]", tokens[0], tokens[1],
                    tokens[2]) == 3;
    } else if (strcasecmp(u->host, "hooks.slack.com") == 0 && n == 4 &&
               strcmp(segs[0], "services") == 0) {
        from[0] = segs[1], from[1] = segs[2], from[2] = segs[3];
    } else if (n == 2 && !u->pass) {
        from[0] = u->host, from[1] = segs[0], from[2] = segs[1];
        if (u->user && u->user[0])
            extra_str(t, "username", u->user);
    }
    if (from[0]) {
        ok = 1;
        for (int i = 0; i < 3; i++)
            ok = ok && strlen(from[i]) < sizeof tokens[i] && strcpy(tokens[i], from[i]);
    }
    free_segments(segs, n);
    for (int i = 0; ok && i < 3; i++)
        ok = valid_token(tokens[i]);
    if (!ok)
        return bad(err, u, "not a Slack webhook (want slack://hooks.slack.com/services/A/B/C "
                           "or slack://A/B/C)");
    if (slack_options(t, u, err) != 0 || reject_unused(u, err) != 0)
        return -1;
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "https://hooks.slack.com/services/%s/%s/%s", tokens[0], tokens[1],
                    tokens[2]);
    t->endpoint = claw_buf_take(&b, NULL);
    /* the secret is in the endpoint: no bearer token, no login */
    free(t->token);
    free(t->password);
    free(t->user);
    t->token = t->password = t->user = NULL;
    return 0;
}

static int discord_options(claw_notify_target *t, url_parts *u)
{
    extra_str(t, "username", TAKE(u, "username"));
    extra_str(t, "avatar_url", TAKE(u, "avatar", "avatarurl"));
    const char *title = TAKE(u, "title");
    t->default_subject = dup_s(title && title[0] ? title : NULL);
    static const char *const ignored[] = { "color", "colordebug", "colorerror", "colorinfo",
                                           "colorwarn", "json", "splitlines" };
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
        TAKE(u, ignored[i]);
    return 0;
}

/* discord://token@id → https://discord.com/api/webhooks/id/token. */
static int build_discord(claw_notify_target *t, url_parts *u, claw_err *err)
{
    t->kind = CLAW_NOTIFY_DISCORD;
    const char *token = t->token ? t->token : u->user;
    if (!token || !token[0])
        return bad(err, u, "no webhook token (want discord://token@id)");
    if (!u->host[0] || strspn(u->host, "0123456789") != strlen(u->host))
        return bad(err, u, "the webhook id must be a number (want discord://token@id)");
    if (!valid_token(token))
        return bad(err, u, "invalid webhook token");
    if (strcmp(u->path, "") != 0 && strcmp(u->path, "/") != 0)
        return bad(err, u, "a path after the webhook id");
    discord_options(t, u);
    const char *thread = TAKE(u, "thread_id");
    if (reject_unused(u, err) != 0)
        return -1;
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "https://discord.com/api/webhooks/%s/%s", u->host, token);
    if (thread && thread[0])
        claw_buf_printf(&b, "?thread_id=%s", thread);
    t->endpoint = claw_buf_take(&b, NULL);
    free(t->token); /* the token is in the endpoint */
    free(t->user);
    t->token = t->user = NULL;
    return 0;
}

/* generic://, generic+https:// and generic+http:// (shoutrrr's generic service):
 * template=json, titlekey=, messagekey=, contenttype=, requestmethod=, disabletls=,
 * @Header=value, $key=value; other parameters go on to the endpoint. */
static int build_generic(claw_notify_target *t, url_parts *u, const char *scheme, claw_err *err)
{
    t->kind = CLAW_NOTIFY_GENERIC;
    const char *tpl = TAKE(u, "template"), *tk = TAKE(u, "titlekey"), *mk = TAKE(u, "messagekey");
    const char *ct = TAKE(u, "contenttype"), *method = TAKE(u, "requestmethod", "method");
    const char *notls = TAKE(u, "disabletls"), *title = TAKE(u, "title");
    if (tpl && tpl[0] && strcasecmp(tpl, "json") != 0)
        return bad(err, u, "template=%s (only json is supported)", tpl);
    if (method && strcasecmp(method, "POST") != 0 && strcasecmp(method, "PUT") != 0)
        return bad(err, u, "requestmethod=%s (want POST or PUT)", method);
    t->method = dup_s(method && strcasecmp(method, "PUT") == 0 ? "PUT" : "POST");
    t->title_key = dup_s(tk && tk[0] ? tk : "title");
    t->message_key = dup_s(mk && mk[0] ? mk : "message");
    t->default_subject = dup_s(title && title[0] ? title : NULL);
    if (ct && ct[0]) {
        if (strpbrk(ct, "\r\n"))
            return bad(err, u, "invalid contenttype");
        add_header(t, "Content-Type", ct);
    }
    for (size_t i = 0; i < u->nparams; i++) {
        param *p = &u->params[i];
        if (p->used || (p->key[0] != '@' && p->key[0] != '$'))
            continue;
        p->used = 1;
        if (!p->key[1] || strpbrk(p->key, "\r\n:") || strpbrk(p->value, "\r\n"))
            return bad(err, u, "invalid parameter \"%s\"", p->key);
        if (p->key[0] == '@')
            add_header(t, p->key + 1, p->value);
        else
            cJSON_AddStringToObject(t->extra, p->key + 1, p->value);
    }
    if (!scheme)
        scheme = notls && is_yes(notls) ? "http" : "https";
    if (!u->host[0])
        return bad(err, u, "no host");
    t->endpoint = endpoint_url(scheme, u, u->path);
    auth_headers(t);
    return 0;
}

/* http:// and https://: a generic JSON POST unless format= (or the host) says
 * otherwise. The URL's own query goes on to the endpoint. */
static int build_https(claw_notify_target *t, url_parts *u, claw_err *err)
{
    const char *fmt = TAKE(u, "format");
    const char *scheme = u->scheme;
    if (!u->host[0])
        return bad(err, u, "no host");
    if (!fmt) {
        if (strcasecmp(u->host, "hooks.slack.com") == 0)
            fmt = "slack";
        else if ((strcasecmp(u->host, "discord.com") == 0 ||
                  strcasecmp(u->host, "discordapp.com") == 0) &&
                 strncmp(u->path, "/api/webhooks/", 14) == 0)
            fmt = "discord";
        else
            fmt = "generic";
    }
    if (strcasecmp(fmt, "ntfy") == 0)
        return build_ntfy(t, u, scheme, 0, err);
    if (strcasecmp(fmt, "gotify") == 0)
        return build_gotify(t, u, scheme, 0, err);
    if (strcasecmp(fmt, "slack") == 0) {
        t->kind = CLAW_NOTIFY_SLACK;
        slack_options(t, u, err);
    } else if (strcasecmp(fmt, "discord") == 0) {
        t->kind = CLAW_NOTIFY_DISCORD;
        discord_options(t, u);
    } else if (strcasecmp(fmt, "generic") == 0 || strcasecmp(fmt, "json") == 0) {
        t->kind = CLAW_NOTIFY_GENERIC;
        t->method = dup_s("POST");
        t->title_key = dup_s("title");
        t->message_key = dup_s("message");
    } else {
        return bad(err, u, "format=%s (want generic, slack, discord, ntfy or gotify)", fmt);
    }
    t->endpoint = endpoint_url(scheme, u, u->path);
    if (t->kind == CLAW_NOTIFY_GENERIC)
        auth_headers(t);
    else if (t->token || t->password)
        return bad(err, u, "a %s webhook takes no password or token", fmt);
    return 0;
}

/* ----------------------------------------------------------------- parse ---- */

static const char SCHEMES[] =
    "smtp, smtps, http, https, ntfy, gotify, slack, discord, generic, generic+https or generic+http";

int claw_notify_parse(const char *url, claw_notify_target *t, claw_err *err)
{
    memset(t, 0, sizeof *t);
    url_parts u;
    memset(&u, 0, sizeof u);
    /* before the URL is understood, mask what its scheme says is secret */
    char *shown = masked_url(url, mask_flags(url));
    u.shown = shown ? shown : "(URL)";
    t->extra = cJSON_CreateObject();
    t->headers = cJSON_CreateArray();
    int rc = split_url(url, &u, err);
    if (rc == 0)
        rc = secrets(t, &u, err);
    if (rc == 0) {
        const char *s = u.scheme;
        t->scheme = dup_s(s);
        if (strcmp(s, "smtp") == 0 || strcmp(s, "smtps") == 0)
            rc = build_email(t, &u, strcmp(s, "smtps") == 0, err);
        else if (strcmp(s, "http") == 0 || strcmp(s, "https") == 0)
            rc = build_https(t, &u, err);
        else if (strcmp(s, "ntfy") == 0)
            rc = build_ntfy(t, &u, NULL, 1, err);
        else if (strcmp(s, "gotify") == 0)
            rc = build_gotify(t, &u, NULL, 1, err);
        else if (strcmp(s, "slack") == 0)
            rc = build_slack(t, &u, err);
        else if (strcmp(s, "discord") == 0)
            rc = build_discord(t, &u, err);
        else if (strcmp(s, "generic") == 0)
            rc = build_generic(t, &u, NULL, err);
        else if (strcmp(s, "generic+https") == 0 || strcmp(s, "generic+http") == 0)
            rc = build_generic(t, &u, s + 8, err);
        else
            rc = claw_fail(err, CLAW_E_INVALID, 0,
                           "unknown notification scheme \"%s\" in %s (want %s)", s, u.shown, SCHEMES);
    }
    if (rc == 0) {
        int flags = 0;
        if (t->kind == CLAW_NOTIFY_DISCORD && strcmp(u.scheme, "discord") == 0 && !t->token_file)
            flags = MASK_USER;
        else if ((t->kind == CLAW_NOTIFY_GOTIFY && strcmp(u.scheme, "gotify") == 0 && !t->token_file) ||
                 (t->kind == CLAW_NOTIFY_SLACK && !u.pass && !t->token_file) ||
                 (t->kind == CLAW_NOTIFY_DISCORD && strcmp(u.scheme, "discord") != 0))
            flags = MASK_LAST_SEG;
        t->display = masked_url(url, flags);
        int eflags = t->kind == CLAW_NOTIFY_SLACK || t->kind == CLAW_NOTIFY_DISCORD ? MASK_LAST_SEG : 0;
        if (!t->endpoint_shown)
            t->endpoint_shown = masked_url(t->endpoint, eflags);
        if (!t->display || !t->endpoint || !t->endpoint_shown || !t->extra || !t->headers)
            rc = claw_fail(err, CLAW_E_INVALID, 0, "out of memory");
    }
    parts_free(&u);
    free(shown);
    return rc;
}

void claw_notify_target_free(claw_notify_target *t)
{
    if (!t)
        return;
    char **strs[] = { &t->scheme, &t->display, &t->endpoint, &t->endpoint_shown, &t->user,
                      &t->password, &t->token, &t->password_file, &t->token_file,
                      &t->cacert, &t->from, &t->from_name, &t->default_subject,
                      &t->title_key, &t->message_key, &t->method };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (*strs[i] && (strs[i] == &t->password || strs[i] == &t->token))
            memset(*strs[i], 0, strlen(*strs[i])); /* secrets do not linger in freed memory */
        free(*strs[i]);
    }
    for (size_t i = 0; i < t->nto; i++)
        free(t->to[i]);
    free(t->to);
    cJSON_Delete(t->extra);
    cJSON_Delete(t->headers);
    memset(t, 0, sizeof *t);
}

/* Authorization, X-Gotify-Key, X-Api-Token, ... */
static int secret_header(const char *name, size_t n)
{
    char k[128];
    snprintf(k, sizeof k, "%.*s", (int)n, name);
    for (char *p = k; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return claw_log_is_secret(k) || strstr(k, "key") != NULL;
}

static const char *const KINDS[] = { "email", "generic", "slack", "discord", "ntfy", "gotify" };
static const char *const TLS[] = { "none", "auto", "starttls", "implicit" };

cJSON *claw_notify_describe(const claw_notify_target *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", KINDS[t->kind]);
    cJSON_AddStringToObject(o, "scheme", t->scheme);
    cJSON_AddStringToObject(o, "url", t->display);
    cJSON_AddStringToObject(o, "endpoint", t->endpoint_shown);
    if (t->user && t->user[0] && t->kind != CLAW_NOTIFY_DISCORD && t->kind != CLAW_NOTIFY_SLACK)
        cJSON_AddStringToObject(o, "user", t->user);
    if (t->password)
        cJSON_AddStringToObject(o, "password", "***");
    if (t->token)
        cJSON_AddStringToObject(o, "token", "***");
    if (t->password_file)
        cJSON_AddStringToObject(o, "password_file", t->password_file);
    if (t->token_file)
        cJSON_AddStringToObject(o, "token_file", t->token_file);
    if (t->cacert)
        cJSON_AddStringToObject(o, "cacert", t->cacert);
    if (t->default_subject)
        cJSON_AddStringToObject(o, "subject", t->default_subject);
    if (t->kind == CLAW_NOTIFY_EMAIL) {
        cJSON_AddStringToObject(o, "from", t->from);
        if (t->from_name)
            cJSON_AddStringToObject(o, "from_name", t->from_name);
        cJSON_AddItemToObject(o, "to", cJSON_CreateStringArray((const char *const *)t->to, (int)t->nto));
        cJSON_AddStringToObject(o, "tls", TLS[t->tls]);
        if (t->token)
            cJSON_AddStringToObject(o, "auth", "oauth2");
    } else {
        cJSON_AddStringToObject(o, "method", t->method ? t->method : "POST");
        cJSON *h = cJSON_AddArrayToObject(o, "headers");
        const cJSON *e;
        cJSON_ArrayForEach(e, t->headers) {
            const char *colon = strchr(e->valuestring, ':');
            char line[256];
            if (colon && secret_header(e->valuestring, (size_t)(colon - e->valuestring)))
                snprintf(line, sizeof line, "%.*s: ***", (int)(colon - e->valuestring), e->valuestring);
            else
                snprintf(line, sizeof line, "%s", e->valuestring);
            cJSON_AddItemToArray(h, cJSON_CreateString(line));
        }
        if (cJSON_GetArraySize(t->extra) > 0)
            cJSON_AddItemToObject(o, "options", cJSON_Duplicate(t->extra, 1));
    }
    return o;
}

/* -------------------------------------------------------------- messages ---- */

static int cmp_keys(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* "key: value" lines, sorted by key; strings as they are, the rest as JSON. */
static void field_lines(claw_buf *b, const cJSON *fields)
{
    int n = cJSON_GetArraySize(fields);
    if (!cJSON_IsObject(fields) || n == 0)
        return;
    const cJSON **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, fields) sorted[i++] = e;
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_keys);
    for (i = 0; i < n; i++) {
        if (cJSON_IsString(sorted[i])) {
            claw_buf_printf(b, "%s: %s\n", sorted[i]->string, sorted[i]->valuestring);
        } else {
            char *v = cJSON_PrintUnformatted(sorted[i]);
            claw_buf_printf(b, "%s: %s\n", sorted[i]->string, v ? v : "");
            free(v);
        }
    }
    free(sorted);
}

static const char *subject_of(const claw_notify_target *t, const claw_notify_msg *m)
{
    if (m->subject && m->subject[0])
        return m->subject;
    return t && t->default_subject ? t->default_subject : "";
}

static char *plain_text(const char *subject, const claw_notify_msg *m)
{
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_str(&b, "");
    if (subject && subject[0])
        claw_buf_str(&b, subject);
    const char *text = m->text ? m->text : "";
    size_t tlen = strlen(text);
    while (tlen > 0 && (text[tlen - 1] == '\n' || text[tlen - 1] == '\r'))
        tlen--; /* the fields, if any, follow one blank line */
    if (tlen) {
        if (b.len)
            claw_buf_str(&b, "\n\n");
        claw_buf_add(&b, text, tlen);
    }
    if (cJSON_GetArraySize(m->fields) > 0) {
        if (b.len)
            claw_buf_str(&b, "\n\n");
        field_lines(&b, m->fields);
        b.data[--b.len] = 0; /* no newline after the last line */
    }
    return claw_buf_take(&b, NULL);
}

char *claw_notify_plain(const claw_notify_msg *m, int with_subject)
{
    return plain_text(with_subject ? m->subject : NULL, m);
}

static int ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* RFC 2047 encoded words, each at most 75 characters, split between UTF-8
 * characters, folded onto continuation lines. */
static void encoded_words(claw_buf *b, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = len - i < 45 ? len - i : 45;
        while (n > 1 && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80)
            n--; /* do not cut a character in two */
        char enc[64];
        EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)s + i, (int)n);
        claw_buf_printf(b, "%s=?utf-8?B?%s?=", i ? "\r\n " : "", enc);
        i += n;
    }
}

/* A header value with CR, LF and tabs turned into spaces. */
static char *one_line(const char *s)
{
    char *c = dup_s(s ? s : "");
    for (char *p = c; p && *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    return c;
}

static void header_text(claw_buf *b, const char *name, const char *value)
{
    char *v = one_line(value);
    claw_buf_printf(b, "%s: ", name);
    if (ascii(v) && strlen(v) <= 900) {
        /* folded at spaces to keep lines near 78 characters */
        size_t col = strlen(name) + 2;
        for (const char *p = v; *p;) {
            size_t w = strcspn(p + 1, " ") + 1;
            if (p != v && *p == ' ' && col + w > 78) {
                claw_buf_str(b, "\r\n");
                col = 0;
            }
            claw_buf_add(b, p, w);
            col += w;
            p += w;
        }
    } else {
        encoded_words(b, v);
    }
    claw_buf_str(b, "\r\n");
    free(v);
}

static void from_header(claw_buf *b, const claw_notify_target *t)
{
    claw_buf_str(b, "From: ");
    if (t->from_name) {
        char *name = one_line(t->from_name);
        if (!ascii(name)) {
            encoded_words(b, name);
        } else if (strpbrk(name, "()<>[]:;@\\,.\"")) {
            claw_buf_str(b, "\"");
            for (const char *p = name; *p; p++)
                claw_buf_printf(b, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
            claw_buf_str(b, "\"");
        } else {
            claw_buf_str(b, name);
        }
        claw_buf_printf(b, " <%s>\r\n", t->from);
        free(name);
    } else {
        claw_buf_printf(b, "%s\r\n", t->from);
    }
}

/* The body with CRLF line ends, lines cut at 998 octets (RFC 5322), ending in CRLF. */
static void body_crlf(claw_buf *b, const char *text)
{
    size_t col = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\r' && p[1] == '\n')
            continue;
        if (*p == '\n' || *p == '\r') {
            claw_buf_str(b, "\r\n");
            col = 0;
            continue;
        }
        if (col == 998) {
            claw_buf_str(b, "\r\n");
            col = 0;
        }
        claw_buf_add(b, p, 1);
        col++;
    }
    if (col || b->len == 0 || b->data[b->len - 1] != '\n')
        claw_buf_str(b, "\r\n");
}

char *claw_notify_email(const claw_notify_target *t, const claw_notify_msg *m, time_t now,
                        const char *id)
{
    if (t->kind != CLAW_NOTIFY_EMAIL)
        return NULL;
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    gmtime_r(&now, &tm);
    const char *domain = strchr(t->from, '@') + 1;
    const char *subject = subject_of(t, m);
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                    tm.tm_sec);
    claw_buf_printf(&b, "Message-ID: <%s@%s>\r\n", id, domain);
    header_text(&b, "Subject", subject[0] ? subject : "clawengine notification");
    from_header(&b, t);
    claw_buf_str(&b, "To: ");
    for (size_t i = 0; i < t->nto; i++)
        claw_buf_printf(&b, "%s%s", i ? ", " : "", t->to[i]);
    claw_buf_str(&b, "\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n");
    char *text = plain_text(NULL, m);
    body_crlf(&b, text ? text : "");
    free(text);
    return claw_buf_take(&b, NULL);
}

/* At most max characters (code points), "…" at the end when cut. */
static void truncate_chars(char *s, size_t max)
{
    size_t chars = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) == 0x80)
            continue;
        if (++chars == max) {
            size_t rest = 0;
            for (char *q = p + 1; *q; q++)
                rest += ((unsigned char)*q & 0xC0) != 0x80;
            if (rest > 0)
                strcpy(p, "\xe2\x80\xa6"); /* room: the character replaced is >= 1 byte, "…" 3 */
            return;
        }
    }
}

char *claw_notify_body(const claw_notify_target *t, const claw_notify_msg *m)
{
    const char *subject = subject_of(t, m);
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    switch (t->kind) {
    case CLAW_NOTIFY_GENERIC:
        cJSON_AddStringToObject(o, t->title_key, subject);
        cJSON_AddStringToObject(o, t->message_key, m->text ? m->text : "");
        if (m->fields)
            cJSON_AddItemToObject(o, "fields", cJSON_Duplicate(m->fields, 1));
        break;
    case CLAW_NOTIFY_SLACK:
        text = plain_text(subject, m);
        cJSON_AddStringToObject(o, "text", text ? text : "");
        break;
    case CLAW_NOTIFY_DISCORD:
        text = plain_text(subject, m);
        if (text)
            truncate_chars(text, DISCORD_MAX);
        cJSON_AddStringToObject(o, "content", text ? text : "");
        break;
    case CLAW_NOTIFY_NTFY:
    case CLAW_NOTIFY_GOTIFY:
        text = plain_text(NULL, m);
        if (subject[0])
            cJSON_AddStringToObject(o, "title", subject);
        cJSON_AddStringToObject(o, "message", text ? text : "");
        break;
    case CLAW_NOTIFY_EMAIL:
        break;
    }
    free(text);
    const cJSON *e;
    cJSON_ArrayForEach(e, t->extra) {
        if (!cJSON_GetObjectItemCaseSensitive(o, e->string))
            cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, 1));
    }
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return body;
}

/* --------------------------------------------------------------- sending ---- */

/* The message of a failure with the real endpoint (which may hold a token)
 * replaced by its masked form, and any URL password masked. */
static int fail_masked(claw_err *err, const claw_notify_target *t, const char *code, int status,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail_masked(claw_err *err, const claw_notify_target *t, const char *code, int status,
                       const char *fmt, ...)
{
    char why[1024], out[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "%s: ", t->display);
    size_t elen = strlen(t->endpoint);
    for (const char *p = why; *p;) {
        const char *hit = strstr(p, t->endpoint);
        if (!hit) {
            claw_buf_str(&b, p);
            break;
        }
        claw_buf_add(&b, p, (size_t)(hit - p));
        claw_buf_str(&b, t->endpoint_shown);
        p = hit + elen;
    }
    claw_notify_mask(b.data ? b.data : "", out, sizeof out);
    claw_buf_free(&b);
    return claw_fail(err, code, status, "%s", out);
}

typedef struct smtp_io {
    const char *data;
    size_t len, pos;
    claw_buf replies; /* what the server said, for the reason of a refusal */
} smtp_io;

static size_t smtp_read(char *buf, size_t size, size_t n, void *ud)
{
    smtp_io *io = ud;
    size_t left = io->len - io->pos, want = size * n;
    size_t k = left < want ? left : want;
    memcpy(buf, io->data + io->pos, k);
    io->pos += k;
    return k;
}

static int smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    smtp_io *io = ud;
    if (type != CURLINFO_HEADER_IN)
        return 0; /* never what we sent: it holds the login */
    if (io->replies.len > 16384)
        claw_buf_drop(&io->replies, io->replies.len - 4096);
    claw_buf_add(&io->replies, data, size);
    return 0;
}

/* The last reply line that starts with code, without its line end. */
static void last_reply(const claw_buf *r, long code, char *out, size_t size)
{
    char want[24];
    snprintf(want, sizeof want, "%03ld", code);
    out[0] = 0;
    for (const char *line = r->data; line && *line;) {
        size_t n = strcspn(line, "\r\n");
        if (n >= 3 && strncmp(line, want, 3) == 0)
            snprintf(out, size, "%.*s", (int)n, line);
        line += n;
        line += strspn(line, "\r\n");
    }
    if (!out[0])
        snprintf(out, size, "%ld", code);
}

/* One transfer on its own multi handle, watching the cancel pipe as http.c does.
 * Returns -1 when interrupted. */
static int perform(CURL *e, const claw_cancel *cancel, CURLcode *result)
{
    CURLM *multi = curl_multi_init();
    if (!multi || curl_multi_add_handle(multi, e) != CURLM_OK) {
        curl_multi_cleanup(multi);
        *result = CURLE_OUT_OF_MEMORY;
        return 0;
    }
    struct curl_waitfd extra = { .fd = cancel ? cancel->rfd : -1, .events = CURL_WAIT_POLLIN };
    int rc = 0, running = 1;
    for (;;) {
        curl_multi_perform(multi, &running);
        int msgs;
        CURLMsg *m = curl_multi_info_read(multi, &msgs);
        if (m && m->msg == CURLMSG_DONE) {
            *result = m->data.result;
            break;
        }
        if (claw_cancel_pending(cancel)) {
            /* Removed unfinished, curl's SMTP would still send the end of the data
             * and wait for the server's answer, for as long as the timeout allows:
             * leave it none. */
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1L);
            rc = -1;
            break;
        }
        curl_multi_poll(multi, extra.fd >= 0 ? &extra : NULL, extra.fd >= 0 ? 1 : 0, 1000, NULL);
    }
    curl_multi_remove_handle(multi, e);
    curl_multi_cleanup(multi);
    return rc;
}

static void message_id(char *out, size_t size)
{
    unsigned char r[8] = { 0 };
    if (RAND_bytes(r, sizeof r) != 1)
        memset(r, 0, sizeof r);
    snprintf(out, size, "%lld.%02x%02x%02x%02x%02x%02x%02x%02x.clawengine", (long long)time(NULL),
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

static int send_email(const claw_notify_target *t, const claw_notify_msg *m,
                      const claw_cancel *cancel, double timeout, claw_err *err)
{
    char id[80];
    message_id(id, sizeof id);
    smtp_io io = { 0 };
    claw_buf_init(&io.replies);
    char *mail = claw_notify_email(t, m, time(NULL), id);
    CURL *e = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    char from[320], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof from, "<%s>", t->from);
    for (size_t i = 0; i < t->nto; i++) {
        char a[320];
        snprintf(a, sizeof a, "<%s>", t->to[i]);
        rcpt = curl_slist_append(rcpt, a);
    }
    if (!mail || !e || !rcpt) {
        free(mail);
        curl_easy_cleanup(e);
        curl_slist_free_all(rcpt);
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    }
    io.data = mail;
    io.len = strlen(mail);
    curl_easy_setopt(e, CURLOPT_URL, t->endpoint);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, smtp_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &io);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)io.len);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L); /* for the debug callback only */
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, smtp_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, &io);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)((timeout < 10 ? timeout : 10) * 1000));
    /* The wait for each reply; it also bounds the wait for the answer to QUIT, sent
     * when the connection is closed after a success (curl's default: 120 s). */
    curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)ceil(timeout));
    static const long use_ssl[] = { CURLUSESSL_NONE, CURLUSESSL_TRY, CURLUSESSL_ALL, CURLUSESSL_ALL };
    curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl[t->tls]);
    if (t->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, t->cacert);
    if (t->user && t->user[0]) {
        curl_easy_setopt(e, CURLOPT_USERNAME, t->user);
        if (t->token) {
            curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, t->token);
            curl_easy_setopt(e, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
        } else if (t->password) {
            curl_easy_setopt(e, CURLOPT_PASSWORD, t->password);
        }
    }
    CURLcode cr = CURLE_OK;
    int interrupted = perform(e, cancel, &cr) != 0;
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    int rc = 0;
    if (interrupted) {
        rc = claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
    } else if (cr == CURLE_OK) {
        rc = 0;
    } else if (cr == CURLE_OPERATION_TIMEDOUT) {
        rc = fail_masked(err, t, CLAW_E_TIMEOUT, 0, "timed out after %g s", timeout);
    } else if (cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST) {
        rc = fail_masked(err, t, CLAW_E_UNREACHABLE, 0, "cannot connect: %s",
                         errbuf[0] ? errbuf : curl_easy_strerror(cr));
    } else if (code >= 400) {
        char reply[512];
        last_reply(&io.replies, code, reply, sizeof reply);
        rc = fail_masked(err, t, "refused", (int)code, "refused by the mail server: %s", reply);
    } else {
        rc = fail_masked(err, t, CLAW_E_HTTP, 0, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cr));
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(rcpt);
    claw_buf_free(&io.replies);
    free(mail);
    return rc;
}

static int send_webhook(const claw_notify_target *t, const claw_notify_msg *m,
                        const claw_cancel *cancel, double timeout, claw_err *err)
{
    char *body = claw_notify_body(t, m);
    int n = cJSON_GetArraySize(t->headers);
    const char **headers = calloc((size_t)n + 3, sizeof *headers);
    claw_http *h = claw_http_new(cancel);
    if (!body || !headers || !h) {
        free(body);
        free(headers);
        claw_http_free(h);
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    }
    int k = 0;
    if (!has_header(t, "Content-Type"))
        headers[k++] = "Content-Type: application/json";
    headers[k++] = "User-Agent: clawengine/" CLAW_VERSION;
    const cJSON *e;
    cJSON_ArrayForEach(e, t->headers) headers[k++] = e->valuestring;
    claw_http_req req = { .method = t->method ? t->method : "POST",
                          .url = t->endpoint,
                          .body = body,
                          .body_len = strlen(body),
                          .headers = headers,
                          .timeout = timeout,
                          .connect_timeout = timeout < 10 ? timeout : 10,
                          .cacert = t->cacert };
    claw_http_resp resp;
    claw_err e2;
    int rc = claw_http_do(h, &req, &resp, &e2);
    if (rc != 0) {
        if (strcmp(e2.code, CLAW_E_INTERRUPTED) == 0)
            *err = e2;
        else if (strcmp(e2.code, CLAW_E_TIMEOUT) == 0)
            fail_masked(err, t, CLAW_E_TIMEOUT, 0, "timed out after %g s", timeout);
        else if (strcmp(e2.code, CLAW_E_UNREACHABLE) == 0)
            fail_masked(err, t, CLAW_E_UNREACHABLE, 0, "cannot connect: %s%s%s", e2.message,
                        e2.status ? ": " : "", e2.status ? strerror(e2.status) : "");
        else
            fail_masked(err, t, CLAW_E_HTTP, 0, "%s", e2.message);
    } else if (resp.status < 200 || resp.status > 299) {
        size_t len = resp.len;
        while (len > 0 && isspace((unsigned char)resp.body[len - 1]))
            len--;
        rc = fail_masked(err, t, CLAW_E_HTTP, (int)resp.status, "HTTP %ld%s%.*s", resp.status,
                         len ? ": " : "", (int)(len > 200 ? 200 : len), resp.body);
        claw_http_resp_free(&resp);
    } else {
        claw_http_resp_free(&resp);
    }
    claw_http_free(h);
    free(headers);
    free(body);
    return rc;
}

int claw_notify_send(const claw_notify_target *t, const claw_notify_msg *m,
                     const claw_cancel *cancel, double timeout, claw_err *err)
{
    if (timeout <= 0)
        timeout = DEFAULT_TIMEOUT;
    if (t->kind == CLAW_NOTIFY_EMAIL)
        return send_email(t, m, cancel, timeout, err);
    return send_webhook(t, m, cancel, timeout, err);
}
