/*
 * fuzz_util.c - the helpers of fuzz.h.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

void fuzz_require(const char *target, int ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "%s: broken promise: %s\n", target, what);
    abort();
}

void fuzz_verdict(const char *target, int accepted, const char *why)
{
    static const char *expect;
    static int read_env;
    if (!read_env) {
        expect = getenv("FUZZ_EXPECT");
        read_env = 1;
    }
    if (!expect || !*expect)
        return;
    int want_accept = !strcmp(expect, "accept");
    if (!want_accept && strcmp(expect, "refuse")) {
        fprintf(stderr, "%s: FUZZ_EXPECT=%s: expected accept or refuse\n", target, expect);
        abort();
    }
    if (want_accept == !!accepted)
        return;
    fprintf(stderr, "%s: expected the input to be %s, but it was %s%s%s\n", target,
            want_accept ? "accepted" : "refused", accepted ? "accepted" : "refused",
            why && *why ? ": " : "", why ? why : "");
    abort();
}

const char *fuzz_input_path(const char *target, int slot, const uint8_t *data, size_t size)
{
    static int fd[FUZZ_FILES] = { -1, -1 };
    static char path[FUZZ_FILES][64];
    fuzz_require(target, slot >= 0 && slot < FUZZ_FILES, "fuzz_input_path: slot in range");
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("gpool-fuzz-input", 0);
        if (fd[slot] < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0 ||
        (size && pwrite(fd[slot], data, size, 0) != (ssize_t)size)) {
        fprintf(stderr, "%s: cannot write the input to %s\n", target, path[slot]);
        abort();
    }
    return path[slot];
}

const char *fuzz_input_text(const char *target, const uint8_t *data, size_t size)
{
    static char *buf;
    static size_t cap;
    if (size + 1 > cap) {
        free(buf);
        cap = size + 1;
        buf = malloc(cap);
        fuzz_require(target, buf != NULL, "out of memory copying the input");
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    return buf;
}
