#define _GNU_SOURCE
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "cfg.h"
#include "proxy.h"

/* ---- config ---- */

/* The token file: a regular file that other users cannot read, holding one token of
 * at least CLAW_API_MIN_TOKEN visible characters (a final newline is dropped). */
static int read_token(const char *path, char *out, size_t size, const char *file,
                      claw_err *err)
{
    char where[4200];
    snprintf(where, sizeof where, "api.token_file %s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC); /* a symlink is fine (mounted secrets) */
    struct stat st;
    if (fd < 0) {
        int e = errno;
        claw_fail(err, e == ENOENT ? CLAW_E_NOT_FOUND : CLAW_E_INVALID, 0, "%s: %s: %s", file,
                  where, strerror(e));
        return -1;
    }
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, out, size - 1) : -2;
    close(fd);
    if (n == -2)
        return claw_cfg_bad(err, file, where, "is not a regular file");
    if (n < 0)
        return claw_cfg_bad(err, file, where, strerror(errno));
    if (st.st_mode & (S_IROTH | S_IWOTH))
        return claw_cfg_bad(err, file, where,
                            "other users can read or change it: chmod o-rw it (chmod 600)");
    if ((size_t)n >= size - 1) /* before trimming: a longer file was cut at the buffer */
        return claw_cfg_bad(err, file, where, "the token is longer than 1000 characters");
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] == 0x7f)
            return claw_cfg_bad(err, file, where, "the token must be one word of visible characters");
    if (n == 0)
        return claw_cfg_bad(err, file, where, "is empty");
    if (n > 1000)
        return claw_cfg_bad(err, file, where, "the token is longer than 1000 characters");
    if (n < CLAW_API_MIN_TOKEN)
        return claw_cfg_bad(err, file, where,
                            "the token is shorter than 16 characters (make one with: openssl rand -hex 32)");
    return 0;
}

static int parse_listen(const cJSON *api, const char *file, claw_api_cfg *out, claw_err *err)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(api, "listen");
    out->listen = l ? claw_cfg_strings(l, 0)
                    : cJSON_CreateStringArray((const char *[]){ CLAW_API_DEFAULT_LISTEN }, 1);
    if (!out->listen || cJSON_GetArraySize(out->listen) > CLAW_MAX_LISTEN)
        return claw_cfg_bad(err, file, "api.listen", "must be an address or a list of 1 to 16 addresses");
    const cJSON *a;
    cJSON_ArrayForEach(a, out->listen) {
        struct sockaddr_storage ss;
        socklen_t len;
        claw_err aerr;
        if (claw_parse_addr(a->valuestring, &ss, &len, &aerr) != 0)
            return claw_cfg_bad(err, file, "api.listen", aerr.message);
    }
    return 0;
}

static int parse_update(const cJSON *u, const char *file, claw_api_cfg *out, claw_err *err)
{
    static const char *const keys[] = { "policy", "args", "timeout", NULL };
    if (!u)
        return 0;
    if (!cJSON_IsObject(u))
        return claw_cfg_bad(err, file, "api.update", "must be a mapping with policy and args");
    if (claw_cfg_only_keys(u, keys, file, "api.update", err) != 0)
        return -1;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "policy");
    if (!cJSON_IsString(p) || !*p->valuestring || strlen(p->valuestring) >= sizeof out->update_policy)
        return claw_cfg_bad(err, file, "api.update.policy", "must be the path of a policy");
    snprintf(out->update_policy, sizeof out->update_policy, "%s", p->valuestring);
    if (!(out->update_args = claw_cfg_strings(cJSON_GetObjectItemCaseSensitive(u, "args"), 1)))
        return claw_cfg_bad(err, file, "api.update.args", "must be a list of strings");
    if (claw_cfg_seconds(cJSON_GetObjectItemCaseSensitive(u, "timeout"), 0, &out->update_timeout) != 0)
        return claw_cfg_bad(err, file, "api.update.timeout", "must be seconds");
    return 0;
}

int claw_api_cfg_parse(const cJSON *api, const char *file, claw_api_cfg *out, claw_err *err)
{
    static const char *const keys[] = { "listen", "token_file", "healthz", "request_timeout",
                                        "update", NULL };
    memset(out, 0, sizeof *out);
    if (!api)
        return 0;
    out->enabled = 1;
    if (!cJSON_IsObject(api))
        return claw_cfg_bad(err, file, "api", "must be a mapping (listen, token_file, healthz, update)");
    if (claw_cfg_only_keys(api, keys, file, "api", err) != 0 || parse_listen(api, file, out, err) != 0)
        return -1;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(api, "healthz");
    if (h && !cJSON_IsBool(h))
        return claw_cfg_bad(err, file, "api.healthz", "must be true or false");
    out->healthz = cJSON_IsTrue(h);
    if (claw_cfg_seconds(cJSON_GetObjectItemCaseSensitive(api, "request_timeout"), 10,
                         &out->request_timeout) != 0 || out->request_timeout <= 0)
        return claw_cfg_bad(err, file, "api.request_timeout", "must be seconds above 0");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(api, "token_file");
    if (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) >= sizeof out->token_file)
        return claw_cfg_bad(err, file, "api.token_file",
                            "is required: the path of a file holding the bearer token");
    snprintf(out->token_file, sizeof out->token_file, "%s", t->valuestring);
    if (read_token(out->token_file, out->token, sizeof out->token, file, err) != 0)
        return -1;
    return parse_update(cJSON_GetObjectItemCaseSensitive(api, "update"), file, out, err);
}

void claw_api_cfg_free(claw_api_cfg *c)
{
    cJSON_Delete(c->listen);
    cJSON_Delete(c->update_args);
    explicit_bzero(c->token, sizeof c->token); /* a memset the compiler may not drop */
    memset(c, 0, sizeof *c);
}

/* ---- requests ---- */

int claw_api_token_ok(const char *want, const char *got, size_t got_len)
{
    /* Not OpenSSL's CRYPTO_memcmp over digests: linking libcrypto for this costs the
     * daemon 1.4 MB of memory (docs/proxy.md). Every byte of the longer input is
     * read, the shorter padded with zeros, and differences are OR-ed without an
     * early exit; volatile keeps the compiler from adding one. */
    size_t want_len = strlen(want), n = want_len > got_len ? want_len : got_len;
    volatile unsigned char diff = want_len != got_len;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = i < want_len ? (unsigned char)want[i] : 0;
        unsigned char b = i < got_len ? (unsigned char)got[i] : 0;
        diff |= (unsigned char)(a ^ b);
    }
    return want_len > 0 && diff == 0;
}

static void json_body(claw_http_reply *resp, int status, cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    resp->status = text ? status : 500;
    claw_buf_printf(&resp->body, "%s\n", text ? text : "{\"error\":\"out of memory\"}");
    free(text);
    cJSON_Delete(o);
}

static int authorized(const claw_api *a, const claw_http_request *req, const char *peer,
                      claw_http_reply *resp)
{
    claw_span tok;
    int given = claw_http_bearer(req, &tok);
    if (given && claw_api_token_ok(a->cfg->token, tok.p, tok.n))
        return 1;
    claw_http_error(resp, 401, given ? "the bearer token is wrong"
                                     : "a bearer token is required (Authorization: Bearer TOKEN)");
    snprintf(resp->headers, sizeof resp->headers, "WWW-Authenticate: Bearer realm=\"clawengine\"%s\r\n",
             given ? ", error=\"invalid_token\"" : "");
    claw_log_printf(a->log, CLAW_LOG_WARN, "api: %s: 401 %.*s %.*s: %s bearer token", peer,
                    (int)req->method.n, req->method.p, (int)(req->path.n > 100 ? 100 : req->path.n),
                    req->path.p, given ? "wrong" : "no");
    return 0;
}

static int add_target(cJSON *targets, const char *name, char *why, size_t size)
{
    if (!claw_admin_name_ok(name, 128)) {
        snprintf(why, size, "\"%.100s\" is not a container name", name);
        return -1;
    }
    if (cJSON_GetArraySize(targets) >= CLAW_API_MAX_TARGETS) {
        snprintf(why, size, "more than %d containers", CLAW_API_MAX_TARGETS);
        return -1;
    }
    cJSON_AddItemToArray(targets, cJSON_CreateString(name));
    return 0;
}

/* ?container=a&container=b,c (commas too, as Watchtower's ?image= has them). */
static int query_targets(claw_span q, cJSON *targets, char *why, size_t size)
{
    size_t pos = 0;
    char key[64], val[1024];
    int rc;
    while ((rc = claw_http_query_next(q, &pos, key, sizeof key, val, sizeof val)) == 1) {
        if (strcmp(key, "container") != 0) {
            snprintf(why, size, "unknown parameter \"%.40s\" (only container=NAME)", key);
            return -1;
        }
        /* (an empty name, as in "?container=" or "a,,b", is refused, not skipped: a
         * script's empty variable must not become an update of everything) */
        for (char *t = val, *comma; t; t = comma ? comma + 1 : NULL) {
            if ((comma = strchr(t, ',')))
                *comma = '\0';
            if (add_target(targets, t, why, size) != 0)
                return -1;
        }
    }
    if (rc < 0)
        snprintf(why, size, "malformed query string");
    return rc;
}

/* A body of {"containers": ["a", "b"]}, or none. */
static int body_targets(claw_span body, cJSON *targets, char *why, size_t size)
{
    if (body.n == 0)
        return 0;
    cJSON *o = memchr(body.p, 0, body.n) ? NULL : cJSON_ParseWithLength(body.p, body.n);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "containers"), *e;
    int rc = cJSON_IsObject(o) && cJSON_IsArray(c) && cJSON_GetArraySize(o) == 1 ? 0 : -1;
    if (rc != 0) {
        snprintf(why, size, "the body must be JSON: {\"containers\": [\"name\", ...]}");
        c = NULL;
    } else if (cJSON_GetArraySize(c) == 0) { /* (as an empty name: never read as "all") */
        snprintf(why, size, "\"containers\" is empty: name one at least, or send no body");
        rc = -1;
    }
    cJSON_ArrayForEach(e, c) {
        if (rc == 0 && !cJSON_IsString(e)) {
            snprintf(why, size, "\"containers\" must be a list of names");
            rc = -1;
        }
        if (rc == 0)
            rc = add_target(targets, e->valuestring, why, size);
    }
    cJSON_Delete(o);
    return rc;
}

static void update(claw_api *a, const claw_http_request *req, const char *peer, claw_http_reply *resp)
{
    char why[200];
    if (a->hooks.stopping(a->hooks.ud)) {
        claw_http_error(resp, 503, "the daemon is stopping: no new runs");
        return;
    }
    cJSON *targets = cJSON_CreateArray();
    if (query_targets(req->query, targets, why, sizeof why) != 0 ||
        body_targets(req->body, targets, why, sizeof why) != 0) {
        cJSON_Delete(targets);
        claw_http_error(resp, 400, why);
        return;
    }
    const char *names[CLAW_API_MAX_TARGETS + 1];
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, targets) names[n++] = e->valuestring;
    names[n] = NULL;
    unsigned long id = 0, running = 0;
    claw_err err;
    if (a->hooks.update(a->hooks.ud, names, &id, &running, &err) == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "run", (double)id);
        cJSON_AddStringToObject(o, "policy", a->cfg->update_policy);
        cJSON_AddItemToObject(o, "containers", targets);
        claw_log_printf(a->log, CLAW_LOG_INFO, "api: %s: update run %lu started", peer, id);
        json_body(resp, 202, o);
        return;
    }
    cJSON_Delete(targets);
    int status = strcmp(err.code, CLAW_E_CONFLICT) == 0 ? 409
                 : strcmp(err.code, CLAW_E_NOT_FOUND) == 0 ? 404 : 500;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", err.message);
    if (running)
        cJSON_AddNumberToObject(o, "run", (double)running);
    json_body(resp, status, o);
}

static void healthz(claw_api *a, claw_http_reply *resp)
{
    int stopping = a->hooks.stopping(a->hooks.ud);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", stopping ? "stopping" : "ok");
    json_body(resp, stopping ? 503 : 200, o);
}

static int method_is(const claw_http_request *req, const char *want, claw_http_reply *resp)
{
    if (claw_span_is(req->method, want))
        return 1;
    char msg[80];
    snprintf(msg, sizeof msg, "only %s is allowed here", want);
    claw_http_error(resp, 405, msg);
    snprintf(resp->headers, sizeof resp->headers, "Allow: %s\r\n", want);
    return 0;
}

void claw_api_handle(void *ud, const claw_http_request *req, const char *peer, claw_http_reply *resp)
{
    claw_api *a = ud;
    int health = claw_span_is(req->path, "/healthz");
    if (!(health && a->cfg->healthz) && !authorized(a, req, peer, resp))
        return;
    if (health) {
        if (method_is(req, "GET", resp))
            healthz(a, resp);
    } else if (claw_span_is(req->path, "/v1/update")) {
        if (method_is(req, "POST", resp))
            update(a, req, peer, resp);
    } else if (claw_span_is(req->path, "/v1/status")) {
        if (method_is(req, "GET", resp))
            json_body(resp, 200, a->hooks.status(a->hooks.ud));
    } else if (claw_span_is(req->path, "/metrics")) {
        if (method_is(req, "GET", resp)) {
            resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
            a->hooks.metrics(a->hooks.ud, &resp->body);
        }
    } else {
        char msg[200];
        snprintf(msg, sizeof msg, "no endpoint %.*s (see docs/http-api.md)",
                 (int)(req->path.n > 100 ? 100 : req->path.n), req->path.p);
        claw_http_error(resp, 404, msg);
    }
}
