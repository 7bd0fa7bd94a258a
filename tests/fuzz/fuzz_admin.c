/* libFuzzer target for the daemon's admin protocol parser (engine/admin.c).
 *
 * claw_admin_parse must never crash or leak, and must accept only well-formed
 * commands: on success every field is consistent with the op and with the JSON that
 * was sent; on failure the error is filled in and the request owns nothing. Any
 * violation aborts, which libFuzzer reports as a crash. Build with -DCLAW_FUZZ=ON
 * and CC=clang (docs/development.md, "Fuzzing"). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz_admin: invariant violated: %s (line %d)\n", #cond, \
                    __LINE__);                                                       \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static int is_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int is_int_in(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble) &&
           v->valuedouble >= lo && v->valuedouble <= hi;
}

/* A string in the command that cJSON would cut short: a raw NUL byte, or the escape
 * \u0000 (a backslash that is itself escaped does not start one). */
static int has_nul(const char *s, size_t n)
{
    if (memchr(s, '\0', n))
        return 1;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character */
    }
    return 0;
}

/* The request, re-read with cJSON on its own: the same JSON object, nothing after it
 * but whitespace, and the fields the parser returned are those that were sent. */
static void check_against_json(const char *line, size_t len, const claw_admin_req *r)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    REQUIRE(o && cJSON_IsObject(o));
    REQUIRE(end && end >= line && end <= line + len);
    for (; end < line + len; end++)
        REQUIRE(*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n');
    REQUIRE(!has_nul(line, len));
    const char *route = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "route"));
    const char *container = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "container"));
    if (r->route[0])
        REQUIRE(route && strcmp(route, r->route) == 0);
    if (r->container[0])
        REQUIRE(container && strcmp(container, r->container) == 0);
    cJSON_Delete(o);
}

static void check_weights(const cJSON *w)
{
    REQUIRE(cJSON_IsObject(w) && w->child);
    const cJSON *e;
    cJSON_ArrayForEach(e, w) {
        REQUIRE(e->string && is_name(e->string, sizeof ((claw_admin_req *)0)->container));
        REQUIRE(is_int_in(e, 0, 100));
    }
}

static void check_listen(const cJSON *l)
{
    int n = cJSON_GetArraySize(l);
    REQUIRE(cJSON_IsArray(l) && n >= 1 && n <= 16);
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
        REQUIRE(cJSON_IsString(e) && strlen(e->valuestring) < 128);
}

static void check_request(const claw_admin_req *r)
{
    REQUIRE(r->op >= CLAW_ADMIN_LIST && r->op <= CLAW_ADMIN_RESUME);
    REQUIRE(memchr(r->route, '\0', sizeof r->route) && memchr(r->container, '\0', sizeof r->container));
    if (r->op == CLAW_ADMIN_LIST || r->op == CLAW_ADMIN_SCHEDULES || r->op == CLAW_ADMIN_HANDOVER ||
        r->op == CLAW_ADMIN_RETIRE)
        REQUIRE(r->route[0] == '\0');
    else
        REQUIRE(is_name(r->route, sizeof r->route));
    int container = r->op == CLAW_ADMIN_CREATE || r->op == CLAW_ADMIN_ADD ||
                    r->op == CLAW_ADMIN_SWITCH || r->op == CLAW_ADMIN_DRAIN ||
                    r->op == CLAW_ADMIN_REMOVE || r->op == CLAW_ADMIN_RENAME;
    if (container)
        REQUIRE(is_name(r->container, sizeof r->container));
    else
        REQUIRE(r->container[0] == '\0');

    if (r->op == CLAW_ADMIN_RENAME)
        REQUIRE(is_name(r->to, sizeof r->to));
    else
        REQUIRE(r->to[0] == '\0');
    if (r->op == CLAW_ADMIN_ADD)
        REQUIRE(r->weight == -1 || (r->weight >= 0 && r->weight <= 100));
    else
        REQUIRE(r->weight == -1);
    if (r->op == CLAW_ADMIN_DRAIN || r->op == CLAW_ADMIN_PAUSE)
        REQUIRE(r->timeout == -1 || (r->timeout >= 0 && r->timeout <= 86400));
    else
        REQUIRE(r->timeout == -1);
    if (r->op == CLAW_ADMIN_CREATE || r->op == CLAW_ADMIN_WEIGHT)
        REQUIRE(r->sticky >= -1 && r->sticky <= 1);
    else
        REQUIRE(r->sticky == -1);

    if (r->op == CLAW_ADMIN_CREATE) {
        REQUIRE(r->port >= 1 && r->port <= 65535);
        check_listen(r->listen);
    } else {
        REQUIRE(r->port == 0 && r->listen == NULL);
    }
    if (r->op == CLAW_ADMIN_WEIGHT)
        check_weights(r->weights);
    else
        REQUIRE(r->weights == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan sees any read past the length given. */
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    if (size)
        memcpy(line, data, size);

    claw_admin_req r;
    claw_err err;
    memset(&err, 0x5a, sizeof err); /* no leftover terminator to hide a missing one */
    int rc = claw_admin_parse(line, size, &r, &err);
    REQUIRE(rc == 0 || rc == -1);
    if (rc == 0) {
        check_request(&r);
        check_against_json(line, size, &r);
        claw_admin_req_free(&r);
        REQUIRE(r.weights == NULL && r.listen == NULL);
    } else {
        REQUIRE(memchr(err.code, '\0', sizeof err.code) && err.code[0]);
        REQUIRE(memchr(err.message, '\0', sizeof err.message) &&
                strncmp(err.message, "admin: ", 7) == 0);
        REQUIRE(r.weights == NULL && r.listen == NULL);
    }
    claw_admin_req_free(&r); /* a second free is harmless */
    free(line);
    return 0;
}
