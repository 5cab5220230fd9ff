// Giving freed heap memory back to the system after a long prefill.
#include "CJarvisKernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void jk_release_free_memory(void) {
#if defined(__GLIBC__)
    // glibc keeps large freed blocks once its mmap threshold has risen past their size (it rises
    // with each large free), so a prefill's scratch would stay resident; this returns it.
    malloc_trim(0);
#endif
}
