#include "cfg.h"

#include <stdio.h>
#include <string.h>

int claw_cfg_bad(claw_err *err, const char *file, const char *where, const char *what)
{
    return claw_fail(err, CLAW_E_INVALID, 0, "%s: %s: %s", file, where, what);
}

int claw_cfg_only_keys(const cJSON *o, const char *const *keys, const char *file,
                       const char *where, claw_err *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, o) {
        int known = 0;
        for (const char *const *k = keys; *k; k++)
            known |= strcmp(*k, e->string) == 0;
        if (!known) {
            char what[300];
            snprintf(what, sizeof what, "unknown key \"%.200s\"", e->string);
            return claw_cfg_bad(err, file, where, what);
        }
    }
    return 0;
}

int claw_cfg_seconds(const cJSON *v, double dflt, double *out)
{
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e9))
        return -1;
    *out = v->valuedouble;
    return 0;
}

cJSON *claw_cfg_strings(const cJSON *v, int allow_empty)
{
    if (!v && allow_empty)
        return cJSON_CreateArray();
    cJSON *a = cJSON_IsString(v) ? cJSON_CreateStringArray((const char *[]){ v->valuestring }, 1)
                                 : cJSON_IsArray(v) ? cJSON_Duplicate(v, 1) : NULL;
    const cJSON *e;
    int ok = a && (allow_empty || cJSON_GetArraySize(a) > 0);
    cJSON_ArrayForEach(e, a) ok &= cJSON_IsString(e);
    if (!ok) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}
