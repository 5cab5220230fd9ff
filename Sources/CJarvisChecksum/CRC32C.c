// CRC-32C for KV pages: cheap enough to verify every page a question reads (SSE4.2 runs at
// several GB/s), strong enough to catch flipped bytes in the data file.
//
// The crc32 instruction takes three cycles, one after another within a stream but overlapping
// across streams, so long buffers are read as three streams at once: each round is three
// spans of STREAM_BYTES, the second and third begun from zero, and joined after the round. The
// state is linear: running it over a span D from s gives run(s, zeros) ^ run(0, D), and
// run(s, zeros of STREAM_BYTES) is a fixed linear map of s, applied by four table lookups.
#include "CJarvisChecksum.h"
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { STREAM_BYTES = 256 };

static uint32_t table[256];
static uint32_t skip[4][256];   // the state after STREAM_BYTES zero bytes, by each byte of the state before
static int has_sse42 = 0;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

static void init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    // The skip map of each of the 32 state bits, then of every value of each state byte.
    static const uint8_t zeros[STREAM_BYTES];
    uint32_t bit[32];
    for (int b = 0; b < 32; b++) bit[b] = crc_table(1u << b, zeros, STREAM_BYTES);
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t m = 0;
            for (int b = 0; b < 8; b++) if (v >> b & 1) m ^= bit[8 * k + b];
            skip[k][v] = m;
        }
#if defined(__x86_64__)
    __builtin_cpu_init();
    has_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

/// The state s run over STREAM_BYTES zero bytes.
static inline uint32_t skip_stream(uint32_t s) {
    return skip[0][s & 0xFF] ^ skip[1][s >> 8 & 0xFF] ^ skip[2][s >> 16 & 0xFF] ^ skip[3][s >> 24];
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    for (; n >= 3 * STREAM_BYTES; p += 3 * STREAM_BYTES, n -= 3 * STREAM_BYTES) {
        uint64_t a = c, b = 0, d = 0, v;
        for (size_t i = 0; i < STREAM_BYTES; i += 8) {
            memcpy(&v, p + i, 8);
            a = _mm_crc32_u64(a, v);
            memcpy(&v, p + STREAM_BYTES + i, 8);
            b = _mm_crc32_u64(b, v);
            memcpy(&v, p + 2 * STREAM_BYTES + i, 8);
            d = _mm_crc32_u64(d, v);
        }
        c = skip_stream(skip_stream((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

uint32_t jk_crc32c(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    pthread_once(&once, init);
    crc = ~crc;
#if defined(__x86_64__)
    if (has_sse42) return ~crc_sse42(crc, p, n);
#endif
    return ~crc_table(crc, p, n);
}

uint32_t jk_crc32c_portable(uint32_t crc, const void *data, size_t n) {
    pthread_once(&once, init);
    return ~crc_table(~crc, (const uint8_t *)data, n);
}
