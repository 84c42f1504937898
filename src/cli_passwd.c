/*
 * cli_passwd.c - `newsgate passwd`: add a posting account or change its
 * password (RFC 4643 AUTHINFO USER/PASS accounts, see auth.h).
 *
 * The password comes from the terminal, asked twice without echo, or,
 * when stdin is not a terminal, as one line from stdin (for scripts:
 * `echo secret | newsgate passwd alice`). It is never written anywhere but
 * as a hash, and the buffers that held it are wiped.
 *
 * The accounts file is <spool>/.newsgate/accounts, replaced through
 * spool_private_replace() (only spool.c writes under the spool), or the
 * file named by --file, replaced by auth_set(). Either way writers are
 * serialised by auth_lock() and the file is created mode 0600.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <limits.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"
#include "auth.h"
#include "cli.h"

#define PASSWD_USAGE                                                           \
	"passwd [--spool DIR] [--config FILE] [--file ACCOUNTS] USER"

/* A password line as read: AUTH_PASS_MAX octets, CR, LF, NUL. */
#define PASSWD_LINE_MAX (AUTH_PASS_MAX + 3)

/*
 * Read one line from fp into dst (cap octets) without its line end.
 * Returns 0; -1 at end of input before any line; -2 when the line does not
 * fit (the rest of it is consumed).
 */
static int
passwd_read_line(FILE *fp, char *dst, size_t cap)
{
	size_t len;
	int c;

	if (fgets(dst, (int)cap, fp) == NULL)
		return -1;
	len = strlen(dst);
	if (len > 0 && dst[len - 1] == '\n') {
		dst[--len] = '\0';
	} else if (!feof(fp)) {
		while ((c = getc(fp)) != EOF && c != '\n')
			;
		explicit_bzero(dst, cap);
		return -2;
	}
	if (len > 0 && dst[len - 1] == '\r')
		dst[--len] = '\0';
	return 0;
}

/*
 * Ask on the terminal with echo off. Signals from the keyboard are off
 * too, so ^C arrives as a character (and aborts here) instead of killing
 * us with echo still off; ^D at the start of a line is end of input.
 */
static int
passwd_ask(const char *prompt, char *dst, size_t cap)
{
	struct termios saved, quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		return -1;
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ISIG);
	quiet.c_lflag |= ECHONL | ICANON;
	/* Prompt once echo is off: what was typed before is flushed. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1)
		return -1;
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	rc = passwd_read_line(stdin, dst, cap);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	if (rc == 0 && strchr(dst, '\003') != NULL) {
		explicit_bzero(dst, cap);
		return -1; /* ^C */
	}
	return rc;
}

/* The password into pw (PASSWD_LINE_MAX octets). 0, or -1 (reported). */
static int
passwd_get(const char *user, char *pw)
{
	char again[PASSWD_LINE_MAX], prompt[AUTH_USER_MAX + 32];
	int rc;

	if (!isatty(STDIN_FILENO)) {
		rc = passwd_read_line(stdin, pw, PASSWD_LINE_MAX);
		if (rc == -1)
			fprintf(stderr, "newsgate: no password on stdin\n");
	} else {
		(void)str_printf(
		    prompt, sizeof(prompt), "Password for %s: ", user);
		rc = passwd_ask(prompt, pw, PASSWD_LINE_MAX);
		if (rc == 0 &&
		    (rc = passwd_ask("Again: ", again, sizeof(again))) == 0 &&
		    strcmp(pw, again) != 0) {
			fprintf(stderr, "newsgate: the passwords differ\n");
			rc = -1;
		} else if (rc == -1) {
			fprintf(stderr, "newsgate: cancelled\n");
		}
		explicit_bzero(again, sizeof(again));
	}
	if (rc == 0 && strlen(pw) > AUTH_PASS_MAX)
		rc = -2;
	if (rc == -2)
		fprintf(stderr, "newsgate: password over %d octets\n",
		    AUTH_PASS_MAX);
	if (rc != 0)
		return -1;
	if (!auth_password_valid(pw)) {
		fprintf(stderr, "newsgate: the password is empty\n");
		return -1;
	}
	if (strpbrk(pw, " \t") != NULL)
		fprintf(stderr,
		    "newsgate: note: the password has white space; "
		    "some newsreaders cannot send that (RFC 4643 "
		    "§3.1)\n");
	return 0;
}

/* Set the password in the spool's accounts file. 0 or -1 (reported). */
static int
passwd_spool(const struct config *c, const char *user, const char *pw)
{
	struct buf old = BUF_INIT(AUTH_FILE_MAX + 65536);
	struct buf text = BUF_INIT(SIZE_MAX);
	char path[PATH_MAX];
	struct spool *sp;
	mode_t mask;
	int lockfd = -1, rc = -1;

	if (!auth_default_path(c->spool_dir, path, sizeof(path))) {
		fprintf(stderr, "newsgate: spool path too long\n");
		return -1;
	}
	if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_WRITE)) == NULL) {
		fprintf(stderr, "newsgate: spool %s: %s\n", c->spool_dir,
		    strerror(errno));
		return -1;
	}
	if ((lockfd = auth_lock(path)) == -1) {
		fprintf(
		    stderr, "newsgate: lock %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (spool_private_read(sp, AUTH_ACCOUNTS, &old) == -1 &&
	    errno != ENOENT) {
		fprintf(stderr, "newsgate: %s: %s\n", path,
		    errno == EMSGSIZE ? "too large" : strerror(errno));
		goto out;
	}
	if (auth_update(old.data, old.len, user, pw, &text) == -1) {
		fprintf(stderr, "newsgate: %s: %s\n", path,
		    errno == EFBIG ? "too large" : strerror(errno));
		goto out;
	}
	/* The file holds password hashes: its owner only. */
	mask = umask(077);
	rc = spool_private_replace(sp, AUTH_ACCOUNTS, text.data, text.len);
	(void)umask(mask);
	if (rc == -1)
		fprintf(
		    stderr, "newsgate: write %s: %s\n", path, strerror(errno));
out:
	auth_unlock(lockfd);
	spool_close(sp);
	if (text.data)
		explicit_bzero(text.data, text.len);
	buf_free(&text);
	buf_free(&old);
	if (rc == 0)
		printf("newsgate: password set for %s in %s\n", user, path);
	return rc;
}

int
cli_passwd(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"spool", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL, *file = NULL, *user;
	char pw[PASSWD_LINE_MAX];
	struct config c;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "s:c:f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			return cli_usage(PASSWD_USAGE);
		}
	}
	if (argc - optind != 1)
		return cli_usage(PASSWD_USAGE);
	user = argv[optind];
	if (!auth_user_valid(user)) {
		fprintf(stderr,
		    "newsgate: bad user name: 1 to %d octets, no "
		    "':', white space or control characters, not "
		    "starting with '#'\n",
		    AUTH_USER_MAX);
		return 1;
	}
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	/* The accounts setting names the server's file (newsgate.conf(5)). */
	if (file == NULL && c.accounts != NULL)
		file = c.accounts;
	if (passwd_get(user, pw) == -1) {
		rc = 1;
	} else if (file != NULL) {
		if ((rc = auth_set(file, user, pw)) == -1)
			fprintf(stderr, "newsgate: %s: %s\n", file,
			    errno == EFBIG ? "too large" : strerror(errno));
		else
			printf("newsgate: password set for %s in %s\n", user,
			    file);
		rc = rc == 0 ? 0 : 1;
	} else {
		rc = passwd_spool(&c, user, pw) == 0 ? 0 : 1;
	}
	explicit_bzero(pw, sizeof(pw));
	config_fini(&c);
	return rc;
}
