/*
 * tui.h - drive a real terminal program (slrn, tin) under tmux from a Check
 * test, and the few process helpers those tests need.
 *
 * Every tmux command goes to a private server (tmux -S SOCKET with our own
 * configuration file), and every program runs with a clean environment:
 * the temporary HOME given to tui_init, TERM=xterm, the C.UTF-8 locale, a
 * fixed PATH. Nothing from the user running the tests leaks in, and the
 * user's own tmux sessions are never touched.
 *
 * Waiting is polling with a deadline, never a fixed sleep: tui_wait()
 * captures the pane until the text appears or the time is up, and on
 * timeout prints the last screen so a failure shows what the program did.
 */
#ifndef NG_TUI_H
#define NG_TUI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define TUI_COLS 160 /* terminal width: long subjects fit on one line */
#define TUI_ROWS 48  /* terminal height */
#define TUI_SCREEN_MAX 32768 /* bytes of one captured screen */

struct tui {
	char dir[PATH_MAX];	 /* private directory: socket, config */
	char sock[PATH_MAX];	 /* the tmux server socket (in dir) */
	char home[PATH_MAX];	 /* HOME of the programs run in the pane */
	char screen[TUI_SCREEN_MAX]; /* the last capture, NUL-terminated */
	bool started;		 /* a session exists on sock */
};

/*
 * Set up t for a tmux server private to dir (which must exist) and programs
 * whose HOME is home (created if missing). Writes dir/tmux.conf. Returns 0,
 * or -1 with errno.
 */
int tui_init(struct tui *t, const char *dir, const char *home);

/*
 * Start a session running the shell command cmd (run by /bin/sh in the
 * clean environment) in a TUI_COLS x TUI_ROWS terminal, on a new server
 * (one left on the socket by an earlier test is killed). The pane stays
 * after the program exits, so its last words can still be captured.
 * Returns 0, or -1 (tmux failed; the reason is printed on stderr).
 */
int tui_start(struct tui *t, const char *cmd);

/*
 * Send keys as tmux send-keys understands them ("Enter", "Down", "q";
 * literal text with tui_type). Returns 0 or -1.
 */
int tui_keys(struct tui *t, const char *key);
int tui_type(struct tui *t, const char *text);

/* Capture the pane into t->screen. Returns 0 or -1. */
int tui_capture(struct tui *t);

/*
 * Poll the pane until it contains needle, for at most timeout_ms. Returns
 * true when seen (t->screen holds that screen); false on timeout, after
 * printing the last screen to stderr with what was awaited.
 */
bool tui_wait(struct tui *t, const char *needle, int timeout_ms);

/*
 * Move a list cursor onto the line that contains text: while the screen
 * line holding marker (slrn's "->") does not contain it, press Down and
 * wait for the cursor to move. At most max_moves presses. Returns true
 * when there; false (after printing the screen) when not.
 */
bool tui_cursor_to(struct tui *t, const char *marker, const char *text,
    int max_moves, int timeout_ms);

/* Kill the private tmux server (and every program in it). Idempotent. */
void tui_stop(struct tui *t);

/*
 * Find an executable named prog in PATH and write its absolute path to
 * out. Returns true when found.
 */
bool tui_which(const char *prog, char *out, size_t cap);

/*
 * Is a missing program a failure? True when the environment says this is
 * CI (CI set and not "false"/"0"): there every newsreader is installed, so
 * a test that would skip must fail instead.
 */
bool tui_in_ci(void);

/*
 * For a Check test that needs prog: find it (true, path in out); when it
 * is missing, print "skipped: PROG not installed" and return false, or,
 * under CI, fail the test.
 */
bool tui_need(const char *prog, char *out, size_t cap);

/*
 * Run argv (argv[0] an absolute path) with the given environment (NULL:
 * the caller's), stdin from /dev/null, stdout and stderr captured together
 * into out (truncated to cap - 1 bytes, NUL-terminated; out may be NULL).
 * Kills it after timeout_ms. Returns its exit status, 128 + signal when
 * killed by one, or -1 when it could not be run.
 */
int tui_run(const char *const argv[], const char *const envp[], char *out,
    size_t cap, int timeout_ms);

/* Make a fresh private directory under $TMPDIR (or /tmp). 0 or -1. */
int tui_mkdtemp(char *out, size_t cap, const char *prefix);

/* rm -rf path, never following symbolic links. 0 or -1. */
int tui_rmrf(const char *path);

#endif
