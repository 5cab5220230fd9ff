// CRC-32C for KV pages: cheap enough to verify every page a question reads (SSE4.2 runs at
// several GB/s), strong enough to catch flipped bytes in the data file.
#include "CJarvisChecksum.h"
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static uint32_t table[256];
static int has_sse42 = 0;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    has_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
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
