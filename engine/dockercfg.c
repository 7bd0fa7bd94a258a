#include "dockercfg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static char *read_all(const char *path, int *errnum)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *errnum = errno;
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static char *b64(const char *s, int url_safe)
{
    size_t n = strlen(s);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    for (char *p = out; url_safe && *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* "user:password" out of a config.json "auth" value. */
static int unb64(const char *in, char *out, size_t size)
{
    size_t n = strlen(in);
    if (n == 0 || n % 4 || (n / 4) * 3 + 1 > size)
        return -1;
    int len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    while (n && in[n - 1] == '=') /* EVP_DecodeBlock counts the padding */
        n--, len--;
    out[len] = 0;
    return 0;
}

char *claw_dockercfg_auth(const char *ref, claw_err *err)
{
    claw_ref r;
    if (claw_ref_parse(ref, &r, NULL) != 0)
        return NULL;
    char path[4096];
    const char *dir = getenv("DOCKER_CONFIG");
    if (dir && *dir)
        snprintf(path, sizeof path, "%s/config.json", dir);
    else
        snprintf(path, sizeof path, "%s/.docker/config.json", getenv("HOME") ? getenv("HOME") : "");
    int errnum = 0;
    char *text = read_all(path, &errnum);
    if (!text) {
        if (errnum != ENOENT)
            claw_fail_errno(err, errnum, "cannot read %s", path);
        return NULL;
    }
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    if (!cfg) {
        claw_fail(err, CLAW_E_PARSE, 0, "%s is not valid JSON", path);
        return NULL;
    }
    const char *key = claw_ref_auth_key(&r);
    const char *auth = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "auths"), key), "auth"));
    char pair[1024];
    char *out = NULL;
    char *colon = NULL;
    if (auth && unb64(auth, pair, sizeof pair) == 0 && (colon = strchr(pair, ':'))) {
        *colon = 0;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "username", pair);
        cJSON_AddStringToObject(a, "password", colon + 1);
        cJSON_AddStringToObject(a, "serveraddress", key);
        char *json = cJSON_PrintUnformatted(a);
        out = json ? b64(json, 1) : NULL;
        free(json);
        cJSON_Delete(a);
    }
    cJSON_Delete(cfg);
    return out;
}
