/* The registry client's parsers: WWW-Authenticate challenges, Link headers, version
 * tags and their order, the choice of a newer tag, RepoDigests comparison; and the
 * credentials read from a Docker config (auths, credHelpers, credsStore). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "dockercfg.h"
#include "registry.h"

static void challenge(const char *h, const char *scheme, const char *realm, const char *service,
                      const char *scope)
{
    claw_challenge c;
    CHECK_INT(claw_registry_parse_challenge(h, &c), 0);
    CHECK_STR(c.scheme, scheme);
    CHECK_STR(c.realm, realm);
    CHECK_STR(c.service, service);
    CHECK_STR(c.scope, scope);
}

static void challenges(void)
{
    challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
              "scope=\"repository:library/nginx:pull\"",
              "bearer", "https://auth.docker.io/token", "registry.docker.io",
              "repository:library/nginx:pull");
    challenge("Basic realm=\"Registry Realm\"", "basic", "Registry Realm", "", "");
    challenge("bearer  realm = \"https://ghcr.io/token\" , service=ghcr.io,scope=\"repository:a/b:pull\"",
              "bearer", "https://ghcr.io/token", "ghcr.io", "repository:a/b:pull");
    /* escapes in quoted strings; unknown params skipped */
    challenge("Bearer error=\"invalid_token\",realm=\"https://x/t?a=\\\"b\\\"\"", "bearer",
              "https://x/t?a=\"b\"", "", "");
    /* several challenges: the first Bearer or Basic one, with its own params only */
    challenge("Negotiate abc==, Bearer realm=\"https://r/t\",service=s, Basic realm=\"other\"",
              "bearer", "https://r/t", "s", "");
    challenge("Basic realm=\"first\", Bearer realm=\"https://r/t\"", "basic", "first", "", "");
    claw_challenge c;
    CHECK_INT(claw_registry_parse_challenge("Negotiate abc==", &c), -1);
    CHECK_INT(claw_registry_parse_challenge("", &c), -1);
    CHECK_INT(claw_registry_parse_challenge(NULL, &c), -1);
    CHECK_INT(claw_registry_parse_challenge("realm=\"x\"", &c), -1);
}

static void links(void)
{
    char url[256];
    CHECK_INT(claw_registry_next_link("</v2/x/tags/list?last=v1&n=1>; rel=\"next\"", url, sizeof url), 0);
    CHECK_STR(url, "/v2/x/tags/list?last=v1&n=1");
    CHECK_INT(claw_registry_next_link("<https://r/a?b=1>;rel=next", url, sizeof url), 0);
    CHECK_STR(url, "https://r/a?b=1");
    CHECK_INT(claw_registry_next_link("<https://r/p>; rel=\"prev\", <https://r/n>; rel=\"next\"", url,
                                      sizeof url), 0);
    CHECK_STR(url, "https://r/n");
    CHECK_INT(claw_registry_next_link("<https://r/n>; title=\"x\"; rel=\"last next\"", url, sizeof url), 0);
    CHECK_STR(url, "https://r/n");
    CHECK_INT(claw_registry_next_link("<https://r/p>; rel=\"prev\"", url, sizeof url), -1);
    CHECK_INT(claw_registry_next_link("<https://r/p>; prerel=\"next\"", url, sizeof url), -1);
    CHECK_INT(claw_registry_next_link("", url, sizeof url), -1);
    CHECK_INT(claw_registry_next_link("<>; rel=next", url, sizeof url), -1);
    CHECK_INT(claw_registry_next_link("<https://r/unterminated; rel=next", url, sizeof url), -1);
}

/* cmp(a, b) under policy p must have the sign of want. */
static void order(claw_ver_policy p, const char *a, const char *b, int want)
{
    claw_version va, vb;
    CHECK_INT(claw_version_parse(a, p, &va), 0);
    CHECK_INT(claw_version_parse(b, p, &vb), 0);
    int got = claw_version_cmp(&va, &vb);
    got = got < 0 ? -1 : got > 0;
    if (got != want)
        fprintf(stderr, "order %s vs %s: ", a, b);
    CHECK_INT(got, want);
    int back = claw_version_cmp(&vb, &va);
    CHECK_INT(back < 0 ? -1 : back > 0, -want);
}

static void versions(void)
{
    claw_version v;
    CHECK_INT(claw_version_parse("v1.10.0-rc.1", CLAW_VER_SEMVER, &v), 0);
    CHECK_INT(v.v, 1);
    CHECK_INT(v.n, 3);
    CHECK_INT(v.num[1], 10);
    CHECK_STR(v.suffix, "-rc.1");
    const char *not_semver[] = { "latest", "", "v", "1.", ".1", "1..2", "1.2.3.4", "1.2a",
                                 "1.2-", "1.2.3+build", "1.2_3", "1234567890123456789" };
    for (size_t i = 0; i < sizeof not_semver / sizeof *not_semver; i++) {
        if (claw_version_parse(not_semver[i], CLAW_VER_SEMVER, &v) == 0)
            fprintf(stderr, "parsed as semver: \"%s\"\n", not_semver[i]);
        CHECK_INT(claw_version_parse(not_semver[i], CLAW_VER_SEMVER, &v), -1);
    }
    CHECK_INT(claw_version_parse("2026.9.6", CLAW_VER_CALVER, &v), 0);
    CHECK_INT(claw_version_parse("24.04", CLAW_VER_CALVER, &v), 0);
    CHECK_INT(claw_version_parse("2026.9.6.1", CLAW_VER_CALVER, &v), 0);
    CHECK_INT(claw_version_parse("1.2.3", CLAW_VER_CALVER, &v), -1);   /* no year */
    CHECK_INT(claw_version_parse("2026", CLAW_VER_CALVER, &v), -1);    /* a year alone */

    order(CLAW_VER_SEMVER, "1.9.0", "1.10.0", -1);
    order(CLAW_VER_SEMVER, "1.10.0", "1.10.0", 0);
    order(CLAW_VER_SEMVER, "2.0.0", "1.99.99", 1);
    order(CLAW_VER_SEMVER, "1.0.0-rc.1", "1.0.0", -1);
    order(CLAW_VER_SEMVER, "1.0.0-rc.2", "1.0.0-rc.10", -1);
    order(CLAW_VER_SEMVER, "1.0.0-rc2", "1.0.0-rc10", -1);
    order(CLAW_VER_SEMVER, "1.0.0-alpha", "1.0.0-alpha.1", -1);
    order(CLAW_VER_SEMVER, "1.0.0-alpha.1", "1.0.0-alpha.beta", -1);
    order(CLAW_VER_SEMVER, "1.0.0-alpha.beta", "1.0.0-beta", -1);
    order(CLAW_VER_SEMVER, "1.0.0-beta.11", "1.0.0-rc.1", -1);
    order(CLAW_VER_SEMVER, "1.2", "1.2.0", 0);
    order(CLAW_VER_SEMVER, "v1.2.3", "1.2.3", 0);
    order(CLAW_VER_CALVER, "2026.9.6", "2026.10.1", -1);
    order(CLAW_VER_CALVER, "2026.9.30", "2026.10.1", -1);
    order(CLAW_VER_CALVER, "2025.12.31", "2026.1.1", -1);
    order(CLAW_VER_CALVER, "2026.09.06", "2026.9.6", 0);
}

static void newer_case(const char *cur, const char *const *tags, size_t n, claw_ver_policy p,
                       claw_ver_level level, const char *inc, const char *exc, const char *want)
{
    claw_newer_opts o = { .policy = p, .level = level, .include = inc, .exclude = exc };
    claw_err e;
    const char *got = claw_registry_newer(cur, tags, n, &o, &e);
    if (!want) {
        if (got)
            fprintf(stderr, "newer than %s: got %s, want none\n", cur, got);
        CHECK(got == NULL);
        CHECK_STR(e.code, "");
    } else {
        CHECK_STR(got, want);
    }
}

#define N(a) (sizeof(a) / sizeof *(a))

static void newer(void)
{
    const char *semver[] = { "latest", "1", "1.9", "1.9.0", "1.9.1", "1.10.0", "1.10.1",
                             "1.11.0-rc.1", "2.0.0", "2.1.0-beta", "v3.0.0", "2.0.1-alpine",
                             "1.9.2-alpine", "1.9.1-alpine", "garbage" };
    newer_case("1.9.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL, "2.0.0");
    newer_case("1.9.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MINOR, NULL, NULL, "1.10.1");
    newer_case("1.9.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_PATCH, NULL, NULL, "1.9.1");
    newer_case("2.0.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL, NULL);
    /* pre-releases only through include; include filters every candidate */
    newer_case("1.10.1", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MINOR, NULL, NULL, NULL);
    newer_case("1.10.1", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MINOR, "-rc", NULL, "1.11.0-rc.1");
    newer_case("1.9.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, "^[0-9.]+(-beta)?$", NULL,
               "2.1.0-beta");
    /* exclude */
    newer_case("1.9.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, "^2\\.", "1.10.1");
    /* a variant keeps its suffix; a pre-release moves to a release */
    newer_case("1.9.1-alpine", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL,
               "2.0.1-alpine");
    newer_case("1.9.1-alpine", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_PATCH, NULL, NULL,
               "1.9.2-alpine");
    newer_case("1.11.0-rc.1", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL, "2.0.0");
    /* the same shape: a "v", as many numbers */
    newer_case("v2.0.0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL, "v3.0.0");
    newer_case("1.9", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL, NULL);
    newer_case("0", semver, N(semver), CLAW_VER_SEMVER, CLAW_VER_MAJOR, NULL, NULL, "1");

    const char *calver[] = { "2026.9.6", "2026.9.30", "2026.10.1", "2026.10.1-beta.1",
                             "2027.1.2", "26.11.1", "latest", "2026.10" };
    newer_case("2026.9.6", calver, N(calver), CLAW_VER_CALVER, CLAW_VER_MAJOR, NULL, NULL, "2027.1.2");
    newer_case("2026.9.6", calver, N(calver), CLAW_VER_CALVER, CLAW_VER_MINOR, NULL, NULL, "2026.10.1");
    newer_case("2026.9.6", calver, N(calver), CLAW_VER_CALVER, CLAW_VER_PATCH, NULL, NULL, "2026.9.30");
    newer_case("2026.9.6", calver, N(calver), CLAW_VER_CALVER, CLAW_VER_MINOR, "^2026\\.", NULL,
               "2026.10.1");
    newer_case("2027.1.2", calver, N(calver), CLAW_VER_CALVER, CLAW_VER_MAJOR, NULL, NULL, NULL);

    claw_newer_opts o = { .policy = CLAW_VER_SEMVER };
    claw_err e;
    CHECK(claw_registry_newer("latest", semver, N(semver), &o, &e) == NULL);
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK_STR(e.message, "tag \"latest\" is not a semver version");
    o.policy = CLAW_VER_CALVER;
    CHECK(claw_registry_newer("1.2.3", semver, N(semver), &o, &e) == NULL);
    CHECK_STR(e.message, "tag \"1.2.3\" is not a calver version");
    o.policy = CLAW_VER_SEMVER;
    o.include = "(";
    CHECK(claw_registry_newer("1.0.0", semver, N(semver), &o, &e) == NULL);
    CHECK_STR(e.code, CLAW_E_INVALID);
    CHECK_STR(e.message, "invalid include pattern \"(\"");
}

static void repo_digests(void)
{
    const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const char *list[] = {
        "nginx@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        "localhost:5000/app@sha256:2222222222222222222222222222222222222222222222222222222222222222",
        "not a reference",
    };
    CHECK(claw_registry_has_digest(list, 3, "docker.io", "library/nginx", d1));
    CHECK(claw_registry_has_digest(list, 3, "index.docker.io", "nginx", d1));
    CHECK(!claw_registry_has_digest(list, 3, "docker.io", "library/nginx", d2));
    CHECK(!claw_registry_has_digest(list, 3, "ghcr.io", "library/nginx", d1));
    CHECK(claw_registry_has_digest(list, 3, "localhost:5000", "app", d2));
    CHECK(!claw_registry_has_digest(list, 3, "localhost:5000", "other", d2));
    CHECK(claw_registry_has_digest(list, 3, NULL, NULL, d2));
    CHECK(!claw_registry_has_digest(list, 0, NULL, NULL, d2));
}

static void write_file(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

static void credentials(void)
{
    const char *tmp = getenv("CLAW_TEST_TMP") ? getenv("CLAW_TEST_TMP") : "/tmp";
    char dir[512], path[600], env[2048];
    snprintf(dir, sizeof dir, "%s/registry-cfg-XXXXXX", tmp);
    mkdir(tmp, 0755);
    CHECK(mkdtemp(dir) != NULL);
    setenv("DOCKER_CONFIG", dir, 1);
    claw_cred c;
    claw_err e = { 0 };
    CHECK_INT(claw_dockercfg_creds("localhost:5000", &c, &e), 0); /* no config.json */

    /* "auths": exact keys, and keys written with a scheme or a path */
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path,
               "{\"auths\":{\"localhost:5000\":{\"auth\":\"YWxpY2U6czNjcjN0\"},"
               "\"https://index.docker.io/v1/\":{\"auth\":\"Ym9iOmh1Yg==\"},"
               "\"https://ghcr.io\":{\"auth\":\"Z2g6cGF0\"}},"
               "\"credHelpers\":{\"helped.example:5000\":\"clawtest\"}}",
               0600);
    CHECK_INT(claw_dockercfg_creds("localhost:5000", &c, &e), 1);
    CHECK_STR(c.username, "alice");
    CHECK_STR(c.secret, "s3cr3t");
    CHECK_INT(claw_dockercfg_creds("https://index.docker.io/v1/", &c, &e), 1);
    CHECK_STR(c.username, "bob");
    CHECK_INT(claw_dockercfg_creds("ghcr.io", &c, &e), 1);
    CHECK_STR(c.secret, "pat");
    CHECK_INT(claw_dockercfg_creds("quay.io", &c, &e), 0);

    /* a helper on PATH: docker-credential-clawtest get, the server on stdin */
    snprintf(path, sizeof path, "%s/docker-credential-clawtest", dir);
    write_file(path,
               "#!/bin/sh\n"
               "[ \"$1\" = get ] || exit 3\n"
               "read -r server || true\n"
               "case $server in\n"
               "  helped.example:5000) echo '{\"ServerURL\":\"'$server'\",\"Username\":\"carol\",\"Secret\":\"from-helper\"}' ;;\n"
               "  broken.example) echo 'keychain locked' ; exit 1 ;;\n"
               "  *) echo 'credentials not found in native keychain' ; exit 1 ;;\n"
               "esac\n",
               0755);
    snprintf(env, sizeof env, "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", env, 1);
    CHECK_INT(claw_dockercfg_creds("helped.example:5000", &c, &e), 1);
    CHECK_STR(c.username, "carol");
    CHECK_STR(c.secret, "from-helper");

    /* credsStore for the rest; "not found" falls back to auths */
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path,
               "{\"credsStore\":\"clawtest\",\"auths\":{\"localhost:5000\":{\"auth\":\"YWxpY2U6czNjcjN0\"}}}",
               0600);
    CHECK_INT(claw_dockercfg_creds("helped.example:5000", &c, &e), 1);
    CHECK_STR(c.username, "carol");
    CHECK_INT(claw_dockercfg_creds("localhost:5000", &c, &e), 1);
    CHECK_STR(c.username, "alice");
    CHECK_INT(claw_dockercfg_creds("quay.io", &c, &e), 0);
    CHECK_INT(claw_dockercfg_creds("broken.example", &c, &e), -1);
    CHECK_STR(e.code, CLAW_E_IO);
    CHECK_STR(e.message, "credential helper docker-credential-clawtest: exit status 1: keychain locked");
    /* the same for pulls: X-Registry-Auth from the helper */
    char *auth = claw_dockercfg_auth("helped.example:5000/app:v1", &e);
    CHECK(auth != NULL);
    free(auth);

    write_file(path, "{\"credsStore\":\"missing-helper\"}", 0600);
    CHECK_INT(claw_dockercfg_creds("quay.io", &c, &e), -1);
    CHECK_STR(e.message, "credential helper docker-credential-missing-helper: cannot run it: "
                         "No such file or directory");
    write_file(path, "{not json", 0600);
    CHECK_INT(claw_dockercfg_creds("quay.io", &c, &e), -1);
    CHECK_STR(e.code, CLAW_E_PARSE);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    challenges();
    links();
    versions();
    newer();
    repo_digests();
    credentials();
    return check_done();
}
