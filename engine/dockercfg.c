#define _GNU_SOURCE
#include "dockercfg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "ref.h"

#define HELPER_TIMEOUT 10.0 /* seconds a credential helper may take */

extern char **environ;

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

/* The host a config key names: "https://index.docker.io/v1/" -> "index.docker.io",
 * as the docker CLI matches "auths" keys written with a scheme or a path. */
static void key_host(const char *key, char *out, size_t size)
{
    const char *p = strstr(key, "://");
    p = p ? p + 3 : key;
    size_t n = strcspn(p, "/");
    snprintf(out, size, "%.*s", (int)n, p);
    if (strcmp(out, "docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
        snprintf(out, size, "index.docker.io");
}

/* The member of object `obj` for `key`: exact, else the first whose host matches. */
static cJSON *lookup(cJSON *obj, const char *key)
{
    cJSON *exact = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (exact || !cJSON_IsObject(obj))
        return exact;
    char want[512], host[512];
    key_host(key, want, sizeof want);
    for (cJSON *it = obj->child; it; it = it->next) {
        key_host(it->string, host, sizeof host);
        if (strcmp(host, want) == 0)
            return it;
    }
    return NULL;
}

static int from_auths(cJSON *cfg, const char *key, claw_cred *c)
{
    cJSON *entry = lookup(cJSON_GetObjectItemCaseSensitive(cfg, "auths"), key);
    const char *auth = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "auth"));
    const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "identitytoken"));
    char pair[4400];
    char *colon = NULL;
    if (auth && unb64(auth, pair, sizeof pair) == 0 && (colon = strchr(pair, ':'))) {
        *colon = 0;
        if (strlen(pair) >= sizeof c->username || strlen(colon + 1) >= sizeof c->secret)
            return 0;
        strcpy(c->username, pair);
        strcpy(c->secret, colon + 1);
        return 1;
    }
    if (token && strlen(token) < sizeof c->secret) {
        strcpy(c->username, "<token>");
        strcpy(c->secret, token);
        return 1;
    }
    return 0;
}

/* Reads what fd gives until EOF or the deadline; -1 on timeout. */
static int read_until(int fd, char *out, size_t size, double deadline)
{
    size_t len = 0;
    for (;;) {
        double left = deadline - claw_clock_monotonic();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return -1;
        char tmp[1024];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        size_t keep = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
        memcpy(out + len, tmp, keep);
        len += keep;
    }
    out[len] = 0;
    return 0;
}

/* Runs `docker-credential-<helper> get` with `server` on stdin; its output (stdout
 * and stderr) into out. Returns the exit status, or -1 with err set. */
static int run_helper(const char *helper, const char *server, char *out, size_t size,
                      claw_err *err)
{
    char prog[300];
    snprintf(prog, sizeof prog, "docker-credential-%s", helper);
    int in[2], outp[2];
    if (pipe(in) != 0)
        return claw_fail_errno(err, errno, "%s: cannot make a pipe", prog);
    if (pipe(outp) != 0) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        return claw_fail_errno(err, e, "%s: cannot make a pipe", prog);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the pipes' ends, and all else */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE); /* ignored by the engine; a helper wants the default */
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    char *argv[] = { prog, "get", NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(outp[1]);
    if (rc != 0) {
        close(in[1]);
        close(outp[0]);
        return claw_fail(err, CLAW_E_IO, 0, "credential helper %s: cannot run it: %s", prog,
                         strerror(rc));
    }
    /* Like the docker CLI: the server, no newline. Small enough for the pipe. */
    ssize_t w = write(in[1], server, strlen(server));
    (void)w; /* a helper that does not read says so in its exit status */
    close(in[1]);
    int timed_out = read_until(outp[0], out, size, claw_clock_monotonic() + HELPER_TIMEOUT);
    close(outp[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        return claw_fail(err, CLAW_E_TIMEOUT, 0, "credential helper %s: no answer within %g s",
                         prog, HELPER_TIMEOUT);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* 1 found, 0 the helper has none, -1 failure. */
static int from_helper(const char *helper, const char *key, claw_cred *c, claw_err *err)
{
    char out[8192];
    int status = run_helper(helper, key, out, sizeof out, err);
    if (status < 0)
        return -1;
    if (status != 0) {
        out[strcspn(out, "\r\n")] = 0; /* the first line says why */
        if (strstr(out, "credentials not found"))
            return 0;
        return claw_fail(err, CLAW_E_IO, 0,
                         "credential helper docker-credential-%s: exit status %d: %.200s",
                         helper, status, out);
    }
    cJSON *j = cJSON_Parse(out);
    const char *user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Username"));
    const char *secret = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Secret"));
    int found = 0;
    if (user && secret && strlen(user) < sizeof c->username && strlen(secret) < sizeof c->secret) {
        strcpy(c->username, user);
        strcpy(c->secret, secret);
        found = 1;
    }
    cJSON_Delete(j);
    if (!found)
        return claw_fail(err, CLAW_E_PARSE, 0,
                         "credential helper docker-credential-%s: answer without Username and Secret",
                         helper);
    return 1;
}

/* The parsed config file; NULL with *missing set when there is none. */
static cJSON *load_config(int *missing, claw_err *err)
{
    char path[4096];
    const char *dir = getenv("DOCKER_CONFIG");
    if (dir && *dir)
        snprintf(path, sizeof path, "%s/config.json", dir);
    else
        snprintf(path, sizeof path, "%s/.docker/config.json", getenv("HOME") ? getenv("HOME") : "");
    int errnum = 0;
    char *text = read_all(path, &errnum);
    *missing = 0;
    if (!text) {
        if (errnum == ENOENT)
            *missing = 1;
        else
            claw_fail_errno(err, errnum, "cannot read %s", path);
        return NULL;
    }
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    if (!cfg)
        claw_fail(err, CLAW_E_PARSE, 0, "%s is not valid JSON", path);
    return cfg;
}

int claw_dockercfg_creds(const char *key, claw_cred *c, claw_err *err)
{
    memset(c, 0, sizeof *c);
    int missing;
    cJSON *cfg = load_config(&missing, err);
    if (!cfg)
        return missing ? 0 : -1;
    const char *helper = cJSON_GetStringValue(
        lookup(cJSON_GetObjectItemCaseSensitive(cfg, "credHelpers"), key));
    if (!helper || !*helper)
        helper = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "credsStore"));
    int found = 0;
    if (helper && *helper)
        found = from_helper(helper, key, c, err);
    if (found == 0)
        found = from_auths(cfg, key, c);
    cJSON_Delete(cfg);
    if (found != 1)
        memset(c, 0, sizeof *c); /* no half-filled secret left behind */
    return found;
}

char *claw_dockercfg_auth(const char *ref, claw_err *err)
{
    claw_ref r;
    if (claw_ref_parse(ref, &r, NULL) != 0)
        return NULL;
    const char *key = claw_ref_auth_key(&r);
    claw_cred c;
    if (claw_dockercfg_creds(key, &c, err) != 1)
        return NULL;
    cJSON *a = cJSON_CreateObject();
    if (strcmp(c.username, "<token>") == 0) {
        cJSON_AddStringToObject(a, "identitytoken", c.secret);
    } else {
        cJSON_AddStringToObject(a, "username", c.username);
        cJSON_AddStringToObject(a, "password", c.secret);
    }
    cJSON_AddStringToObject(a, "serveraddress", key);
    char *json = cJSON_PrintUnformatted(a);
    char *out = json ? b64(json, 1) : NULL;
    if (json)
        memset(json, 0, strlen(json));
    free(json);
    cJSON_Delete(a);
    memset(&c, 0, sizeof c);
    return out;
}
