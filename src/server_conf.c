/*
 * server_conf.c - the server's configuration and start-up: the settings
 * config.c keeps as text (checked here), the command line over the file,
 * SIGHUP, the accounts file, the spool (opened for writing when posts are
 * taken), and the user to become when started as root (server.h), with
 * the hand-over of a root-owned spool to it.
 *
 * The hand-over is the server's only change under the spool: ownership
 * (fchownat, never following a symbolic link); spool.c writes the rest.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "common.h"
#include "cli.h"
#include "server_int.h"

/* The settings config.c keeps as text, checked here. */
static int
policy_parse(const char *v, enum session_post_policy *out)
{
	static const struct {
		const char *name;
		enum session_post_policy p;
	} tab[] = {
	    {"anyone", SESSION_POST_ANYONE},
	    {"authenticated", SESSION_POST_AUTHENTICATED},
	    {"loopback", SESSION_POST_LOOPBACK},
	    {"nobody", SESSION_POST_NOBODY},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(tab); i++)
		if (v != NULL && strcasecmp(v, tab[i].name) == 0) {
			*out = tab[i].p;
			return 0;
		}
	return -1;
}

static int
plain_parse(const char *v, enum session_plain_auth *out)
{
	if (v != NULL && strcasecmp(v, "loopback") == 0)
		*out = SESSION_PLAIN_LOOPBACK;
	else if (v != NULL && strcasecmp(v, "yes") == 0)
		*out = SESSION_PLAIN_YES;
	else if (v != NULL && strcasecmp(v, "no") == 0)
		*out = SESSION_PLAIN_NO;
	else
		return -1;
	return 0;
}

/* The command line wins over the file (at start and on SIGHUP). */
void
server_apply_opts(struct config *c, const struct server_opts *o)
{
	static const struct {
		size_t conf_off, opt_off;
	} tab[] = {
	    {offsetof(struct config, tls_listen),
		offsetof(struct server_opts, tls_listen)},
	    {offsetof(struct config, tls_cert),
		offsetof(struct server_opts, tls_cert)},
	    {offsetof(struct config, tls_key),
		offsetof(struct server_opts, tls_key)},
	    {offsetof(struct config, user), offsetof(struct server_opts, user)},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(tab); i++) {
		char **dst = (char **)(void *)((char *)c + tab[i].conf_off);
		const char *v =
		    *(const char *const *)(const void *)((const char *)o +
			tab[i].opt_off);

		if (v == NULL)
			continue;
		free(*dst);
		*dst = *v ? xstrdup(v) : NULL;
	}
}

int
server_conf_check(const struct config *c, struct buf *err)
{
	enum session_post_policy pp;
	enum session_plain_auth pa;

	if (policy_parse(c->post_policy, &pp) == -1) {
		buf_printf(err,
		    "post_policy: '%s': want anyone, authenticated, "
		    "loopback or nobody",
		    c->post_policy ? c->post_policy : "");
		return -1;
	}
	if (plain_parse(c->auth_plaintext, &pa) == -1) {
		buf_printf(err,
		    "auth_plaintext: '%s': want loopback, yes or no",
		    c->auth_plaintext ? c->auth_plaintext : "");
		return -1;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		buf_puts(err, "tls_cert and tls_key go together");
		return -1;
	}
	return 0;
}

void
server_apply_conf(struct server *sv)
{
	if (!str_copy(sv->hostname, sizeof(sv->hostname), sv->conf.hostname))
		log_warnx("serve: hostname truncated to %s", sv->hostname);
	sv->sconf.hostname = sv->hostname;
	sv->sconf.posting = sv->wr != NULL;
	sv->sconf.out_high = SESSION_OUT_HIGH;
	sv->sconf.server_refreshes = true;
	sv->ssrv.ops = &server_ops;
	sv->ssrv.ops_arg = sv;
	(void)policy_parse(sv->conf.post_policy, &sv->ssrv.post_policy);
	(void)plain_parse(sv->conf.auth_plaintext, &sv->ssrv.auth_plaintext);
	sv->ssrv.tls = sv->tls != NULL;
	sv->ssrv.max_article_bytes = sv->conf.max_article_bytes;
	sv->ssrv.post_rate = sv->conf.post_rate;
}

/* An absolute path (the daemon leaves the working directory). */
char *
server_absolute(const char *path)
{
	char cwd[4096];
	struct buf b = BUF_INIT(SIZE_MAX);

	if (path == NULL)
		return NULL;
	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	buf_printf(&b, "%s/%s", cwd, path);
	return buf_steal(&b);
}

/* The accounts file named by the configuration (auth.h). */
void
server_accounts(struct server *sv)
{
	char def[4096];
	char *path;

	if (sv->conf.accounts != NULL)
		path = server_absolute(sv->conf.accounts);
	else if (auth_default_path(sv->conf.spool_dir, def, sizeof(def)))
		path = server_absolute(def);
	else
		fatalx("serve: spool path too long");
	if (sv->accounts != NULL && strcmp(path, sv->accounts) == 0) {
		free(path);
		return;
	}
	auth_free(sv->auth);
	free(sv->accounts);
	sv->accounts = path;
	sv->auth = auth_new(path);
}

/* SIGHUP: limits, timeouts, names, posting policy and the accounts file
 * change at once; listeners, TLS certificates, the user and the spool
 * directory need a restart. */
void
server_reload(struct server *sv)
{
	struct buf err = BUF_INIT(1024);
	struct config nc;

	if (cli_config(&nc, sv->opts->config_path, sv->opts->spool_dir) == -1) {
		log_warnx("reload: keeping the previous configuration");
		return;
	}
	server_apply_opts(&nc, sv->opts);
	if (server_conf_check(&nc, &err) == -1) {
		log_warnx("reload: %s: keeping the previous configuration",
		    buf_cstr(&err));
		buf_free(&err);
		config_fini(&nc);
		return;
	}
	buf_free(&err);
	if (strcmp(nc.spool_dir, sv->conf.spool_dir) != 0)
		log_warnx("reload: spool %s: a restart is needed to change it",
		    nc.spool_dir);
	if ((nc.tls_cert == NULL) != (sv->conf.tls_cert == NULL) ||
	    (nc.tls_cert != NULL &&
		(strcmp(nc.tls_cert, sv->conf.tls_cert) ||
		    strcmp(nc.tls_key, sv->conf.tls_key))))
		log_warnx("reload: TLS certificates change at a restart");
	config_fini(&sv->conf);
	sv->conf = nc;
	server_apply_conf(sv);
	if (sv->wr == NULL && sv->ssrv.post_policy != SESSION_POST_NOBODY)
		log_warnx("reload: the spool is open read-only: posting needs "
			  "a restart");
	server_accounts(sv);
	log_info("reload: configuration %s loaded",
	    sv->conf.path ? sv->conf.path : "(defaults)");
}

void
server_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("serve: raise the open file limit");
	}
}

/*
 * The spool: the writer thread's handle, for posts, unless post_policy is
 * "nobody" or the spool cannot be written (then POST is refused); and the
 * sessions' read-only one. A missing spool is created with the configured
 * groups.
 */
void
server_spool_open(struct server *sv)
{
	const struct config *c = &sv->conf;
	struct spool *sp;

	if (sv->ssrv.post_policy != SESSION_POST_NOBODY)
		sv->wr = writer_open(sv);
	if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_READ)) == NULL) {
		if (errno != ENOENT)
			fatal("serve: spool %s", c->spool_dir);
		/* First start: let spool.c create an empty spool with the
		 * configured groups, then serve it read-only. */
		if ((sp = cli_spool_open(c, SPOOL_WRITE)) == NULL)
			fatalx(
			    "serve: cannot create a spool in %s", c->spool_dir);
		spool_close(sp);
		log_info("created an empty spool in %s", c->spool_dir);
		if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_READ)) ==
		    NULL)
			fatal("serve: spool %s", c->spool_dir);
	}
	sv->sp = sp;
}

/* chown every file under the directory dfd (closed here), symlinks
 * themselves and never their targets. */
static int
chown_tree(int dfd, uid_t uid, gid_t gid, size_t *n)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fchown(dfd, uid, gid) == -1 || (d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	(*n)++;
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1) {
				rc = chown_tree(fd, uid, gid, n);
				continue;
			}
			if (errno != ENOTDIR && errno != ELOOP)
				rc = -1;
		}
		if (rc == 0 &&
		    fchownat(dirfd(d), de->d_name, uid, gid,
			AT_SYMLINK_NOFOLLOW) == -1)
			rc = -1;
		(*n)++;
	}
	if (rc == 0 && errno != 0)
		rc = -1;
	closedir(d);
	return rc;
}

/*
 * Started as root: whom to become (server.h). A spool that belongs to
 * root is handed to that user when posts are to be written to it.
 */
void
server_user(struct server *sv)
{
	const char *want = sv->conf.user;
	struct passwd *pw = NULL;
	struct stat st;
	size_t n = 0;
	int fd;

	if (geteuid() != 0)
		return; /* nothing to drop */
	if (want != NULL && strcmp(want, "root") == 0) {
		log_warnx("serve: running as root (user = root)");
		return;
	}
	if (want != NULL) {
		if ((pw = getpwnam(want)) == NULL)
			fatalx("serve: user %s: no such user", want);
	} else {
		if (stat(sv->conf.spool_dir, &st) == 0 && st.st_uid != 0)
			pw = getpwuid(st.st_uid);
		if (pw == NULL)
			pw = getpwnam("news");
		if (pw == NULL)
			pw = getpwnam("nobody");
		if (pw == NULL)
			fatalx("serve: no user news or nobody to run as: set "
			       "user in newsgate.conf");
	}
	if (pw->pw_uid == 0) {
		log_warnx("serve: running as root (user %s)", pw->pw_name);
		return;
	}
	sv->uid = pw->pw_uid;
	sv->gid = pw->pw_gid;
	if (!str_copy(sv->user, sizeof(sv->user), pw->pw_name))
		fatalx("serve: user name too long: %s", pw->pw_name);
	if ((fd = open(sv->conf.spool_dir,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("serve: spool %s", sv->conf.spool_dir);
	if (fstat(fd, &st) == -1)
		fatal("serve: spool %s", sv->conf.spool_dir);
	/* Only a writer needs the spool to be its own. */
	if (st.st_uid != 0 || sv->wr == NULL) {
		close(fd);
		return;
	}
	if (chown_tree(fd, sv->uid, sv->gid, &n) == -1)
		fatal("serve: hand the spool %s to user %s", sv->conf.spool_dir,
		    sv->user);
	log_info("handed the spool %s (%zu files) to user %s",
	    sv->conf.spool_dir, n, sv->user);
}

/* Become sv->user for good (the listeners and the TLS key are ours). */
void
server_drop(struct server *sv)
{
	int fd;

	if (sv->uid == 0)
		return;
	fd = open(sv->conf.spool_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (initgroups(sv->user, sv->gid) == -1 || setgid(sv->gid) == -1 ||
	    setuid(sv->uid) == -1)
		fatal("serve: become user %s", sv->user);
	if (setuid(0) != -1)
		fatalx("serve: still root after becoming %s", sv->user);
	log_info("running as user %s", sv->user);
	if (sv->wr != NULL && fd != -1 &&
	    (faccessat(fd, "articles", W_OK, AT_EACCESS) == -1 ||
		faccessat(fd, "data", W_OK, AT_EACCESS) == -1))
		log_warnx("serve: user %s cannot write the spool %s: posts "
			  "will fail (chown -R %s it)",
		    sv->user, sv->conf.spool_dir, sv->user);
	if (fd != -1)
		close(fd);
}

void
server_write_pid_file(const char *path)
{
	char line[32];
	int fd, len;

	len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
		-1 ||
	    write_all(fd, line, (size_t)len) == -1 || close(fd) == -1)
		fatal("serve: pid file %s", path);
}
