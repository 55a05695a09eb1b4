#ifndef QUILL_CRC32C_H
#define QUILL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Continues a CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) over `count` bytes.
///
/// Start with `crc = 0`; pass the previous result to continue over the next bytes, so
/// `quill_crc32c(quill_crc32c(0, a, n), b, m)` is the CRC of `a` followed by `b`. The result
/// is the standard one: the CRC of "123456789" is 0xE3069283. Uses the SSE4.2 instruction
/// when the CPU has it, a table otherwise; both give the same value.
uint32_t quill_crc32c(uint32_t crc, const void *bytes, size_t count);

/// `quill_crc32c` by the table alone, on any CPU; for tests that compare the two paths.
uint32_t quill_crc32c_portable(uint32_t crc, const void *bytes, size_t count);

#endif
