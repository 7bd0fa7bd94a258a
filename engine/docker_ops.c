/* The Docker operations the Lua module exposes, each a short composition of API
 * calls; the API details that vary between daemon versions are handled here. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker.h"
#include "ref.h"

/* "/containers/<escaped id><suffix>" */
static char *obj_path(const char *kind, const char *id, const char *suffix)
{
    char *e = claw_docker_escape(id, strcmp(kind, "images") == 0);
    claw_buf b;
    claw_buf_init(&b);
    claw_buf_printf(&b, "/%s/%s%s", kind, e, suffix ? suffix : "");
    free(e);
    return claw_buf_take(&b, NULL);
}

static int simple(claw_docker *d, const char *method, const char *kind, const char *id,
                  const char *suffix, double timeout, claw_err *err)
{
    char *p = obj_path(kind, id, suffix);
    int rc = claw_docker_call(d, method, p, NULL, timeout, NULL, err);
    free(p);
    return rc;
}

int claw_docker_ping(claw_docker *d, claw_err *err)
{
    return claw_docker_api_minor(d, err) < 0 ? -1 : 0;
}

cJSON *claw_docker_containers(claw_docker *d, int all, const cJSON *filters, claw_err *err)
{
    claw_buf p;
    claw_buf_init(&p);
    claw_buf_printf(&p, "/containers/json?all=%d", all ? 1 : 0);
    claw_docker_add_filters(&p, "&", filters);
    cJSON *out = NULL;
    claw_docker_call(d, "GET", p.data, NULL, 60, &out, err);
    claw_buf_free(&p);
    return out;
}

static cJSON *get_json(claw_docker *d, const char *kind, const char *id, claw_err *err)
{
    cJSON *out = NULL;
    char *p = obj_path(kind, id, "/json");
    claw_docker_call(d, "GET", p, NULL, 60, &out, err);
    free(p);
    return out;
}

cJSON *claw_docker_inspect(claw_docker *d, const char *id, claw_err *err)
{
    return get_json(d, "containers", id, err);
}

cJSON *claw_docker_image(claw_docker *d, const char *ref, claw_err *err)
{
    return get_json(d, "images", ref, err);
}

cJSON *claw_docker_images(claw_docker *d, const cJSON *filters, claw_err *err)
{
    claw_buf p;
    claw_buf_init(&p);
    claw_buf_str(&p, "/images/json");
    claw_docker_add_filters(&p, "?", filters);
    cJSON *out = NULL;
    claw_docker_call(d, "GET", p.data, NULL, 60, &out, err);
    claw_buf_free(&p);
    return out;
}

/* ---- pull: a stream of JSON lines, one per progress message ---- */

struct pull_state {
    claw_buf line;
    FILE *progress;
    char error[512];
    char digest[128];
    int updated;
};

static void pull_message(struct pull_state *s, const char *text)
{
    cJSON *m = cJSON_Parse(text);
    if (!m)
        return;
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(m, "error"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(m, "status"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(m, "id"));
    if (e && !s->error[0])
        snprintf(s->error, sizeof s->error, "%s", e);
    if (st && strncmp(st, "Digest: ", 8) == 0)
        snprintf(s->digest, sizeof s->digest, "%s", st + 8);
    if (st && strstr(st, "Downloaded newer image"))
        s->updated = 1;
    if (s->progress && st) {
        const char *prog = cJSON_GetStringValue(cJSON_GetObjectItem(m, "progress"));
        fprintf(s->progress, "\r\033[K%s%s%s %s", id ? id : "", id ? ": " : "", st,
                prog ? prog : "");
        fflush(s->progress);
    }
    cJSON_Delete(m);
}

static int pull_data(void *ud, const char *p, size_t n)
{
    struct pull_state *s = ud;
    claw_buf_add(&s->line, p, n);
    char *nl;
    while (s->line.data && (nl = memchr(s->line.data, '\n', s->line.len))) {
        *nl = 0;
        pull_message(s, s->line.data);
        claw_buf_drop(&s->line, (size_t)(nl - s->line.data) + 1);
    }
    return 0;
}

cJSON *claw_docker_pull(claw_docker *d, const char *ref, const char *auth_b64,
                        FILE *progress, claw_err *err)
{
    claw_ref r;
    if (claw_ref_parse(ref, &r, err) != 0)
        return NULL;
    char name[600];
    claw_ref_name(&r, name, sizeof name);
    char *en = claw_docker_escape(name, 0);
    char *et = claw_docker_escape(r.digest[0] ? r.digest : r.tag, 0);
    claw_buf p;
    claw_buf_init(&p);
    claw_buf_printf(&p, "/images/create?fromImage=%s&tag=%s", en, et);
    free(en);
    free(et);
    struct pull_state s = { .progress = progress };
    claw_buf_init(&s.line);
    claw_docker_req req = { .method = "POST", .path = p.data, .registry_auth = auth_b64,
                            .on_data = pull_data, .ud = &s };
    claw_http_resp resp;
    int rc = claw_docker_raw(d, &req, &resp, err);
    claw_buf_free(&p);
    if (rc == 0) {
        if (s.line.len)
            pull_message(&s, s.line.data);
        claw_http_resp_free(&resp);
    }
    claw_buf_free(&s.line);
    if (progress && rc == 0)
        fputs("\r\033[K", progress);
    if (rc != 0) {
        if (strcmp(err->code, CLAW_E_UNREACHABLE) != 0 && strcmp(err->code, CLAW_E_INTERRUPTED) != 0) {
            claw_err cause = *err;
            claw_fail(err, cause.code, cause.status, "cannot pull %s: %.600s", ref, cause.message);
        }
        return NULL;
    }
    if (s.error[0]) {
        claw_fail(err, strstr(s.error, "not found") || strstr(s.error, "does not exist")
                           ? CLAW_E_NOT_FOUND : CLAW_E_DAEMON,
                  0, "cannot pull %s: %s", ref, s.error);
        return NULL;
    }
    cJSON *img = claw_docker_image(d, ref, err);
    if (!img)
        return NULL;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", cJSON_GetStringValue(cJSON_GetObjectItem(img, "Id")));
    cJSON_AddStringToObject(out, "ref", ref);
    if (s.digest[0])
        cJSON_AddStringToObject(out, "digest", s.digest);
    cJSON_AddBoolToObject(out, "updated", s.updated);
    cJSON_Delete(img);
    return out;
}

int claw_docker_tag(claw_docker *d, const char *src, const char *dst, claw_err *err)
{
    claw_ref r;
    if (claw_ref_parse(dst, &r, err) != 0)
        return -1;
    if (r.digest[0])
        return claw_fail(err, CLAW_E_INVALID, 0, "cannot tag with a digest: %s", dst);
    char name[600];
    claw_ref_name(&r, name, sizeof name);
    char *en = claw_docker_escape(name, 0), *et = claw_docker_escape(r.tag, 0);
    claw_buf q;
    claw_buf_init(&q);
    claw_buf_printf(&q, "/tag?repo=%s&tag=%s", en, et);
    free(en);
    free(et);
    int rc = simple(d, "POST", "images", src, q.data, 60, err);
    claw_buf_free(&q);
    return rc;
}

int claw_docker_remove_image(claw_docker *d, const char *ref, int force, claw_err *err)
{
    return simple(d, "DELETE", "images", ref, force ? "?force=1" : "", 120, err);
}

/* Daemons before API 1.44 take one network at create; the rest are connected after. */
static int connect_rest(claw_docker *d, const char *id, cJSON *rest, claw_err *err)
{
    cJSON *ep;
    cJSON_ArrayForEach(ep, rest) {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "Container", id);
        cJSON_AddItemToObject(body, "EndpointConfig", cJSON_Duplicate(ep, 1));
        char *p = obj_path("networks", ep->string, "/connect");
        int rc = claw_docker_call(d, "POST", p, body, 60, NULL, err);
        free(p);
        cJSON_Delete(body);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Moves all endpoints but the primary one out of body into the returned object. */
static cJSON *split_networks(claw_docker *d, cJSON *body, claw_err *err)
{
    cJSON *eps = cJSON_GetObjectItem(cJSON_GetObjectItem(body, "NetworkingConfig"),
                                     "EndpointsConfig");
    if (cJSON_GetArraySize(eps) < 2 || claw_docker_api_minor(d, err) >= 44)
        return NULL;
    const char *mode = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(body, "HostConfig"), "NetworkMode"));
    const char *keep = mode && cJSON_GetObjectItem(eps, mode) ? mode : eps->child->string;
    cJSON *rest = cJSON_CreateObject();
    for (cJSON *ep = eps->child, *next; ep; ep = next) {
        next = ep->next;
        if (strcmp(ep->string, keep) != 0)
            cJSON_AddItemToObject(rest, ep->string, cJSON_DetachItemViaPointer(eps, ep));
    }
    return rest;
}

char *claw_docker_create(claw_docker *d, const cJSON *spec, claw_err *err)
{
    cJSON *body = cJSON_Duplicate(spec, 1);
    cJSON *name = cJSON_DetachItemFromObject(body, "name");
    claw_buf p;
    claw_buf_init(&p);
    claw_buf_str(&p, "/containers/create");
    if (cJSON_IsString(name) && *name->valuestring) {
        char *e = claw_docker_escape(name->valuestring, 0);
        claw_buf_printf(&p, "?name=%s", e);
        free(e);
    }
    cJSON *rest = split_networks(d, body, err);
    cJSON *out = NULL;
    char *id = NULL;
    if (claw_docker_call(d, "POST", p.data, body, 120, &out, err) == 0) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(out, "Id"));
        id = s ? strdup(s) : NULL;
        if (!id)
            claw_fail(err, CLAW_E_DAEMON, 0, "the Docker daemon created no container ID");
    }
    if (id && rest && connect_rest(d, id, rest, err) != 0) {
        claw_err ignored;
        claw_docker_remove(d, id, 1, 0, &ignored); /* leave nothing half made */
        free(id);
        id = NULL;
    }
    cJSON_Delete(out);
    cJSON_Delete(rest);
    cJSON_Delete(name);
    cJSON_Delete(body);
    claw_buf_free(&p);
    return id;
}

int claw_docker_start(claw_docker *d, const char *id, claw_err *err)
{
    return simple(d, "POST", "containers", id, "/start", 120, err);
}

static double stop_grace(claw_docker *d, const char *id, double timeout)
{
    if (timeout >= 0)
        return timeout;
    claw_err ignored;
    cJSON *c = claw_docker_inspect(d, id, &ignored);
    cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "Config"), "StopTimeout");
    double grace = cJSON_IsNumber(t) ? t->valuedouble : 10;
    cJSON_Delete(c);
    return grace;
}

int claw_docker_stop(claw_docker *d, const char *id, double timeout, const char *signal,
                     claw_err *err)
{
    int minor = claw_docker_api_minor(d, err);
    if (minor < 0)
        return -1;
    double grace = stop_grace(d, id, timeout);
    if (signal && minor < 42) {
        /* No signal= on stop before API 1.42: send it, wait, then kill. */
        if (claw_docker_kill(d, id, signal, err) != 0)
            return strcmp(err->code, CLAW_E_CONFLICT) == 0 ? 0 : -1; /* not running */
        long status;
        claw_err werr;
        if (claw_docker_wait(d, id, grace, &status, &werr) == 0)
            return 0;
        if (strcmp(werr.code, CLAW_E_TIMEOUT) != 0) {
            *err = werr;
            return -1;
        }
        return claw_docker_kill(d, id, "SIGKILL", err) == 0 ||
                       strcmp(err->code, CLAW_E_CONFLICT) == 0 ? 0 : -1;
    }
    claw_buf q;
    claw_buf_init(&q);
    claw_buf_printf(&q, "/stop?t=%ld", (long)ceil(grace));
    if (signal) {
        char *e = claw_docker_escape(signal, 0);
        claw_buf_printf(&q, "&signal=%s", e);
        free(e);
    }
    int rc = simple(d, "POST", "containers", id, q.data, grace + 60, err);
    claw_buf_free(&q);
    return rc;
}

int claw_docker_kill(claw_docker *d, const char *id, const char *signal, claw_err *err)
{
    char *e = claw_docker_escape(signal ? signal : "SIGKILL", 0);
    claw_buf q;
    claw_buf_init(&q);
    claw_buf_printf(&q, "/kill?signal=%s", e);
    free(e);
    int rc = simple(d, "POST", "containers", id, q.data, 60, err);
    claw_buf_free(&q);
    return rc;
}

int claw_docker_restart(claw_docker *d, const char *id, double timeout, claw_err *err)
{
    double grace = stop_grace(d, id, timeout);
    char q[64];
    snprintf(q, sizeof q, "/restart?t=%ld", (long)ceil(grace));
    return simple(d, "POST", "containers", id, q, grace + 120, err);
}

int claw_docker_rename(claw_docker *d, const char *id, const char *name, claw_err *err)
{
    char *e = claw_docker_escape(name, 0);
    claw_buf q;
    claw_buf_init(&q);
    claw_buf_printf(&q, "/rename?name=%s", e);
    free(e);
    int rc = simple(d, "POST", "containers", id, q.data, 60, err);
    claw_buf_free(&q);
    return rc;
}

int claw_docker_update(claw_docker *d, const char *id, const cJSON *body, claw_err *err)
{
    char *p = obj_path("containers", id, "/update");
    int rc = claw_docker_call(d, "POST", p, body, 60, NULL, err);
    free(p);
    return rc;
}

int claw_docker_remove(claw_docker *d, const char *id, int force, int volumes,
                       claw_err *err)
{
    char q[64];
    snprintf(q, sizeof q, "?force=%d&v=%d", force ? 1 : 0, volumes ? 1 : 0);
    return simple(d, "DELETE", "containers", id, q, 120, err);
}

int claw_docker_wait(claw_docker *d, const char *id, double timeout, long *status,
                     claw_err *err)
{
    char *p = obj_path("containers", id, "/wait?condition=not-running");
    cJSON *out = NULL;
    int rc = claw_docker_call(d, "POST", p, NULL, timeout > 0 ? timeout : 0, &out, err);
    free(p);
    if (rc == 0) {
        cJSON *code = cJSON_GetObjectItem(out, "StatusCode");
        *status = cJSON_IsNumber(code) ? (long)code->valuedouble : -1;
    } else if (strcmp(err->code, CLAW_E_TIMEOUT) == 0) {
        claw_fail(err, CLAW_E_TIMEOUT, 0, "container %s still runs after %g s", id, timeout);
    }
    cJSON_Delete(out);
    return rc;
}

/* ---- multiplexed streams (logs, exec): 8-byte frame headers unless a TTY ---- */

static void demux(const char *p, size_t n, int tty, claw_buf *all, claw_buf *out,
                  claw_buf *errb)
{
    if (tty) {
        claw_buf_add(all, p, n);
        if (out)
            claw_buf_add(out, p, n);
        return;
    }
    while (n >= 8) {
        const unsigned char *h = (const unsigned char *)p;
        size_t len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
        if (len > n - 8)
            len = n - 8;
        claw_buf_add(all, p + 8, len);
        claw_buf *dst = h[0] == 2 ? errb : out;
        if (dst)
            claw_buf_add(dst, p + 8, len);
        p += 8 + len;
        n -= 8 + len;
    }
}

static int container_tty(claw_docker *d, const char *id, claw_err *err)
{
    cJSON *c = claw_docker_inspect(d, id, err);
    if (!c)
        return -1;
    int tty = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "Config"), "Tty"));
    cJSON_Delete(c);
    return tty;
}

char *claw_docker_logs(claw_docker *d, const char *id, long tail, size_t *len,
                       claw_err *err)
{
    int tty = container_tty(d, id, err);
    if (tty < 0)
        return NULL;
    char q[96];
    if (tail >= 0)
        snprintf(q, sizeof q, "/logs?stdout=1&stderr=1&tail=%ld", tail);
    else
        snprintf(q, sizeof q, "/logs?stdout=1&stderr=1&tail=all");
    char *p = obj_path("containers", id, q);
    claw_docker_req req = { .method = "GET", .path = p, .timeout = 120 };
    claw_http_resp resp;
    int rc = claw_docker_raw(d, &req, &resp, err);
    free(p);
    if (rc != 0)
        return NULL;
    claw_buf all;
    claw_buf_init(&all);
    demux(resp.body, resp.len, tty, &all, NULL, NULL);
    claw_http_resp_free(&resp);
    return claw_buf_take(&all, len);
}

cJSON *claw_docker_exec(claw_docker *d, const char *id, const cJSON *argv, double timeout,
                        claw_err *err)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "AttachStdout", 1);
    cJSON_AddBoolToObject(body, "AttachStderr", 1);
    cJSON_AddItemToObject(body, "Cmd", cJSON_Duplicate(argv, 1));
    char *p = obj_path("containers", id, "/exec");
    cJSON *created = NULL;
    int rc = claw_docker_call(d, "POST", p, body, 60, &created, err);
    free(p);
    cJSON_Delete(body);
    if (rc != 0)
        return NULL;
    const char *eid = cJSON_GetStringValue(cJSON_GetObjectItem(created, "Id"));
    char *exec_id = strdup(eid ? eid : "");
    cJSON_Delete(created);
    body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "Detach", 0);
    cJSON_AddBoolToObject(body, "Tty", 0);
    p = obj_path("exec", exec_id, "/start");
    claw_docker_req req = { .method = "POST", .path = p, .body = body,
                            .timeout = timeout > 0 ? timeout : 0 };
    claw_http_resp resp;
    rc = claw_docker_raw(d, &req, &resp, err);
    free(p);
    cJSON_Delete(body);
    cJSON *out = NULL;
    if (rc == 0) {
        claw_buf all, o, e;
        claw_buf_init(&all), claw_buf_init(&o), claw_buf_init(&e);
        demux(resp.body, resp.len, 0, &all, &o, &e);
        claw_http_resp_free(&resp);
        p = obj_path("exec", exec_id, "/json");
        cJSON *info = NULL;
        if (claw_docker_call(d, "GET", p, NULL, 60, &info, err) == 0) {
            cJSON *code = cJSON_GetObjectItem(info, "ExitCode");
            out = cJSON_CreateObject();
            cJSON_AddNumberToObject(out, "exit_code", cJSON_IsNumber(code) ? code->valuedouble : -1);
            cJSON_AddStringToObject(out, "stdout", o.data ? o.data : "");
            cJSON_AddStringToObject(out, "stderr", e.data ? e.data : "");
            cJSON_AddStringToObject(out, "output", all.data ? all.data : "");
        }
        free(p);
        cJSON_Delete(info);
        claw_buf_free(&all), claw_buf_free(&o), claw_buf_free(&e);
    }
    free(exec_id);
    return out;
}
