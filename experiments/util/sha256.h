/*
 * sha256.h - SHA-256 (FIPS 180-4) of a buffer or a file, as lowercase hex,
 * so that results record exactly which data files an experiment read.
 */
#ifndef GPOOL_EXPERIMENTS_SHA256_H
#define GPOOL_EXPERIMENTS_SHA256_H

#include <stddef.h>

/* hex receives 64 lowercase hex digits and a NUL. */
void gpx_sha256_buffer(const void *data, size_t len, char hex[65]);

/* Hash of the file's bytes as stored (a .gz file is hashed compressed).
 * 0, or -1 when the file cannot be read (errno says why; hex is then ""). */
int  gpx_sha256_file(const char *path, char hex[65]);

#endif /* GPOOL_EXPERIMENTS_SHA256_H */
