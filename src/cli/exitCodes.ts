/** Exit codes of the agent-autopsy CLI. */
export const EXIT_OK = 0;
/** The run had failures (`report --fail-on-failures`) or got worse (`diff --fail-on-regression`). */
export const EXIT_RUN_FAILED = 1;
/** Bad input: a missing path, a file that is not a log, unreadable JSON. */
export const EXIT_BAD_INPUT = 2;
