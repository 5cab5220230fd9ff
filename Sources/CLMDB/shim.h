#ifndef JARVIS_CLMDB_SHIM_H
#define JARVIS_CLMDB_SHIM_H
#include <lmdb.h>
#endif
