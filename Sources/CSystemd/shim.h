#ifndef JARVIS_CSYSTEMD_SHIM_H
#define JARVIS_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#endif
