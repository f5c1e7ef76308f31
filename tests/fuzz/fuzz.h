/*
 * fuzz.h - what the fuzz targets of tests/fuzz/ share.
 *
 * Each target is one LLVMFuzzerTestOneInput over one reader of untrusted
 * input. Built with --enable-fuzzing (clang), it is a libFuzzer program;
 * otherwise tests/fuzz/replay.c gives it a main that feeds it the files
 * named on its command line, which is how `make check` replays the corpus
 * (tests/fuzz/replay.sh).
 *
 * Beyond not crashing, a target checks what the reader promises (an error
 * names its file; what is accepted is well formed) and aborts when that
 * does not hold, so the sanitizers and the fuzzer report it as a crash.
 * FUZZ_EXPECT=accept or refuse in the environment also makes it abort when
 * the reader's verdict on the input is the other one: the replay of the
 * reproducers of issue 14 says what each must give.
 */
#ifndef GPOOL_TESTS_FUZZ_H
#define GPOOL_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int         LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader's verdict on this input: abort (naming target and why) when
 * FUZZ_EXPECT asks for the other one. */
void        fuzz_verdict(const char *target, int accepted, const char *why);

/* Abort with "target: broken promise: what" unless ok. */
void        fuzz_require(const char *target, int ok, const char *what);

/* A path whose file holds exactly data[0..size): FUZZ_FILES files per
 * process (slot 0 .. FUZZ_FILES-1), kept out of the file system (their names
 * are /proc/self/fd/N), each rewritten by the next call for its slot. */
#define FUZZ_FILES 2
const char *fuzz_input_path(const char *target, int slot, const uint8_t *data, size_t size);

/* data[0..size) as a NUL-terminated string (cut at its first NUL); the
 * buffer is reused by the next call. */
const char *fuzz_input_text(const char *target, const uint8_t *data, size_t size);

#endif /* GPOOL_TESTS_FUZZ_H */
