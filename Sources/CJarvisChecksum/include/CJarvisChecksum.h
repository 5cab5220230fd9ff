#ifndef JARVIS_CHECKSUM_H
#define JARVIS_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `n` bytes, continuing from `crc` (start with 0). Uses SSE4.2 when the
/// CPU has it, a table otherwise; both give the same value.
uint32_t jk_crc32c(uint32_t crc, const void *data, size_t n);
/// The table-driven version, for tests of the vector one.
uint32_t jk_crc32c_portable(uint32_t crc, const void *data, size_t n);

#endif
