#include "clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_empty(const cJSON *v)
{
    return !v || cJSON_IsNull(v) ||
           ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child) ||
           (cJSON_IsString(v) && !*v->valuestring);
}

static int same(const cJSON *a, const cJSON *b)
{
    if (is_empty(a) || is_empty(b))
        return is_empty(a) && is_empty(b);
    return cJSON_Compare(a, b, 1);
}

static void copy(cJSON *dst, const cJSON *src, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
    if (v && !cJSON_IsNull(v))
        cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, 1));
}

/* Copies key when the container's value differs from the image's. */
static void copy_if_set(cJSON *dst, const cJSON *cfg, const cJSON *icfg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!same(v, cJSON_GetObjectItemCaseSensitive(icfg, key)) && v && !cJSON_IsNull(v))
        cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, 1));
}

/* Env: the entries the image does not already set to the same value. */
static void copy_env(cJSON *dst, const cJSON *cfg, const cJSON *icfg)
{
    const cJSON *env = cJSON_GetObjectItem(cfg, "Env"), *ienv = cJSON_GetObjectItem(icfg, "Env");
    cJSON *out = cJSON_CreateArray(), *e;
    cJSON_ArrayForEach(e, env) {
        int from_image = 0;
        const cJSON *ie;
        cJSON_ArrayForEach(ie, ienv) from_image |= cJSON_Compare(e, ie, 1);
        if (!from_image)
            cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
    }
    cJSON_AddItemToObject(dst, "Env", out);
}

/* Object members (labels, exposed ports, volumes) the image does not set alike. */
static void copy_members(cJSON *dst, const cJSON *cfg, const cJSON *icfg, const char *key)
{
    const cJSON *m = cJSON_GetObjectItem(cfg, key), *im = cJSON_GetObjectItem(icfg, key), *e;
    cJSON *out = cJSON_CreateObject();
    cJSON_ArrayForEach(e, m) {
        /* Present matters: exposed ports and volumes are all {}, and a label may be "". */
        const cJSON *ie = cJSON_GetObjectItemCaseSensitive(im, e->string);
        if (!ie || !same(e, ie))
            cJSON_AddItemToObject(out, e->string, cJSON_Duplicate(e, 1));
    }
    if (out->child)
        cJSON_AddItemToObject(dst, key, out);
    else
        cJSON_Delete(out);
}

static void short_id(const cJSON *c, char out[13])
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(c, "Id"));
    snprintf(out, 13, "%s", id ? id : "");
}

static void clone_config(cJSON *spec, const cJSON *c, const cJSON *icfg, int api_minor)
{
    const cJSON *cfg = cJSON_GetObjectItem(c, "Config");
    char sid[13];
    short_id(c, sid);
    const char *host = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "Hostname"));
    if (host && *host && strcmp(host, sid) != 0) /* Docker's default is the short ID */
        copy(spec, cfg, "Hostname");
    static const char *const verbatim[] = { "Domainname", "AttachStdin", "AttachStdout",
        "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "StopTimeout", "NetworkDisabled" };
    for (size_t i = 0; i < sizeof verbatim / sizeof *verbatim; i++)
        copy(spec, cfg, verbatim[i]);
    static const char *const if_set[] = { "User", "Cmd", "Entrypoint", "Healthcheck",
        "WorkingDir", "StopSignal", "Shell" };
    for (size_t i = 0; i < sizeof if_set / sizeof *if_set; i++)
        copy_if_set(spec, cfg, icfg, if_set[i]);
    copy_env(spec, cfg, icfg);
    copy_members(spec, cfg, icfg, "Labels");
    copy_members(spec, cfg, icfg, "ExposedPorts");
    copy_members(spec, cfg, icfg, "Volumes");
    /* Config.MacAddress holds the user's MAC up to API 1.43; later it moves to the
     * endpoint (see clone_networks). */
    if (api_minor < 44)
        copy(spec, cfg, "MacAddress");
}

/* Anonymous volumes (declared by VOLUME or -v /path) would be new and empty in the
 * clone: reuse them by name, as Compose does on recreate. */
static void keep_anonymous_volumes(cJSON *hc, const cJSON *c)
{
    const cJSON *vols = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "Config"), "Volumes");
    cJSON *binds = cJSON_GetObjectItem(hc, "Binds");
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(c, "Mounts")) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "Type"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(m, "Name"));
        const char *dest = cJSON_GetStringValue(cJSON_GetObjectItem(m, "Destination"));
        if (!type || strcmp(type, "volume") != 0 || !name || !dest ||
            !cJSON_GetObjectItemCaseSensitive(vols, dest))
            continue;
        int bound = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, binds) {
            const char *s = cJSON_GetStringValue(b);
            const char *colon = s ? strchr(s, ':') : NULL;
            bound |= colon && strncmp(colon + 1, dest, strlen(dest)) == 0 &&
                     (colon[1 + strlen(dest)] == 0 || colon[1 + strlen(dest)] == ':');
        }
        cJSON_ArrayForEach(b, cJSON_GetObjectItem(hc, "Mounts")) {
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(b, "Target"));
            bound |= t && strcmp(t, dest) == 0;
        }
        if (bound)
            continue;
        if (!cJSON_IsArray(binds)) {
            cJSON_DeleteItemFromObject(hc, "Binds");
            binds = cJSON_AddArrayToObject(hc, "Binds");
        }
        char bind[1024];
        snprintf(bind, sizeof bind, "%s:%s%s", name, dest,
                 cJSON_IsFalse(cJSON_GetObjectItem(m, "RW")) ? ":ro" : "");
        cJSON_AddItemToArray(binds, cJSON_CreateString(bind));
    }
}

/* Inspect shows legacy links as "/db:/web/alias"; create takes "db:alias". */
static void fix_links(cJSON *hc)
{
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(hc, "Links")) {
        const char *s = cJSON_GetStringValue(l);
        const char *colon = s ? strchr(s, ':') : NULL;
        const char *alias = colon ? strrchr(colon, '/') : NULL;
        if (!s || !colon || !alias)
            continue;
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s:%s", (int)(colon - s - (s[0] == '/')),
                 s + (s[0] == '/'), alias + 1);
        cJSON_SetValuestring(l, buf);
    }
}

static cJSON *clone_endpoint(const cJSON *ep, const char *sid, int api_minor)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *ipam = cJSON_GetObjectItem(ep, "IPAMConfig");
    if (!is_empty(ipam))
        cJSON_AddItemToObject(out, "IPAMConfig", cJSON_Duplicate(ipam, 1));
    cJSON *aliases = cJSON_CreateArray();
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(ep, "Aliases")) {
        if (cJSON_IsString(a) && strcmp(a->valuestring, sid) != 0) /* Docker adds the ID */
            cJSON_AddItemToArray(aliases, cJSON_Duplicate(a, 1));
    }
    if (aliases->child)
        cJSON_AddItemToObject(out, "Aliases", aliases);
    else
        cJSON_Delete(aliases);
    copy(out, ep, "Links");
    copy(out, ep, "DriverOpts");
    /* From API 1.44 the user's MAC address is the endpoint's; a generated one must
     * not be copied (it would clash with the old container on the same network). */
    if (api_minor >= 44) {
        const cJSON *mac = cJSON_GetObjectItem(ep, "DesiredMacAddress");
        if (cJSON_IsString(mac) && *mac->valuestring)
            cJSON_AddStringToObject(out, "MacAddress", mac->valuestring);
    }
    return out;
}

static void clone_networks(cJSON *spec, const cJSON *c, const cJSON *hc, int api_minor)
{
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(hc, "NetworkMode"));
    if (mode && (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0 ||
                 strncmp(mode, "container:", 10) == 0))
        return;
    char sid[13];
    short_id(c, sid);
    cJSON *eps = cJSON_CreateObject();
    const cJSON *ep;
    cJSON_ArrayForEach(ep, cJSON_GetObjectItem(cJSON_GetObjectItem(c, "NetworkSettings"), "Networks"))
        cJSON_AddItemToObject(eps, ep->string, clone_endpoint(ep, sid, api_minor));
    cJSON *nc = cJSON_AddObjectToObject(spec, "NetworkingConfig");
    cJSON_AddItemToObject(nc, "EndpointsConfig", eps);
}

cJSON *claw_clone_spec(const cJSON *container, const cJSON *image, const char *new_image,
                       const char *new_name, int api_minor, claw_err *err)
{
    const cJSON *cfg = cJSON_GetObjectItem(container, "Config");
    const cJSON *hc = cJSON_GetObjectItem(container, "HostConfig");
    if (!cJSON_IsObject(cfg) || !cJSON_IsObject(hc)) {
        claw_fail(err, CLAW_E_INVALID, 0, "not a container inspect: Config or HostConfig missing");
        return NULL;
    }
    const cJSON *icfg = cJSON_GetObjectItem(image, "Config");
    cJSON *spec = cJSON_CreateObject();
    if (new_name)
        cJSON_AddStringToObject(spec, "name", new_name);
    const char *img = new_image ? new_image : cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "Image"));
    cJSON_AddStringToObject(spec, "Image", img ? img : "");
    clone_config(spec, container, icfg, api_minor);
    cJSON *nhc = cJSON_Duplicate(hc, 1);
    keep_anonymous_volumes(nhc, container);
    fix_links(nhc);
    cJSON_AddItemToObject(spec, "HostConfig", nhc);
    clone_networks(spec, container, hc, api_minor);
    return spec;
}

/* "18789", "18789/tcp", "53/udp" -> Docker's key ("18789/tcp"); 0 when malformed. */
static int port_key(const char *port, char out[32])
{
    char *end;
    long n = strtol(port, &end, 10);
    if (end == port || *port < '0' || *port > '9' || n < 1 || n > 65535)
        return 0;
    const char *proto = *end == 0 ? "tcp" : *end == '/' ? end + 1 : NULL;
    if (!proto || (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
                   strcmp(proto, "sctp") != 0))
        return 0;
    snprintf(out, 32, "%ld/%s", n, proto);
    return 1;
}

int claw_clone_unpublish(cJSON *spec, const char *const *ports, size_t n, claw_err *err)
{
    char key[32];
    for (size_t i = 0; ports && i < n; i++) {
        if (!port_key(ports[i], key))
            return claw_fail(err, CLAW_E_INVALID, 0,
                             "unpublish: invalid container port \"%s\" (want PORT or PORT/PROTOCOL)",
                             ports[i]);
    }
    cJSON *hc = cJSON_GetObjectItem(spec, "HostConfig");
    if (!ports) {
        cJSON_DeleteItemFromObjectCaseSensitive(hc, "PortBindings");
        cJSON_DeleteItemFromObjectCaseSensitive(hc, "PublishAllPorts");
        return 0;
    }
    cJSON *bindings = cJSON_GetObjectItem(hc, "PortBindings");
    for (size_t i = 0; i < n; i++) {
        port_key(ports[i], key);
        cJSON_DeleteItemFromObjectCaseSensitive(bindings, key);
    }
    return 0;
}
