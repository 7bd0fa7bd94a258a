/* Health probes (health.h): HTTP through the caller's claw_http (libcurl, one
 * reused connection), TCP with a non-blocking connect watched beside the cancel
 * pipe, Docker's own health status, and a command run in the container. */
#define _GNU_SOURCE
#include "health.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"

#define DEFAULT_TIMEOUT 2.0
#define DEFAULT_INTERVAL 0.1
#define SHOWN_MAX 160 /* bytes of a value or of a command's output kept in a message */

/* ---- templates ---- */

int claw_probe_url(const char *tmpl, const char *host, int port, char *out, size_t size,
                   claw_err *err)
{
    claw_buf b;
    claw_buf_init(&b);
    int rc = 0;
    for (const char *p = tmpl; *p && rc == 0; p++) {
        if (*p != '{') {
            claw_buf_add(&b, p, 1);
        } else if (strncmp(p, "{host}", 6) == 0) {
            if (!host || !*host)
                rc = claw_fail(err, CLAW_E_INVALID, 0, "no host for {host} in \"%s\"", tmpl);
            else if (strchr(host, ':') && host[0] != '[') /* IPv6 */
                claw_buf_printf(&b, "[%s]", host);
            else
                claw_buf_str(&b, host);
            p += 5;
        } else if (strncmp(p, "{port}", 6) == 0) {
            if (port <= 0)
                rc = claw_fail(err, CLAW_E_INVALID, 0, "no port for {port} in \"%s\"", tmpl);
            else
                claw_buf_printf(&b, "%d", port);
            p += 5;
        } else {
            rc = claw_fail(err, CLAW_E_INVALID, 0,
                           "unknown placeholder in \"%s\" (want {host} or {port})", tmpl);
        }
    }
    if (rc == 0 && (b.len >= size || !b.data))
        rc = claw_fail(err, CLAW_E_INVALID, 0, "\"%s\" is too long once filled", tmpl);
    if (rc == 0)
        memcpy(out, b.data, b.len + 1);
    claw_buf_free(&b);
    return rc;
}

/* ---- expectations on a JSON answer ---- */

/* A value as JSON, shortened for a message; the caller frees it. */
static char *shown(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (s && strlen(s) > SHOWN_MAX)
        strcpy(s + SHOWN_MAX - 3, "...");
    return s;
}

/* node["a"], else the dotted path a.b.0 through objects and arrays. */
static const cJSON *lookup(const cJSON *node, const char *path)
{
    const cJSON *whole = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, path) : NULL;
    if (whole)
        return whole;
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return NULL;
    char *save = NULL;
    for (char *seg = strtok_r(buf, ".", &save); seg && node; seg = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(node)) {
            char *end;
            long i = strtol(seg, &end, 10);
            node = *end || i < 0 ? NULL : cJSON_GetArrayItem(node, (int)i);
        } else {
            node = cJSON_GetObjectItemCaseSensitive(node, seg);
        }
    }
    return node;
}

static int match_in(const cJSON *body, const cJSON *expect, const char *prefix, claw_err *err)
{
    for (const cJSON *want = expect->child; want; want = want->next) {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", want->string);
        const cJSON *got = lookup(body, want->string);
        if (got && cJSON_IsObject(want) && cJSON_IsObject(got)) {
            if (match_in(got, want, path, err) != 0) /* a nested object: its fields */
                return -1;
            continue;
        }
        if (got && cJSON_Compare(got, want, 1))
            continue;
        char *w = shown(want), *g = got ? shown(got) : NULL;
        if (got)
            claw_fail(err, CLAW_E_UNHEALTHY, 0, "field %s is %s, want %s", path, g ? g : "?",
                      w ? w : "?");
        else
            claw_fail(err, CLAW_E_UNHEALTHY, 0, "field %s is missing, want %s", path, w ? w : "?");
        free(w);
        free(g);
        return -1;
    }
    return 0;
}

int claw_probe_match(const cJSON *body, const cJSON *expect, claw_err *err)
{
    if (!expect || !expect->child)
        return 0;
    if (!cJSON_IsObject(expect))
        return claw_fail(err, CLAW_E_INVALID, 0, "the expected fields must be a JSON object");
    return match_in(body, expect, "", err);
}

/* Prefixes an error's message with what was tried: "GET URL: <message>". */
static int fail_at(claw_err *err, const char *code, const char *what, const char *why)
{
    return claw_fail(err, code, 0, "%s: %s", what, why);
}

/* ---- http ---- */

static int probe_http(const claw_probe_ctx *cx, const claw_probe *p, double timeout,
                      cJSON **body, claw_err *err)
{
    const char *url = p->target;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return claw_fail(err, CLAW_E_INVALID, 0, "invalid probe URL \"%s\" (want http:// or https://)", url);
    if (strchr(url, '{'))
        return claw_fail(err, CLAW_E_INVALID, 0, "unfilled placeholder in probe URL \"%s\"", url);
    if (!cx->http)
        return claw_fail(err, CLAW_E_INVALID, 0, "an http probe needs an HTTP client");
    char what[600];
    snprintf(what, sizeof what, "GET %s", url);
    const char *hdrs[] = { "Accept: application/json, */*", NULL };
    claw_http_req req = { .method = "GET", .url = url, .headers = hdrs, .timeout = timeout,
                          .connect_timeout = timeout };
    claw_http_resp resp;
    claw_err cause = { 0 };
    if (claw_http_do(cx->http, &req, &resp, &cause) != 0) {
        claw_http_resp_free(&resp); /* what came before the failure */
        char why[160];
        if (strcmp(cause.code, CLAW_E_INTERRUPTED) == 0) {
            *err = cause;
            return -1;
        }
        if (strcmp(cause.code, CLAW_E_TIMEOUT) == 0) {
            snprintf(why, sizeof why, "no answer within %g s", timeout);
            return fail_at(err, CLAW_E_TIMEOUT, what, why);
        }
        /* http.c leaves the OS errno of a failed connect in status. */
        if (strcmp(cause.code, CLAW_E_UNREACHABLE) == 0 && cause.status > 0)
            return fail_at(err, CLAW_E_UNHEALTHY, what,
                           cause.status == ECONNREFUSED ? "connection refused" : strerror(cause.status));
        return fail_at(err, CLAW_E_UNHEALTHY, what, cause.message);
    }
    int rc = 0;
    int status_ok = p->expect_status > 0 ? resp.status == p->expect_status
                                         : resp.status >= 200 && resp.status < 300;
    cJSON *json = cJSON_ParseWithLength(resp.body ? resp.body : "", resp.len);
    if (json && !cJSON_IsObject(json) && !cJSON_IsArray(json)) {
        cJSON_Delete(json);
        json = NULL;
    }
    if (!status_ok) {
        char why[64];
        if (p->expect_status > 0)
            snprintf(why, sizeof why, "status %ld, want %d", resp.status, p->expect_status);
        else
            snprintf(why, sizeof why, "status %ld, want 2xx", resp.status);
        rc = fail_at(err, CLAW_E_UNHEALTHY, what, why);
    } else if (p->expect && p->expect->child) {
        claw_err why = { 0 };
        if (!json)
            rc = fail_at(err, CLAW_E_UNHEALTHY, what, "the answer is not JSON");
        else if (claw_probe_match(json, p->expect, &why) != 0)
            rc = fail_at(err, why.code, what, why.message);
    }
    claw_http_resp_free(&resp);
    if (rc == 0 && body)
        *body = json;
    else
        cJSON_Delete(json);
    return rc;
}

/* ---- tcp ---- */

/* "host:port" or "[v6]:port" into host and port. */
static int split_addr(const char *addr, char *host, size_t size, char *port, size_t psize)
{
    const char *colon;
    const char *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
            return -1;
        hlen = (size_t)(colon - addr);
    }
    char *end;
    long n = strtol(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= size || !colon[1] || *end || n < 1 || n > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    snprintf(port, psize, "%ld", n);
    return 0;
}

/* One connect to one address: 0, or an errno (ETIMEDOUT when the deadline passed,
 * EINTR when interrupted). */
static int connect_one(const struct addrinfo *ai, double deadline, const claw_cancel *cancel)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int e = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    while (e == EINPROGRESS) {
        if (claw_cancel_pending(cancel)) {
            e = EINTR;
            break;
        }
        double left = deadline - claw_clock_monotonic();
        if (left <= 0) {
            e = ETIMEDOUT;
            break;
        }
        struct pollfd pf[2] = { { .fd = fd, .events = POLLOUT },
                                { .fd = cancel ? cancel->rfd : -1, .events = POLLIN } };
        int n = poll(pf, 2, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            e = errno;
        } else if (n > 0 && pf[0].revents) {
            socklen_t len = sizeof e;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                e = errno;
        }
    }
    close(fd);
    return e;
}

static int probe_tcp(const claw_probe_ctx *cx, const claw_probe *p, double timeout, claw_err *err)
{
    char host[256], port[8], what[300];
    if (split_addr(p->target, host, sizeof host, port, sizeof port) != 0)
        return claw_fail(err, CLAW_E_INVALID, 0, "invalid address \"%s\" (want host:port)", p->target);
    snprintf(what, sizeof what, "connect %s", p->target);
    double deadline = claw_clock_monotonic() + timeout;
    /* Names are resolved by the system resolver, which cannot be interrupted; the
     * addresses probed in practice (container IPs, 127.0.0.1) need no lookup. */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        char why[400];
        snprintf(why, sizeof why, "cannot resolve %s: %s", host, gai_strerror(g));
        return fail_at(err, CLAW_E_UNHEALTHY, what, why);
    }
    int e = ENOENT;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        e = connect_one(ai, deadline, cx->cancel);
        if (e == 0 || e == EINTR || e == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (e == 0)
        return 0;
    if (e == EINTR)
        return claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
    char why[160];
    if (e == ETIMEDOUT) {
        snprintf(why, sizeof why, "no answer within %g s", timeout);
        return fail_at(err, CLAW_E_TIMEOUT, what, why);
    }
    return fail_at(err, CLAW_E_UNHEALTHY, what, e == ECONNREFUSED ? "connection refused" : strerror(e));
}

/* ---- docker: the container's own healthcheck ---- */

/* Text from Docker for a message: on one line, trimmed, shortened. */
static void one_line(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; in && *in && n + 1 < size; in++)
        out[n++] = *in == '\n' || *in == '\r' || *in == '\t' ? ' ' : *in;
    int cut = in && *in;
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = 0;
    if (cut && size > 4)
        strcpy(out + (n < size - 4 ? n : size - 4), "...");
}

/* A Docker call that passed its deadline says so in the words of the probe. */
static int docker_failed(claw_err *err, const char *what, double timeout)
{
    if (strcmp(err->code, CLAW_E_TIMEOUT) == 0) {
        char why[64];
        snprintf(why, sizeof why, "no answer within %g s", timeout);
        return fail_at(err, CLAW_E_TIMEOUT, what, why);
    }
    return -1;
}

static int probe_docker(const claw_probe_ctx *cx, const claw_probe *p, double timeout,
                        claw_err *err)
{
    const char *id = p->target;
    char *esc = claw_docker_escape(id, 0);
    claw_buf path;
    claw_buf_init(&path);
    claw_buf_printf(&path, "/containers/%s/json", esc);
    free(esc);
    cJSON *c = NULL;
    int rc = claw_docker_call(cx->docker, "GET", path.data, NULL, timeout, &c, err);
    claw_buf_free(&path);
    char what[300];
    snprintf(what, sizeof what, "container %s", id);
    if (rc != 0)
        return docker_failed(err, what, timeout);
    const cJSON *state = cJSON_GetObjectItem(c, "State");
    const cJSON *hc = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "Config"), "Healthcheck");
    const cJSON *test = cJSON_GetArrayItem(cJSON_GetObjectItem(hc, "Test"), 0);
    const cJSON *health = cJSON_GetObjectItem(state, "Health");
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(health, "Status"));
    if (!hc || (cJSON_IsString(test) && strcmp(test->valuestring, "NONE") == 0)) {
        rc = claw_fail(err, CLAW_E_INVALID, 0, "container %s has no healthcheck", id);
    } else if (!cJSON_IsTrue(cJSON_GetObjectItem(state, "Running"))) {
        rc = claw_fail(err, CLAW_E_UNHEALTHY, 0, "container %s is not running", id);
    } else if (!status || strcmp(status, "healthy") != 0) {
        const cJSON *log = cJSON_GetObjectItem(health, "Log");
        const cJSON *last = cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1);
        char out[SHOWN_MAX];
        one_line(cJSON_GetStringValue(cJSON_GetObjectItem(last, "Output")), out, sizeof out);
        rc = claw_fail(err, CLAW_E_UNHEALTHY, 0, "container %s is %s%s%s", id,
                       status ? status : "without health status", *out ? ": " : "", out);
    }
    cJSON_Delete(c);
    return rc;
}

/* ---- exec: a command in the container, healthy when it exits with 0 ---- */

static int probe_exec(const claw_probe_ctx *cx, const claw_probe *p, double timeout,
                      claw_err *err)
{
    if (!p->argv || !p->argv[0])
        return claw_fail(err, CLAW_E_INVALID, 0, "an exec probe needs a command");
    cJSON *argv = cJSON_CreateArray();
    claw_buf cmd;
    claw_buf_init(&cmd);
    for (const char *const *a = p->argv; *a; a++) {
        cJSON_AddItemToArray(argv, cJSON_CreateString(*a));
        claw_buf_printf(&cmd, "%s%s", a == p->argv ? "" : " ", *a);
    }
    char what[400];
    snprintf(what, sizeof what, "exec %.*s in %s", SHOWN_MAX, cmd.data, p->target);
    claw_buf_free(&cmd);
    cJSON *r = claw_docker_exec(cx->docker, p->target, argv, timeout, err);
    cJSON_Delete(argv);
    if (!r) {
        if (strcmp(err->code, CLAW_E_CONFLICT) == 0) { /* "Container ... is not running" */
            char why[sizeof err->message];
            snprintf(why, sizeof why, "%s", err->message);
            return fail_at(err, CLAW_E_UNHEALTHY, what, why);
        }
        return docker_failed(err, what, timeout);
    }
    const cJSON *exit_code = cJSON_GetObjectItem(r, "exit_code");
    int code = cJSON_IsNumber(exit_code) ? exit_code->valueint : -1;
    char out[SHOWN_MAX];
    one_line(cJSON_GetStringValue(cJSON_GetObjectItem(r, "output")), out, sizeof out);
    cJSON_Delete(r);
    if (code == 0)
        return 0;
    return claw_fail(err, CLAW_E_UNHEALTHY, 0, "%s: exit code %d%s%s", what, code,
                     *out ? ": " : "", out);
}

/* ---- one attempt, and the wait ---- */

int claw_probe_once(const claw_probe_ctx *cx, const claw_probe *p, cJSON **body,
                    claw_err *err)
{
    if (body)
        *body = NULL;
    if (claw_cancel_pending(cx->cancel))
        return claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
    const char *kind = p->kind ? p->kind : "";
    double timeout = p->timeout > 0 ? p->timeout : DEFAULT_TIMEOUT;
    if (!p->target || !*p->target)
        return claw_fail(err, CLAW_E_INVALID, 0, "a %s probe needs a target", kind);
    if (strcmp(kind, "http") == 0)
        return probe_http(cx, p, timeout, body, err);
    if (strcmp(kind, "tcp") == 0)
        return probe_tcp(cx, p, timeout, err);
    int docker = strcmp(kind, "docker") == 0, exec = strcmp(kind, "exec") == 0;
    if ((docker || exec) && !cx->docker)
        return claw_fail(err, CLAW_E_INVALID, 0, "a %s probe needs a Docker client", kind);
    if (docker)
        return probe_docker(cx, p, timeout, err);
    if (exec)
        return probe_exec(cx, p, timeout, err);
    return claw_fail(err, CLAW_E_INVALID, 0, "unknown probe kind \"%s\" (want http, tcp, docker or exec)", kind);
}

/* Failures another attempt may cure; the others (a bad probe, no such container,
 * no Docker daemon, an interrupt) end a wait at once. */
static int worth_retrying(const claw_err *e)
{
    return strcmp(e->code, CLAW_E_UNHEALTHY) == 0 || strcmp(e->code, CLAW_E_TIMEOUT) == 0;
}

int claw_probe_wait(const claw_probe_ctx *cx, const claw_probe *p,
                    const claw_probe_wait_opts *w, cJSON **body, double *elapsed,
                    claw_err *err)
{
    static const claw_probe_wait_opts none = { 0 };
    if (!w)
        w = &none;
    double interval = w->interval > 0 ? w->interval : DEFAULT_INTERVAL;
    double start = claw_clock_monotonic();
    double deadline = w->timeout > 0 ? start + w->timeout : 0;
    double per_attempt = p->timeout > 0 ? p->timeout : DEFAULT_TIMEOUT;
    int failures = 0, rc;
    claw_err last = { 0 };
    for (;;) {
        double t0 = claw_clock_monotonic();
        claw_probe attempt = *p;
        /* No attempt outlives the wait. */
        if (deadline > 0 && deadline - t0 < per_attempt)
            attempt.timeout = deadline - t0 > 0.001 ? deadline - t0 : 0.001;
        rc = claw_probe_once(cx, &attempt, body, &last);
        if (rc == 0 || !worth_retrying(&last)) {
            if (rc != 0 && err)
                *err = last;
            break;
        }
        if (t0 - start >= w->start_period)
            failures++;
        if (w->retries > 0 && failures >= w->retries) {
            rc = claw_fail(err, CLAW_E_UNHEALTHY, 0, "%s (%d failure%s in a row)", last.message,
                           failures, failures == 1 ? "" : "s");
            break;
        }
        double next = t0 + interval;
        if (deadline > 0 && next > deadline)
            next = deadline;
        if (claw_cancel_sleep(cx->cancel, next - claw_clock_monotonic()) != 0) {
            rc = claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
            break;
        }
        if (deadline > 0 && claw_clock_monotonic() >= deadline) {
            rc = claw_fail(err, CLAW_E_TIMEOUT, 0, "not healthy within %g s: %s", w->timeout,
                           last.message);
            break;
        }
    }
    if (elapsed)
        *elapsed = claw_clock_monotonic() - start;
    return rc;
}

/* ---- where a container answers ---- */

/* The lowest TCP port the container exposes, or 0. */
static int exposed_port(const cJSON *c)
{
    const cJSON *ports = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "Config"), "ExposedPorts");
    int best = 0;
    for (const cJSON *e = ports ? ports->child : NULL; e; e = e->next) {
        int n;
        char proto[8];
        if (sscanf(e->string, "%d/%7s", &n, proto) == 2 && strcmp(proto, "tcp") == 0 &&
            n > 0 && (best == 0 || n < best))
            best = n;
    }
    return best;
}

static int set_host(char *host, size_t size, const char *value, const char *name, claw_err *err)
{
    if (snprintf(host, size, "%s", value) >= (int)size)
        return claw_fail(err, CLAW_E_INVALID, 0, "the address of container %s is too long", name);
    return 0;
}

/* A host port publishing `port`, reachable from here: 1 found, 0 none. */
static int published(const cJSON *c, int port, char *host, size_t size, int *port_out)
{
    char key[24];
    snprintf(key, sizeof key, "%d/tcp", port);
    const cJSON *binds = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "NetworkSettings"), "Ports"), key);
    const cJSON *pick = NULL;
    const char *pick_host = NULL;
    int best = -1;
    for (const cJSON *b = cJSON_IsArray(binds) ? binds->child : NULL; b; b = b->next) {
        const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(b, "HostIp"));
        const char *via = !ip || !*ip || strcmp(ip, "0.0.0.0") == 0 ? "127.0.0.1"
                        : strcmp(ip, "::") == 0 ? "::1" : ip;
        /* Loopback first, IPv4 before IPv6: it works whatever the host's addresses. */
        int rank = strcmp(via, "127.0.0.1") == 0 ? 2 : strcmp(via, "::1") == 0 ? 1 : 0;
        if (rank > best) {
            pick = b;
            pick_host = via;
            best = rank;
        }
    }
    const char *hp = cJSON_GetStringValue(cJSON_GetObjectItem(pick, "HostPort"));
    if (!pick || !hp || atoi(hp) <= 0)
        return 0;
    snprintf(host, size, "%s", pick_host);
    *port_out = atoi(hp);
    return 1;
}

int claw_container_address(const cJSON *c, int port, const char *network, char *host,
                           size_t size, int *port_out, claw_err *err)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "Name"));
    name = name ? name + (name[0] == '/') : "?";
    if (port <= 0)
        port = exposed_port(c);
    *port_out = port;
    if (!cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "State"), "Running")))
        return claw_fail(err, CLAW_E_NOT_FOUND, 0, "container %s is not running, so it has no address", name);
    const cJSON *nets = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "NetworkSettings"), "Networks");
    const char *mode = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "HostConfig"), "NetworkMode"));
    if (network) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(nets, network);
        if (!n)
            return claw_fail(err, CLAW_E_NOT_FOUND, 0, "container %s is not on network %s", name, network);
        const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(n, "IPAddress"));
        if (!ip || !*ip)
            ip = cJSON_GetStringValue(cJSON_GetObjectItem(n, "GlobalIPv6Address"));
        if (!ip || !*ip)
            return claw_fail(err, CLAW_E_NOT_FOUND, 0, "container %s has no address on network %s",
                             name, network);
        return set_host(host, size, ip, name, err);
    }
    /* IPv4 on any network first, then IPv6: Docker sorts the networks by name. */
    static const char *const fields[] = { "IPAddress", "GlobalIPv6Address" };
    for (int f = 0; f < 2; f++)
        for (const cJSON *n = nets ? nets->child : NULL; n; n = n->next) {
            const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(n, fields[f]));
            if (ip && *ip)
                return set_host(host, size, ip, name, err);
        }
    if (mode && strcmp(mode, "host") == 0)
        return set_host(host, size, "127.0.0.1", name, err);
    if (port > 0 && published(c, port, host, size, port_out))
        return 0;
    if (port <= 0)
        return claw_fail(err, CLAW_E_NOT_FOUND, 0,
                         "container %s has no IP address and exposes no port", name);
    return claw_fail(err, CLAW_E_NOT_FOUND, 0,
                     "container %s has no IP address and publishes no port %d", name, port);
}

int claw_docker_address(claw_docker *d, const char *container, int port, const char *network,
                        char *host, size_t size, int *port_out, claw_err *err)
{
    cJSON *c = claw_docker_inspect(d, container, err);
    if (!c)
        return -1;
    int rc = claw_container_address(c, port, network, host, size, port_out, err);
    cJSON_Delete(c);
    return rc;
}
