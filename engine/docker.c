#define _GNU_SOURCE
#include "docker.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

struct claw_docker {
    char host[512];
    char sock[256];     /* unix socket path, or "" for TCP */
    char base[512];     /* "http://localhost" or "https://host:port" */
    char cacert[1024], cert[1024], key[1024];
    int api_minor;      /* 0 until negotiated */
    claw_http *http;
    const claw_cancel *cancel;
};

static int parse_host(claw_docker *d, const char *host, claw_err *err)
{
    snprintf(d->host, sizeof d->host, "%s", host);
    if (strncmp(host, "unix://", 7) == 0) {
        if (snprintf(d->sock, sizeof d->sock, "%s", host + 7) >= (int)sizeof d->sock ||
            !d->sock[0])
            return claw_fail(err, CLAW_E_INVALID, 0, "invalid Docker host \"%s\"", host);
        snprintf(d->base, sizeof d->base, "http://localhost");
        return 0;
    }
    if (strncmp(host, "tcp://", 6) == 0 && host[6]) {
        const char *verify = getenv("DOCKER_TLS_VERIFY");
        int tls = verify && *verify && strcmp(verify, "0") != 0;
        snprintf(d->base, sizeof d->base, "%s://%s", tls ? "https" : "http", host + 6);
        size_t n = strlen(d->base);
        if (n && d->base[n - 1] == '/')
            d->base[n - 1] = 0;
        if (tls) {
            const char *dir = getenv("DOCKER_CERT_PATH");
            char home[900];
            if (!dir || !*dir) {
                snprintf(home, sizeof home, "%s/.docker", getenv("HOME") ? getenv("HOME") : "");
                dir = home;
            }
            snprintf(d->cacert, sizeof d->cacert, "%s/ca.pem", dir);
            snprintf(d->cert, sizeof d->cert, "%s/cert.pem", dir);
            snprintf(d->key, sizeof d->key, "%s/key.pem", dir);
        }
        return 0;
    }
    return claw_fail(err, CLAW_E_INVALID, 0,
                     "invalid Docker host \"%s\" (expected unix:///path or tcp://host:port)",
                     host);
}

/* -H, else $DOCKER_HOST, else Docker's own socket. */
static const char *which_host(const char *host)
{
    if (!host || !*host)
        host = getenv("DOCKER_HOST");
    return host && *host ? host : "unix:///var/run/docker.sock";
}

int claw_docker_check_host(const char *host, claw_err *err)
{
    claw_docker d = { 0 };
    return parse_host(&d, which_host(host), err);
}

claw_docker *claw_docker_new(const char *host, const claw_cancel *cancel, claw_err *err)
{
    host = which_host(host);
    claw_docker *d = calloc(1, sizeof *d);
    if (!d) {
        claw_fail(err, CLAW_E_IO, 0, "out of memory");
        return NULL;
    }
    d->cancel = cancel;
    if (parse_host(d, host, err) != 0 || !(d->http = claw_http_new(cancel))) {
        if (d->http == NULL && err && !err->code[0])
            claw_fail(err, CLAW_E_IO, 0, "cannot initialise libcurl");
        claw_docker_free(d);
        return NULL;
    }
    return d;
}

void claw_docker_free(claw_docker *d)
{
    if (!d)
        return;
    claw_http_free(d->http);
    free(d);
}

const char *claw_docker_host(const claw_docker *d)
{
    return d->host;
}

/* Says why a unix socket cannot be reached in words a user can act on. */
static int unreachable(claw_docker *d, const claw_err *cause, claw_err *err)
{
    const char *why = cause->message;
    char buf[256];
    if (d->sock[0]) {
        struct stat st;
        int oserr = cause->status; /* http.c passes the OS errno there */
        if (stat(d->sock, &st) != 0)
            why = "no such socket (is dockerd running?)";
        else if (!S_ISSOCK(st.st_mode))
            why = "not a socket";
        else if (oserr == EACCES || oserr == EPERM)
            why = "permission denied (run as root or as a member of the docker group)";
        else if (oserr == ECONNREFUSED)
            why = "connection refused (is dockerd running?)";
        else if (oserr) {
            snprintf(buf, sizeof buf, "%s", strerror(oserr));
            why = buf;
        }
    }
    return claw_fail(err, CLAW_E_UNREACHABLE, 0, "cannot connect to the Docker daemon at %s: %s",
                     d->host, why);
}

/* What every request to this daemon shares: where it is and how to trust it. */
static claw_http_req base_req(const claw_docker *d, const char *method, const char *url)
{
    return (claw_http_req){
        .method = method, .url = url, .unix_socket = d->sock[0] ? d->sock : NULL,
        .cacert = d->cacert[0] ? d->cacert : NULL, .cert = d->cert[0] ? d->cert : NULL,
        .key = d->key[0] ? d->key : NULL,
    };
}

static int transfer(claw_docker *d, const claw_docker_req *r, const char *url,
                    const char *body, claw_http_resp *resp, claw_err *err)
{
    char auth[4096] = "";
    const char *hdrs[3] = { NULL };
    int nh = 0;
    if (body)
        hdrs[nh++] = "Content-Type: application/json";
    if (r->registry_auth) {
        snprintf(auth, sizeof auth, "X-Registry-Auth: %s", r->registry_auth);
        hdrs[nh++] = auth;
    }
    claw_http_req req = base_req(d, r->method, url);
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.headers = hdrs;
    req.timeout = r->timeout;
    req.on_data = r->on_data;
    req.ud = r->ud;
    claw_err cause = { 0 };
    if (claw_http_do(d->http, &req, resp, &cause) == 0)
        return 0;
    if (strcmp(cause.code, CLAW_E_UNREACHABLE) == 0)
        return unreachable(d, &cause, err);
    if (err)
        *err = cause;
    return -1;
}

int claw_docker_api_minor(claw_docker *d, claw_err *err)
{
    if (d->api_minor)
        return d->api_minor;
    char url[600], ver[32];
    snprintf(url, sizeof url, "%s/_ping", d->base);
    claw_http_resp resp;
    claw_docker_req ping = { .method = "GET", .timeout = 30 };
    if (transfer(d, &ping, url, NULL, &resp, err) != 0)
        return -1;
    int major = 0, minor = 0;
    const char *v = claw_http_header(&resp, "Api-Version", ver, sizeof ver);
    long status = resp.status;
    claw_http_resp_free(&resp);
    if (status != 200 || !v || sscanf(v, "%d.%d", &major, &minor) != 2 || major != 1)
        return claw_fail(err, CLAW_E_UNREACHABLE, (int)status,
                         "%s does not answer like a Docker daemon (GET /_ping: status %ld)",
                         d->host, status);
    d->api_minor = minor < CLAW_DOCKER_API_MAX_MINOR ? minor : CLAW_DOCKER_API_MAX_MINOR;
    return d->api_minor;
}

/* The daemon's error message out of {"message": "..."}, else the raw text. */
static int answer_error(const claw_http_resp *resp, claw_err *err)
{
    cJSON *j = cJSON_Parse(resp->body ? resp->body : "");
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
    char text[600];
    snprintf(text, sizeof text, "%s", msg ? msg : (resp->body && *resp->body ? resp->body : "no message"));
    cJSON_Delete(j);
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        text[--n] = 0;
    const char *code = resp->status == 404 ? CLAW_E_NOT_FOUND
                     : resp->status == 409 ? CLAW_E_CONFLICT
                     : resp->status == 400 ? CLAW_E_INVALID : CLAW_E_DAEMON;
    return claw_fail(err, code, (int)resp->status, "%s", text);
}

int claw_docker_raw(claw_docker *d, const claw_docker_req *r, claw_http_resp *resp,
                    claw_err *err)
{
    int minor = claw_docker_api_minor(d, err);
    if (minor < 0)
        return -1;
    claw_buf url;
    claw_buf_init(&url);
    claw_buf_printf(&url, "%s/v1.%d%s", d->base, minor, r->path);
    char *text = r->body ? cJSON_PrintUnformatted(r->body) : NULL;
    int rc = transfer(d, r, url.data, text, resp, err);
    free(text);
    claw_buf_free(&url);
    if (rc != 0)
        return -1;
    if (resp->status >= 400) {
        answer_error(resp, err);
        claw_http_resp_free(resp);
        return -1;
    }
    return 0;
}

int claw_docker_call(claw_docker *d, const char *method, const char *path,
                     const cJSON *body, double timeout, cJSON **out, claw_err *err)
{
    claw_http_resp resp;
    claw_docker_req r = { .method = method, .path = path, .body = body, .timeout = timeout };
    if (out)
        *out = NULL;
    if (claw_docker_raw(d, &r, &resp, err) != 0)
        return -1;
    int rc = 0;
    if (out && resp.len > 0) {
        *out = cJSON_ParseWithLength(resp.body, resp.len);
        if (!*out)
            rc = claw_fail(err, CLAW_E_DAEMON, (int)resp.status,
                           "the Docker daemon answered %s %s with malformed JSON", method, path);
    }
    claw_http_resp_free(&resp);
    return rc;
}

void claw_docker_add_filters(claw_buf *query, const char *sep, const cJSON *filters)
{
    if (!filters || cJSON_GetArraySize(filters) == 0)
        return;
    char *f = cJSON_PrintUnformatted(filters);
    char *e = f ? claw_docker_escape(f, 0) : NULL;
    if (e)
        claw_buf_printf(query, "%sfilters=%s", sep, e);
    free(f);
    free(e);
}

char *claw_docker_escape(const char *s, int path)
{
    static const char hex[] = "0123456789ABCDEF";
    claw_buf b;
    claw_buf_init(&b);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int keep = isalnum(*p) || strchr("-._~", *p) || (path && strchr("/:@", *p));
        char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
        claw_buf_add(&b, keep ? (const char *)p : enc, keep ? 1 : 3);
    }
    return claw_buf_take(&b, NULL);
}

int claw_docker_sleep(claw_docker *d, double seconds)
{
    return claw_cancel_sleep(d->cancel, seconds);
}

int claw_docker_stream_begin(claw_docker *d, const char *path, claw_http **http,
                             claw_http_req *req, char **url,
                             int (*on_data)(void *, const char *, size_t), void *ud,
                             claw_http_resp *resp, claw_err *err)
{
    int minor = claw_docker_api_minor(d, err);
    if (minor < 0)
        return -1;
    claw_buf u;
    claw_buf_init(&u);
    claw_buf_printf(&u, "%s/v1.%d%s", d->base, minor, path);
    *url = claw_buf_take(&u, NULL);
    *http = claw_http_new(d->cancel);
    *req = base_req(d, "GET", *url);
    req->on_data = on_data;
    req->ud = ud;
    if (!*http || claw_http_begin(*http, req, resp, err) != 0) {
        if (!*http)
            claw_fail(err, CLAW_E_IO, 0, "cannot initialise libcurl");
        claw_http_free(*http);
        free(*url);
        *http = NULL;
        *url = NULL;
        return -1;
    }
    return 0;
}
