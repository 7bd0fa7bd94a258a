/* A tiny assertion kit for the engine's unit tests: each test file is one program
 * whose main() calls CHECK* and ends with `return check_done();`. */
#ifndef CLAW_CHECK_H
#define CLAW_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_count++;                                                               \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR(got, want)                                                         \
    do {                                                                             \
        const char *g_ = (got), *w_ = (want);                                        \
        check_count++;                                                               \
        if (!g_ || strcmp(g_, w_) != 0) {                                            \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,  \
                    g_ ? g_ : "(null)", w_);                                         \
        }                                                                            \
    } while (0)

#define CHECK_INT(got, want)                                                         \
    do {                                                                             \
        long long g_ = (long long)(got), w_ = (long long)(want);                     \
        check_count++;                                                               \
        if (g_ != w_) {                                                              \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: got %lld, want %lld\n", __FILE__, __LINE__, g_,   \
                    w_);                                                             \
        }                                                                            \
    } while (0)

static inline int check_done(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
