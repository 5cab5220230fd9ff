#ifndef JARVIS_COPENBLAS_SHIM_H
#define JARVIS_COPENBLAS_SHIM_H
// Debian's libopenblas-dev puts cblas.h under the flavour's include directory,
// which pkg-config (openblas) adds to the search path.
#include <cblas.h>
#endif
