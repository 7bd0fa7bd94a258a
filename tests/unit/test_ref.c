/* Image references and log masking. */
#include "check.h"
#include "log.h"
#include "ref.h"

static void ref_case(const char *in, const char *domain, const char *path, const char *tag,
                     const char *digest)
{
    claw_ref r;
    claw_err e;
    CHECK_INT(claw_ref_parse(in, &r, &e), 0);
    CHECK_STR(r.domain, domain);
    CHECK_STR(r.path, path);
    CHECK_STR(r.tag, tag);
    CHECK_STR(r.digest, digest);
}

int main(void)
{
    ref_case("nginx", "docker.io", "library/nginx", "latest", "");
    ref_case("openclaw/gateway:latest", "docker.io", "openclaw/gateway", "latest", "");
    ref_case("ghcr.io/openclaw/openclaw:2026.9.6", "ghcr.io", "openclaw/openclaw", "2026.9.6", "");
    ref_case("localhost:5000/app:v1", "localhost:5000", "app", "v1", "");
    ref_case("localhost/app", "localhost", "app", "latest", "");
    ref_case("index.docker.io/library/redis:7", "docker.io", "library/redis", "7", "");
    ref_case("app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
             "docker.io", "library/app", "",
             "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

    claw_ref r;
    claw_err e;
    const char *bad[] = { "", "UPPER/case", "app:", "app:-x", "/app", "a//b", "app@sha256:xyz" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(claw_ref_parse(bad[i], &r, &e), -1);
        CHECK_STR(e.code, CLAW_E_INVALID);
    }
    claw_ref_parse("UPPER/case", &r, &e);
    CHECK_STR(e.message, "invalid image reference \"UPPER/case\"");
    claw_ref_parse("nginx", &r, &e);
    CHECK_STR(claw_ref_auth_key(&r), "https://index.docker.io/v1/");
    char name[600];
    CHECK_STR(claw_ref_name(&r, name, sizeof name), "docker.io/library/nginx");

    CHECK(claw_log_is_secret("password"));
    CHECK(claw_log_is_secret("GITHUB_TOKEN"));
    CHECK(claw_log_is_secret("X-Registry-Auth"));
    CHECK(claw_log_is_secret("smtp_secret"));
    CHECK(!claw_log_is_secret("container"));
    CHECK_INT(claw_log_level_parse("WARNING"), CLAW_LOG_WARN);
    CHECK_INT(claw_log_level_parse("loud"), -1);
    return check_done();
}
