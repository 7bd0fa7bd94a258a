/* claw_compose_load: interpolation, the .env file, variable precedence, the project
 * name and the exact text of errors. Runs in tests/unit; data files under
 * data/yaml/, and scratch projects under $CLAW_TEST_TMP (or /tmp). */
#include "check.h"
#include "compose.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_path.h"

/* ---- scratch projects: a directory holding compose.yml and maybe .env ---- */

typedef struct scratch {
    char root[512]; /* a fresh directory of our own */
    char dir[768];  /* root/NAME */
    char file[800]; /* dir/compose.yml */
    char env[800];  /* dir/.env */
} scratch;

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int scratch_make(scratch *s, const char *name, const char *yaml, const char *dotenv)
{
    const char *tmp = getenv("CLAW_TEST_TMP");
    tmp = tmp && *tmp ? tmp : "/tmp";
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(s->root, sizeof s->root, "%s/test_compose.XXXXXX", tmp);
    if (!mkdtemp(s->root))
        return -1;
    snprintf(s->dir, sizeof s->dir, "%s/%s", s->root, name);
    snprintf(s->file, sizeof s->file, "%s/compose.yml", s->dir);
    snprintf(s->env, sizeof s->env, "%s/.env", s->dir);
    if (mkdir(s->dir, 0755) != 0 || write_file(s->file, yaml) != 0)
        return -1;
    return dotenv ? write_file(s->env, dotenv) : 0;
}

static void scratch_remove(const scratch *s)
{
    unlink(s->env);
    unlink(s->file);
    rmdir(s->dir);
    rmdir(s->root);
}

/* Writes a scratch project, loads it and removes it again. */
static cJSON *load_scratch(const char *name, const char *yaml, const char *dotenv,
                           char *const *env, claw_err *e, scratch *s)
{
    memset(e, 0, sizeof *e);
    if (scratch_make(s, name, yaml, dotenv) != 0) {
        fprintf(stderr, "cannot make a scratch project: %s\n", strerror(errno));
        scratch_remove(s);
        return NULL;
    }
    cJSON *p = claw_compose_load(s->file, env, e);
    scratch_remove(s);
    return p;
}

/* The error message of loading a scratch project, with its compose file's path
 * replaced by "FILE" and its directory by "DIR". */
static const char *scratch_error(const char *name, const char *yaml, const char *dotenv,
                                 char *const *env, claw_err *e)
{
    static char out[1024];
    scratch s;
    cJSON *p = load_scratch(name, yaml, dotenv, env, e, &s);
    if (p) {
        cJSON_Delete(p);
        return "";
    }
    const char *m = e->message;
    size_t n = 0;
    while (*m && n < sizeof out - 8) {
        if (strncmp(m, s.file, strlen(s.file)) == 0) {
            n += (size_t)snprintf(out + n, sizeof out - n, "FILE");
            m += strlen(s.file);
        } else if (strncmp(m, s.dir, strlen(s.dir)) == 0) {
            n += (size_t)snprintf(out + n, sizeof out - n, "DIR");
            m += strlen(s.dir);
        } else {
            out[n++] = *m++;
        }
    }
    out[n] = '\0';
    return out;
}

static const char *scratch_name(const char *name, const char *yaml, const char *dotenv,
                                char *const *env)
{
    static char out[sizeof ((claw_err *)0)->message];
    claw_err e;
    scratch s;
    cJSON *p = load_scratch(name, yaml, dotenv, env, &e, &s);
    snprintf(out, sizeof out, "%s", p ? str(p, "name") : e.message);
    cJSON_Delete(p);
    return out;
}

/* ---- tests ---- */

static void test_interpolation(void)
{
    char *env[] = {"IMAGE=nginx:1.27", "PLAIN=p", "EMPTY=", "BOTH=from-env", NULL};
    claw_err e;
    cJSON *p = claw_compose_load("data/yaml/compose/interp/compose.yml", env, &e);
    CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "%s\n", e.message);
        return;
    }
    static const char *const want[][2] = {
        {"image", "nginx:1.27"},
        {"environment/plain", "p"},
        {"environment/braced", "p"},
        {"environment/glued", "pre-p-postp.x"},
        {"environment/unset", "[]"},
        {"environment/soft_unset", "soft"},
        {"environment/soft_empty", "soft"},
        {"environment/soft_set", "p"},
        {"environment/hard_unset", "hard"},
        {"environment/hard_empty", "[]"},
        {"environment/alt_set", "alt"},
        {"environment/alt_empty", "[]"},
        {"environment/alt_empty_nocolon", "alt"},
        {"environment/alt_unset", "[]"},
        {"environment/required_set", "p"},
        {"environment/required_empty_ok", "[]"},
        {"environment/nested", "deep-p"},
        {"environment/nested_alt", "<inner>"},
        {"environment/lazy", "p"},
        {"environment/brace_in_default", "{a}"},
        {"environment/dollars", "$PLAIN and ${PLAIN} cost $5"},
        {"labels/0", "a=p"},
        {"labels/1", "b=x"},
        /* from .env, and the environment over .env */
        {"environment/from_dotenv", "dotenv"},
        {"environment/both", "from-env"},
        {"environment/exported", "yes"},
        {"environment/single", "a $b \\n \"c\""},
        {"environment/double", "line1\nline2\t\"q\" \\ end \\x"},
        {"environment/unquoted", "spaced value"},
        {"environment/hash", "a#b"},
        {"environment/hash_comment", "a"},
        {"environment/empty_value", "[]"},
        {"environment/quoted_comment", "x y"},
        {"environment/dup", "second"},
        {"environment/no_value", "[unset]"},
        /* a value is substituted once, not scanned again */
        {"environment/not_rescanned", "${PLAIN}"},
    };
    const cJSON *app = at(p, "services/app");
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *got = str(app, want[i][0]);
        CHECK_STR(got, want[i][1]);
        if (!got || strcmp(got, want[i][1]) != 0)
            fprintf(stderr, "  (at %s)\n", want[i][0]);
    }
    CHECK(cJSON_IsNumber(at(app, "environment/number")) &&
          at(app, "environment/number")->valueint == 8080);
    CHECK_STR(str(p, "x-keys/${PLAIN}"), "keys are not interpolated");
    CHECK_STR(str(app, "name"), "app");
    cJSON_Delete(p);

    /* BOTH from .env when the environment lacks it */
    char *plain[] = {"PLAIN=p", "EMPTY=", NULL};
    p = claw_compose_load("data/yaml/compose/interp/compose.yml", plain, &e);
    CHECK_STR(str(p, "services/app/environment/both"), "from-dotenv");
    CHECK_STR(str(p, "services/app/environment/soft_empty"), "soft");
    CHECK_STR(str(p, "services/app/image"), "");
    cJSON_Delete(p);
}

static void test_process_environment(void)
{
    char *none[] = {NULL};
    setenv("CLAW_TEST_COMPOSE_VAR", "from-process", 1);
    CHECK_STR(scratch_name("proc", "name: ${CLAW_TEST_COMPOSE_VAR}\nservices: {a: {}}\n", NULL,
                           NULL),
              "from-process");
    /* an explicit env replaces the process environment */
    CHECK_STR(scratch_name("proc", "name: x${CLAW_TEST_COMPOSE_VAR}\nservices: {a: {}}\n",
                           NULL, none),
              "x");
    /* the process environment wins over .env */
    CHECK_STR(scratch_name("proc", "name: ${CLAW_TEST_COMPOSE_VAR}\nservices: {a: {}}\n",
                           "CLAW_TEST_COMPOSE_VAR=from-dotenv\n", NULL),
              "from-process");
    unsetenv("CLAW_TEST_COMPOSE_VAR");
}

static void test_required(void)
{
    const char *path = "data/yaml/compose/required/compose.yml";
    claw_err e;
    char *none[] = {NULL};
    CHECK(claw_compose_load(path, none, &e) == NULL);
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK_STR(e.message, "data/yaml/compose/required/compose.yml: services.web.image: required "
                         "variable TAG is missing a value: set TAG in .env");
    char *empty_tag[] = {"TAG=", NULL};
    CHECK(claw_compose_load(path, empty_tag, &e) == NULL);
    CHECK_STR(e.message, "data/yaml/compose/required/compose.yml: services.web.image: required "
                         "variable TAG is missing a value: set TAG in .env");
    char *tag[] = {"TAG=1", NULL};
    CHECK(claw_compose_load(path, tag, &e) == NULL);
    CHECK_STR(e.message, "data/yaml/compose/required/compose.yml: "
                         "services.web.environment[1]: required variable X is missing a value: "
                         "X must be set");
    char *tag_x[] = {"TAG=1", "X=", NULL}; /* "?" accepts an empty value, ":?" does not */
    CHECK(claw_compose_load(path, tag_x, &e) == NULL);
    CHECK_STR(e.message, "data/yaml/compose/required/compose.yml: "
                         "services.web.environment[2]: required variable Y is missing a value");
    char *all[] = {"TAG=1", "X=", "Y=y", NULL};
    cJSON *p = claw_compose_load(path, all, &e);
    CHECK_STR(str(p, "services/web/environment/1"), "X=");
    CHECK_STR(str(p, "services/web/environment/2"), "Y=y");
    cJSON_Delete(p);
    /* the message is interpolated too */
    CHECK_STR(scratch_error("req", "services: {a: {image: \"${T:?need $WHAT}\"}}\n", NULL,
                            (char *[]){"WHAT=a tag", NULL}, &e),
              "FILE: services.a.image: required variable T is missing a value: need a tag");
}

static void test_invalid_format(void)
{
    claw_err e;
    char *none[] = {NULL};
    CHECK(claw_compose_load("data/yaml/compose/invalid/compose.yml", none, &e) == NULL);
    CHECK_STR(e.code, CLAW_E_PARSE);
    CHECK_STR(e.message, "data/yaml/compose/invalid/compose.yml: services.web.image: invalid "
                         "interpolation format for \"${VAR\"");

    static const char *const bad[] = {"${}", "${1A}", "${VAR:x}", "${VAR:-unclosed",
                                      "cost 5$", "a $ b", "$1", "${VAR!}", "${A:-${B}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char yaml[128], want[256];
        snprintf(yaml, sizeof yaml, "services:\n  a:\n    command: ['%s']\n", bad[i]);
        snprintf(want, sizeof want,
                 "FILE: services.a.command[0]: invalid interpolation format for \"%s\"", bad[i]);
        CHECK_STR(scratch_error("bad", yaml, NULL, none, &e), want);
        CHECK_STR(e.code, CLAW_E_PARSE);
    }
    /* a required variable with no message is valid syntax */
    CHECK_STR(scratch_error("ok", "services: {a: {image: \"${A?}\"}}\n", NULL,
                            (char *[]){"A=", NULL}, &e),
              "");
}

static void test_dotenv_errors(void)
{
    claw_err e;
    char *none[] = {NULL};
    const char *yaml = "services: {a: {}}\n";
    CHECK_STR(scratch_error("env", yaml, "A=1\nB=\"unterminated\n", none, &e),
              "DIR/.env:2: unterminated quoted value");
    CHECK_STR(e.code, CLAW_E_PARSE);
    CHECK_STR(scratch_error("env", yaml, "# c\nBAD KEY=1\n", none, &e),
              "DIR/.env:2: invalid variable name \"BAD KEY\"");
    CHECK_STR(scratch_error("env", yaml, "K=\"x\" y\n", none, &e),
              "DIR/.env:1: unexpected text after the closing quote");
    CHECK_STR(scratch_error("env", yaml, "=value\n", none, &e),
              "DIR/.env:1: invalid variable name \"\"");
    /* CRLF line ends and a last line without one */
    CHECK_STR(scratch_name("env", "name: $N\nservices: {a: {}}\n", "X=1\r\nN=crlf\r\n", none),
              "crlf");
    CHECK_STR(scratch_name("env", "name: $N\nservices: {a: {}}\n", "N=last", none), "last");
}

static void test_project_name(void)
{
    char *none[] = {NULL};
    claw_err e;
    cJSON *p = claw_compose_load("data/yaml/compose/named/compose.yml", none, &e);
    CHECK_STR(str(p, "name"), "from-file");
    cJSON_Delete(p);
    char *prefix[] = {"PREFIX=x", NULL}; /* name: is interpolated */
    p = claw_compose_load("data/yaml/compose/named/compose.yml", prefix, &e);
    CHECK_STR(str(p, "name"), "x-file");
    cJSON_Delete(p);
    /* COMPOSE_PROJECT_NAME wins over name:, as in Compose; an empty one does not count */
    char *given[] = {"COMPOSE_PROJECT_NAME=from-env", NULL};
    p = claw_compose_load("data/yaml/compose/named/compose.yml", given, &e);
    CHECK_STR(str(p, "name"), "from-env");
    cJSON_Delete(p);
    char *empty[] = {"COMPOSE_PROJECT_NAME=", NULL};
    p = claw_compose_load("data/yaml/compose/named/compose.yml", empty, &e);
    CHECK_STR(str(p, "name"), "from-file");
    cJSON_Delete(p);
    /* the directory's base name, normalised */
    p = claw_compose_load("data/yaml/compose/My_App.Dir/compose.yml", none, &e);
    CHECK_STR(str(p, "name"), "my_appdir");
    cJSON_Delete(p);
    const char *yaml = "services: {a: {}}\n";
    CHECK_STR(scratch_name("_-Lead.Dir 2", yaml, NULL, none), "leaddir2");
    CHECK_STR(scratch_name("plain", yaml, "COMPOSE_PROJECT_NAME=from-dotenv\n", none),
              "from-dotenv");
    CHECK_STR(scratch_name("plain", yaml, "COMPOSE_PROJECT_NAME=from-dotenv\n",
                           (char *[]){"COMPOSE_PROJECT_NAME=env", NULL}),
              "env");
    CHECK_STR(scratch_error("@@@", yaml, NULL, none, &e),
              "FILE: cannot derive a project name from the directory DIR; set name: or "
              "COMPOSE_PROJECT_NAME");
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK_STR(scratch_error("x", "name: My App\nservices: {a: {}}\n", NULL, none, &e),
              "FILE: invalid project name \"My App\": must consist only of lowercase "
              "alphanumeric characters, hyphens, and underscores as well as start with a "
              "letter or number");
    CHECK_STR(scratch_error("x", "name: -a\nservices: {a: {}}\n", NULL, none, &e),
              "FILE: invalid project name \"-a\": must consist only of lowercase "
              "alphanumeric characters, hyphens, and underscores as well as start with a "
              "letter or number");
    CHECK_STR(scratch_error("x", "name: 12\nservices: {a: {}}\n", NULL, none, &e),
              "FILE: name must be a string");
}

static void test_structure(void)
{
    char *none[] = {NULL};
    claw_err e;
    CHECK(claw_compose_load("data/yaml/compose/noservices/compose.yml", none, &e) == NULL);
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK_STR(e.message, "data/yaml/compose/noservices/compose.yml: no services");
    CHECK_STR(scratch_error("s", "", NULL, none, &e), "FILE: no services");
    CHECK_STR(scratch_error("s", "services:\n", NULL, none, &e), "FILE: no services");
    CHECK_STR(scratch_error("s", "services: {}\n", NULL, none, &e), "FILE: no services");
    CHECK_STR(scratch_error("s", "services: [a]\n", NULL, none, &e),
              "FILE: services must be a mapping");
    CHECK_STR(scratch_error("s", "services: {web: 1}\n", NULL, none, &e),
              "FILE: services.web must be a mapping");
    CHECK_STR(scratch_error("s", "- a\n", NULL, none, &e), "FILE: the top level must be a mapping");
    CHECK_STR(scratch_error("s", "services: {a: {}, a: {}}\n", NULL, none, &e),
              "FILE:1:19: duplicate key \"a\"");
    CHECK_STR(e.code, CLAW_E_PARSE);

    CHECK(claw_compose_load("data/yaml/compose/nothing-here.yml", none, &e) == NULL);
    CHECK_STR(e.code, CLAW_E_NOT_FOUND);
    CHECK_STR(e.message,
              "cannot read data/yaml/compose/nothing-here.yml: No such file or directory");

    /* sections kept, others dropped; file and dir absolute and clean */
    scratch s;
    const char *yaml = "version: '3'\n"
                       "services: {web: , db: {image: pg, name: x}}\n"
                       "networks: {front: {}}\n"
                       "volumes: {data: }\n"
                       "secrets: {s: {file: ./s}}\n"
                       "configs: {c: {file: ./c}}\n"
                       "x-clawengine: {policy: rolling}\n"
                       "include: [other.yml]\n";
    cJSON *p = load_scratch("Sections", yaml, NULL, none, &e, &s);
    CHECK(p != NULL);
    CHECK_STR(str(p, "name"), "sections");
    CHECK_STR(str(p, "file"), s.file);
    CHECK_STR(str(p, "dir"), s.dir);
    CHECK_STR(str(p, "services/web/name"), "web"); /* an empty service becomes {name} */
    CHECK_STR(str(p, "services/db/name"), "db");
    CHECK_STR(str(p, "services/db/image"), "pg");
    CHECK(cJSON_IsObject(at(p, "networks/front")));
    CHECK(cJSON_IsNull(at(p, "volumes/data")));
    CHECK_STR(str(p, "secrets/s/file"), "./s");
    CHECK_STR(str(p, "configs/c/file"), "./c");
    CHECK_STR(str(p, "x-clawengine/policy"), "rolling");
    CHECK(!at(p, "version") && !at(p, "include"));
    CHECK_INT(cJSON_GetArraySize(p), 9);
    cJSON_Delete(p);

    char cwd[4096], want[4200];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    p = claw_compose_load("./data//yaml/../yaml/compose/./named/compose.yml", none, &e);
    snprintf(want, sizeof want, "%s/data/yaml/compose/named/compose.yml", cwd);
    CHECK_STR(str(p, "file"), want);
    snprintf(want, sizeof want, "%s/data/yaml/compose/named", cwd);
    CHECK_STR(str(p, "dir"), want);
    cJSON_Delete(p);
}

static void test_openclaw(void)
{
    const char *path = "data/yaml/openclaw/docker-compose.yml";
    char *none[] = {NULL};
    claw_err e;
    cJSON *p = claw_compose_load(path, none, &e);
    CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "%s\n", e.message);
        return;
    }
    CHECK_STR(str(p, "name"), "openclaw");
    const cJSON *gw = at(p, "services/openclaw-gateway");
    CHECK_STR(str(gw, "name"), "openclaw-gateway");
    CHECK_STR(str(gw, "image"), "openclaw/gateway:latest");
    CHECK_STR(str(gw, "container_name"), "openclaw-gateway");
    CHECK_STR(str(gw, "restart"), "unless-stopped");
    CHECK_STR(str(gw, "ports/0"), "18789:18789");
    CHECK_STR(str(gw, "volumes/0"), "~/.openclaw:/home/node/.openclaw");
    CHECK_STR(str(gw, "environment/OPENCLAW_GATEWAY_TOKEN"), "test-token-0123456789");
    CHECK_STR(str(gw, "environment/TZ"), "UTC");
    CHECK_INT(cJSON_GetArraySize(at(gw, "healthcheck/test")), 4);
    CHECK_STR(str(gw, "healthcheck/test/0"), "CMD");
    CHECK_STR(str(gw, "healthcheck/test/1"), "curl");
    CHECK_STR(str(gw, "healthcheck/test/2"), "-f");
    CHECK_STR(str(gw, "healthcheck/test/3"), "http://localhost:18789/healthz");
    CHECK_STR(str(gw, "healthcheck/interval"), "30s");
    CHECK_INT(at(gw, "healthcheck/retries")->valueint, 3);
    CHECK_STR(str(gw, "deploy/update_config/order"), "start-first");
    CHECK_STR(str(gw, "deploy/update_config/failure_action"), "rollback");
    CHECK_STR(str(gw, "deploy/update_config/monitor"), "60s");
    CHECK_INT(at(gw, "deploy/update_config/parallelism")->valueint, 1);
    CHECK_STR(str(gw, "deploy/resources/limits/memory"), "1g");
    CHECK_STR(str(gw, "labels/com.centurylinklabs.watchtower.enable"), "false");
    cJSON_Delete(p);

    char *pinned[] = {"OPENCLAW_IMAGE=ghcr.io/openclaw/openclaw:2026.9.1",
                      "OPENCLAW_GATEWAY_TOKEN=from-env", "TZ=Europe/Paris", NULL};
    p = claw_compose_load(path, pinned, &e);
    CHECK_STR(str(p, "services/openclaw-gateway/image"), "ghcr.io/openclaw/openclaw:2026.9.1");
    CHECK_STR(str(p, "services/openclaw-gateway/environment/OPENCLAW_GATEWAY_TOKEN"), "from-env");
    CHECK_STR(str(p, "services/openclaw-gateway/environment/TZ"), "Europe/Paris");
    cJSON_Delete(p);
}

int main(void)
{
    test_interpolation();
    test_process_environment();
    test_required();
    test_invalid_format();
    test_dotenv_errors();
    test_project_name();
    test_structure();
    test_openclaw();
    return check_done();
}
