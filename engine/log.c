#define _GNU_SOURCE
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = { "debug", "info", "warn", "error" };

void claw_log_init(claw_log *l, FILE *human, FILE *out)
{
    l->level = CLAW_LOG_INFO;
    l->json = 0;
    l->human = human;
    l->out = out;
    l->tty = human && isatty(fileno(human));
}

int claw_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return strcasecmp(s, "warning") == 0 ? CLAW_LOG_WARN : -1;
}

const char *claw_log_level_name(claw_level lv)
{
    return names[lv];
}

int claw_log_is_secret(const char *key)
{
    static const char *const words[] = { "password", "passwd", "token", "secret", "auth",
                                         "credential", "apikey", "api_key", "private_key" };
    char low[128];
    size_t n = 0;
    for (; key[n] && n < sizeof low - 1; n++)
        low[n] = (char)tolower((unsigned char)key[n]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

/* A copy of fields with secret values replaced, at every depth. */
static cJSON *masked(const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 0);
    if (!c)
        return NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        cJSON *m = e->string && claw_log_is_secret(e->string) ? cJSON_CreateString("***")
                                                               : masked(e);
        if (cJSON_IsArray(c))
            cJSON_AddItemToArray(c, m);
        else
            cJSON_AddItemToObject(c, e->string, m);
    }
    return c;
}

static void stamp(char *buf, size_t size, int short_form)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t t = tv.tv_sec;
    if (short_form) {
        localtime_r(&t, &tm);
        strftime(buf, size, "%H:%M:%S", &tm);
    } else {
        gmtime_r(&t, &tm);
        char base[24];
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03dZ", base, (int)(tv.tv_usec / 1000) % 1000);
    }
}

static int needs_quotes(const char *s)
{
    if (!*s)
        return 1;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || *s == '"' || *s == '=')
            return 1;
    return 0;
}

static void human_line(const claw_log *l, claw_level lv, const char *msg, const cJSON *f)
{
    char ts[40];
    stamp(ts, sizeof ts, l->tty);
    fprintf(l->human, "%s %-5s %s", ts, names[lv], msg);
    const cJSON *e;
    cJSON_ArrayForEach(e, f) {
        char *text = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
        const char *s = text ? text : e->valuestring;
        fprintf(l->human, needs_quotes(s) && !text ? " %s=\"%s\"" : " %s=%s", e->string, s);
        free(text);
    }
    fputc('\n', l->human);
    fflush(l->human);
}

static void json_line(const claw_log *l, claw_level lv, const char *msg, const cJSON *f)
{
    cJSON *o = cJSON_CreateObject();
    char ts[40];
    stamp(ts, sizeof ts, 0);
    cJSON_AddStringToObject(o, "time", ts);
    cJSON_AddStringToObject(o, "level", names[lv]);
    cJSON_AddStringToObject(o, "msg", msg);
    const cJSON *e;
    cJSON_ArrayForEach(e, f) {
        if (!cJSON_GetObjectItemCaseSensitive(o, e->string))
            cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, 1));
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text) {
        fprintf(l->out, "%s\n", text);
        fflush(l->out);
    }
    free(text);
    cJSON_Delete(o);
}

void claw_log_emit(const claw_log *l, claw_level lv, const char *msg, const cJSON *fields)
{
    if (!l || lv < l->level)
        return;
    cJSON *f = fields && cJSON_IsObject(fields) ? masked(fields) : NULL;
    if (l->human)
        human_line(l, lv, msg, f);
    if (l->json && l->out)
        json_line(l, lv, msg, f);
    cJSON_Delete(f);
}

void claw_log_printf(const claw_log *l, claw_level lv, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    claw_log_emit(l, lv, msg, NULL);
}
