// libedit (Debian's libedit-dev): line editing and history for `jarvisctl chat`, through its
// readline-compatible interface.
#include <stdio.h>
#include <stdlib.h>
#include <editline/readline.h>

// libedit's own SIGINT handler puts the terminal back in cooked mode and expects the process to
// end; jarvisctl chat handles Ctrl-C itself (it stops an answer), so libedit must leave it alone.
static inline void jarvis_editline_leave_signals(void) { rl_catch_signals = 0; }
