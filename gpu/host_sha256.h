/* host_sha256.h - SHA-256 (FIPS 180-4) for the kernel cache keys (internal to gpu/). */
#ifndef IOB_GPU_HOST_SHA256_H
#define IOB_GPU_HOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct iob_sha256 {
    uint32_t h[8];
    uint64_t len;   /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;
} iob_sha256;

void iob_sha256_init(iob_sha256 *s);
void iob_sha256_update(iob_sha256 *s, const void *data, size_t n);
/* Writes the digest; s must be initialised again before reuse. */
void iob_sha256_final(iob_sha256 *s, uint8_t out[32]);
/* 64 lower-case hex digits and a NUL. */
void iob_sha256_hex(const uint8_t digest[32], char hex[65]);
/* Hashes n as 8 little-endian bytes, then the data: a sequence of fields hashed this way cannot
 * be confused with another sequence whose concatenation is the same ("ab"+"c" vs "a"+"bc"). */
void iob_sha256_field(iob_sha256 *s, const void *data, size_t n);

#endif
