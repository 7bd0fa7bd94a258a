/* Reading cJSON trees in unit tests by a '/'-separated path: keys for mappings,
 * indexes for sequences ("services/web/ports/0"). */
#ifndef CLAW_JSON_PATH_H
#define CLAW_JSON_PATH_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const cJSON *at(const cJSON *node, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *seg = strtok_r(buf, "/", &save); seg && node;
         seg = strtok_r(NULL, "/", &save))
        node = cJSON_IsArray(node) ? cJSON_GetArrayItem(node, atoi(seg))
                                   : cJSON_GetObjectItemCaseSensitive(node, seg);
    return node;
}

static inline double num(const cJSON *root, const char *path)
{
    const cJSON *n = at(root, path);
    return cJSON_IsNumber(n) ? n->valuedouble : -12345.0;
}

static inline const char *str(const cJSON *root, const char *path)
{
    const cJSON *n = at(root, path);
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

#endif
