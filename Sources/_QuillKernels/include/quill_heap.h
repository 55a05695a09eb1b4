#ifndef QUILL_HEAP_H
#define QUILL_HEAP_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not taken back, over every arena and mapped block
/// (glibc's `mallinfo2`: `uordblks + hblkhd`); 0 where the C library cannot tell.
///
/// Measures what building an object allocates, to check the memory estimate against.
size_t quill_heap_bytes_in_use(void);

#endif
