/*
 * tui.c - run real terminal newsreaders under a private tmux server for the
 * end-to-end tests (see tui.h). Owns the tmux server it starts and the
 * processes it runs; never touches a tmux server it did not start (every
 * command names its own socket) and never inherits the caller's
 * environment into a pane.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <check.h>

#include "common.h"
#include "tui.h"

#define TUI_SESSION "ng"
#define TUI_CMD_TIMEOUT_MS 10000 /* one tmux command */
#define TUI_POLL_MS 50		 /* between two captures in tui_wait */
#define TUI_PATH "/usr/local/bin:/usr/bin:/bin"

/* The clean environment of every tmux command, and so of every pane. */
struct tui_env {
	char home[PATH_MAX + 8];
	char tmpdir[PATH_MAX + 16];
	const char *vars[10];
};

static void
tui_env_init(struct tui_env *e, const struct tui *t)
{
	size_t n = 0;

	if (!str_printf(e->home, sizeof(e->home), "HOME=%s", t->home) ||
	    !str_printf(e->tmpdir, sizeof(e->tmpdir), "TMUX_TMPDIR=%s", t->dir))
		abort(); /* both fit: PATH_MAX-bounded, checked in tui_init */
	e->vars[n++] = e->home;
	e->vars[n++] = e->tmpdir;
	e->vars[n++] = "TERM=xterm";
	e->vars[n++] = "LANG=C.UTF-8";
	e->vars[n++] = "LC_ALL=C.UTF-8";
	e->vars[n++] = "PATH=" TUI_PATH;
	e->vars[n++] = "SHELL=/bin/sh";
	e->vars[n++] = "TZ=UTC";
	e->vars[n] = NULL;
	assert(n < NG_NELEM(e->vars));
}

bool
tui_in_ci(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && *ci != '\0' && strcmp(ci, "false") != 0 &&
	    strcmp(ci, "0") != 0;
}

bool
tui_which(const char *prog, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	const char *p, *end;
	size_t len;

	if (path == NULL || *path == '\0')
		path = TUI_PATH;
	for (p = path; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0 || *p != '/')
			continue;
		if (str_printf(out, cap, "%.*s/%s", (int)len, p, prog) &&
		    access(out, X_OK) == 0)
			return true;
	}
	/* Debian keeps some programs out of a non-root PATH. */
	if (str_printf(out, cap, "/usr/bin/%s", prog) && access(out, X_OK) == 0)
		return true;
	return false;
}

bool
tui_need(const char *prog, char *out, size_t cap)
{
	if (tui_which(prog, out, cap))
		return true;
	if (tui_in_ci())
		ck_abort_msg("%s not installed (CI=true: .ci/run installs it)",
		    prog);
	printf("skipped: %s not installed\n", prog);
	return false;
}

int
tui_mkdtemp(char *out, size_t cap, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	if (!str_printf(out, cap, "%s/%s.XXXXXX", tmp, prefix)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(out) == NULL ? -1 : 0;
}

static int
tui_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

int
tui_rmrf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, tui_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Read what the child wrote until it exits or the deadline passes. */
static void
tui_collect(int fd, pid_t pid, char *out, size_t cap, uint64_t deadline,
    int *status)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t len = 0;
	char sink[4096];
	bool open = true;
	ssize_t n;

	*status = -1;
	for (;;) {
		if (open && poll(&pfd, 1, 20) > 0) {
			char *dst = sink;
			size_t room = sizeof(sink);

			if (out != NULL && len + 1 < cap) {
				dst = out + len;
				room = cap - 1 - len;
			}
			n = read(fd, dst, room);
			if (n > 0 && dst != sink)
				len += (size_t)n;
			else if (n == 0 || (n == -1 && errno != EINTR &&
					       errno != EAGAIN))
				open = false;
		}
		/*
		 * Stop at exit, not at EOF: a daemon the child started (the
		 * tmux server) may hold the pipe open for ever.
		 */
		if (waitpid(pid, status, WNOHANG) == pid) {
			while (open && out != NULL && len + 1 < cap &&
			    (n = read(fd, out + len, cap - 1 - len)) > 0)
				len += (size_t)n;
			break;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, status, 0);
			break;
		}
		if (!open)
			(void)poll(NULL, 0, 10);
	}
	if (out != NULL && cap > 0)
		out[len] = '\0';
}

int
tui_run(const char *const argv[], const char *const envp[], char *out,
    size_t cap, int timeout_ms)
{
	/* execve() does not write to its arguments: shed the const. */
	union {
		const char *const *c;
		char *const *m;
	} av = {.c = argv}, ev = {.c = envp};
	int pfd[2], status, devnull;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull == -1 || dup2(devnull, 0) == -1 ||
		    dup2(pfd[1], 1) == -1 || dup2(pfd[1], 2) == -1)
			_exit(126);
		if (envp != NULL)
			execve(argv[0], av.m, ev.m);
		else
			execv(argv[0], av.m);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	tui_collect(pfd[0], pid, out, cap, now_ms() + (uint64_t)timeout_ms,
	    &status);
	close(pfd[0]);
	if (status == -1)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int
tui_init(struct tui *t, const char *dir, const char *home)
{
	char conf[PATH_MAX];
	FILE *fp;

	memset(t, 0, sizeof(*t));
	if (!str_copy(t->dir, sizeof(t->dir), dir) ||
	    !str_copy(t->home, sizeof(t->home), home) ||
	    !str_printf(t->sock, sizeof(t->sock), "%s/tmux.sock", dir) ||
	    !str_printf(conf, sizeof(conf), "%s/tmux.conf", dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(home, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((fp = fopen(conf, "w")) == NULL)
		return -1;
	/*
	 * remain-on-exit: a program that dies leaves its last screen to
	 * capture. No client ever attaches, so the size new-session gives
	 * stays (and "window-size manual" makes tmux 3.3a's server exit).
	 */
	fputs("set -g default-terminal xterm\n"
	      "set -g default-shell /bin/sh\n"
	      "set -g status off\n"
	      "set -g escape-time 0\n"
	      "set -g remain-on-exit on\n"
	      "set -g history-limit 200\n",
	    fp);
	return fclose(fp) == EOF ? -1 : 0;
}

/* Run one tmux command on our server: tmux -S sock -f conf ARGS... */
static int
tui_tmux(struct tui *t, const char *const args[], char *out, size_t cap)
{
	char tmux[PATH_MAX], conf[PATH_MAX], err[1024];
	const char *argv[24];
	struct tui_env env;
	size_t n = 0, i;
	int rc;

	if (!tui_which("tmux", tmux, sizeof(tmux))) {
		fprintf(stderr, "tui: tmux not found in PATH\n");
		return -1;
	}
	if (!str_printf(conf, sizeof(conf), "%s/tmux.conf", t->dir))
		return -1;
	argv[n++] = tmux;
	argv[n++] = "-S";
	argv[n++] = t->sock;
	argv[n++] = "-f";
	argv[n++] = conf;
	for (i = 0; args[i] != NULL; i++) {
		assert(n + 1 < NG_NELEM(argv));
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	tui_env_init(&env, t);
	if (out == NULL) {
		out = err;
		cap = sizeof(err);
	}
	rc = tui_run(argv, env.vars, out, cap,
	    TUI_CMD_TIMEOUT_MS);
	if (rc != 0) {
		fprintf(stderr, "tui: tmux %s: exit %d: %s\n", args[0], rc,
		    out);
		return -1;
	}
	return 0;
}

int
tui_start(struct tui *t, const char *cmd)
{
	char cols[16], rows[16];
	const char *args[] = {"new-session", "-d", "-s", TUI_SESSION, "-x",
	    cols, "-y", rows, cmd, NULL};

	tui_stop(t); /* a server left by an earlier test */
	if (!str_printf(cols, sizeof(cols), "%d", TUI_COLS) ||
	    !str_printf(rows, sizeof(rows), "%d", TUI_ROWS))
		return -1;
	if (tui_tmux(t, args, NULL, 0) == -1)
		return -1;
	t->started = true;
	return 0;
}

int
tui_keys(struct tui *t, const char *key)
{
	const char *args[] = {"send-keys", "-t", TUI_SESSION, key, NULL};

	return tui_tmux(t, args, NULL, 0);
}

int
tui_type(struct tui *t, const char *text)
{
	const char *args[] = {"send-keys", "-l", "-t", TUI_SESSION, text, NULL};

	return tui_tmux(t, args, NULL, 0);
}

int
tui_capture(struct tui *t)
{
	const char *args[] = {"capture-pane", "-p", "-t", TUI_SESSION, NULL};

	return tui_tmux(t, args, t->screen, sizeof(t->screen));
}

bool
tui_wait(struct tui *t, const char *needle, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		if (tui_capture(t) == 0 && strstr(t->screen, needle) != NULL)
			return true;
		if (now_ms() >= deadline)
			break;
		(void)poll(NULL, 0, TUI_POLL_MS);
	}
	fprintf(stderr,
	    "tui: waited %d ms for \"%s\"; the screen was:\n"
	    "----------------------------------------\n%s"
	    "----------------------------------------\n",
	    timeout_ms, needle, t->screen);
	return false;
}

/* The screen line that holds marker, copied to out ("" when none). */
static void
tui_line_with(const char *screen, const char *marker, char *out, size_t cap)
{
	const char *p = strstr(screen, marker);
	const char *bol, *eol;

	out[0] = '\0';
	if (p == NULL)
		return;
	for (bol = p; bol > screen && bol[-1] != '\n'; bol--)
		continue;
	if ((eol = strchr(p, '\n')) == NULL)
		eol = p + strlen(p);
	(void)str_printf(out, cap, "%.*s", (int)(eol - bol), bol);
}

bool
tui_cursor_to(struct tui *t, const char *marker, const char *text,
    int max_moves, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char line[1024], prev[1024];
	int moves = 0;

	for (;;) {
		if (tui_capture(t) == -1)
			return false;
		tui_line_with(t->screen, marker, line, sizeof(line));
		if (strstr(line, text) != NULL)
			return true;
		if (moves++ == max_moves || tui_keys(t, "Down") == -1)
			break;
		/* Wait for the cursor to move before looking again. */
		memcpy(prev, line, sizeof(prev));
		do {
			if (now_ms() >= deadline)
				goto fail;
			(void)poll(NULL, 0, TUI_POLL_MS);
			if (tui_capture(t) == -1)
				return false;
			tui_line_with(t->screen, marker, line, sizeof(line));
		} while (strcmp(line, prev) == 0);
	}
fail:
	fprintf(stderr,
	    "tui: cursor (%s) never reached \"%s\"; the screen was:\n"
	    "----------------------------------------\n%s"
	    "----------------------------------------\n",
	    marker, text, t->screen);
	return false;
}

void
tui_stop(struct tui *t)
{
	const char *args[] = {"kill-server", NULL};
	char out[256];
	struct stat st;

	if (t->sock[0] == '\0' || stat(t->sock, &st) == -1)
		return;
	(void)tui_tmux(t, args, out, sizeof(out));
	(void)unlink(t->sock);
	t->started = false;
}
