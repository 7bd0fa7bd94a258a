/* The HTTP API's token compare (claw_api_token_ok). */
#include <string.h>

#include "api.h"
#include "check.h"

static int ok(const char *want, const char *got)
{
    return claw_api_token_ok(want, got, strlen(got));
}

int main(void)
{
    const char *t = "0123456789abcdef0123456789abcdef";
    CHECK_INT(ok(t, t), 1);
    CHECK_INT(ok(t, "0123456789abcdef0123456789abcdeF"), 0);  /* last byte */
    CHECK_INT(ok(t, "x123456789abcdef0123456789abcdef"), 0);  /* first byte */
    CHECK_INT(ok(t, "0123456789abcdef0123456789abcde"), 0);   /* a prefix */
    CHECK_INT(ok(t, "0123456789abcdef0123456789abcdef0"), 0); /* longer */
    CHECK_INT(ok(t, ""), 0);
    CHECK_INT(ok("", ""), 0); /* no token matches nothing */
    /* got is a length, not a C string: a NUL inside it is a byte like any other,
     * and a match needs both lengths equal, not only the bytes up to the shorter. */
    CHECK_INT(claw_api_token_ok(t, "0123456789abcdef0123456789abcdef\0", 33), 0);
    CHECK_INT(claw_api_token_ok("abc", "abcdef", 3), 1);
    CHECK_INT(claw_api_token_ok("abc", "ab\0", 3), 0);
    return check_done();
}
