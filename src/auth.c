/*
 * auth.c - posting accounts (see auth.h for the file format and the
 * contracts): the accounts file parsed into a sorted table, password
 * checks through libcrypt, the text of an updated file, its atomic
 * replacement outside the spool, and the failure throttle.
 *
 * It owns the in-memory copy of the accounts file and nothing on disk but
 * what auth_set() is asked to write. It must never compare a password
 * itself, never log one, and never take time that depends on whether a
 * user exists.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <crypt.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "common.h"
#include "auth.h"

#define AUTH_HASH_PREFIX "$y$" /* yescrypt */
#define AUTH_THROTTLE_PROBES 8 /* slots searched for one key */

struct account {
	const char *user; /* points into auth->text */
	const char *hash; /* points into auth->text; crypt(3) string */
	size_t line;	  /* 1-based line number, to keep the first of
			     duplicates */
};

/* What identifies one version of the file; present == false: no file. */
struct auth_stamp {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct auth {
	char *path;		 /* owned */
	bool loaded;		 /* stamp describes what is loaded */
	bool failed;		 /* that version could not be read */
	struct auth_stamp stamp; /* version loaded (or failed) */
	char *text;		 /* owned; the file, NUL-split in place */
	struct account *acc;	 /* owned; sorted by user, then line */
	size_t nacc;
	struct crypt_data *cd; /* owned; crypt_rn's 32 KiB work area */
	char dummy[CRYPT_GENSALT_OUTPUT_SIZE]; /* a setting hashed for
						  unknown users */
};

/* --- names and passwords --------------------------------------------- */

bool
auth_user_valid(const char *user)
{
	size_t i, len = strlen(user);

	/* '#' would start a comment line. */
	if (len == 0 || len > AUTH_USER_MAX || user[0] == '#')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c <= ' ' || c == 0x7f || c == ':')
			return false;
	}
	return true;
}

bool
auth_password_valid(const char *password)
{
	size_t len = strlen(password);

	return len > 0 && len <= AUTH_PASS_MAX &&
	    strpbrk(password, "\r\n") == NULL;
}

bool
auth_default_path(const char *spool_dir, char *dst, size_t cap)
{
	return str_printf(
	    dst, cap, "%s/.newsgate/%s", spool_dir, AUTH_ACCOUNTS);
}

/* Equal strings, in time that depends on the lengths only. */
static bool
auth_equal(const char *a, const char *b)
{
	size_t i, len = strlen(a);
	volatile unsigned char diff = 0;

	if (len != strlen(b))
		return false;
	for (i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* --- reading the file ------------------------------------------------- */

/* Read the file at fd (at most max octets) into out, which is
 * initialised here and holds nothing on failure. */
static int
auth_read_fd(int fd, struct buf *out, size_t max)
{
	char chunk[8192];
	ssize_t n;

	buf_init(out, max);
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		buf_append(out, chunk, (size_t)n);
		if (out->err) {
			errno = EFBIG;
			goto fail;
		}
	}
	return 0;
fail:
	buf_free(out);
	return -1;
}

static void
auth_stamp_of(const struct stat *st, struct auth_stamp *s)
{
	s->present = true;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
}

static bool
auth_stamp_eq(const struct auth_stamp *a, const struct auth_stamp *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int
auth_cmp(const void *x, const void *y)
{
	const struct account *a = x, *b = y;
	int c = strcmp(a->user, b->user);

	if (c != 0)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int
auth_cmp_user(const void *x, const void *y)
{
	const struct account *a = x, *b = y;

	return strcmp(a->user, b->user);
}

/* Parse text (owned by a, NUL-terminated) into a->acc. */
static void
auth_parse(struct auth *a)
{
	char *line = a->text, *next, *colon, *end;
	size_t lineno = 0, cap = 0, i, j;

	for (; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strlen(line) > AUTH_LINE_MAX) {
			log_warnx(
			    "auth: %s:%zu: line too long", a->path, lineno);
			continue;
		}
		if ((end = strchr(line, '\r')) != NULL && end[1] == '\0')
			*end = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL) {
			log_warnx("auth: %s:%zu: no ':'", a->path, lineno);
			continue;
		}
		*colon = '\0';
		if ((end = strchr(colon + 1, ':')) != NULL)
			*end = '\0'; /* reserved fields */
		if (!auth_user_valid(line) || colon[1] == '\0') {
			log_warnx("auth: %s:%zu: bad user name or empty "
				  "hash",
			    a->path, lineno);
			continue;
		}
		if (a->nacc == cap) {
			cap = cap ? cap * 2 : 16;
			a->acc = xreallocarray(a->acc, cap, sizeof(*a->acc));
		}
		a->acc[a->nacc].user = line;
		a->acc[a->nacc].hash = colon + 1;
		a->acc[a->nacc].line = lineno;
		a->nacc++;
	}
	if (a->nacc == 0)
		return;
	qsort(a->acc, a->nacc, sizeof(*a->acc), auth_cmp);
	/* Keep the first line of each user. */
	for (i = 1, j = 0; i < a->nacc; i++) {
		if (strcmp(a->acc[i].user, a->acc[j].user) == 0) {
			log_warnx("auth: %s:%zu: duplicate user %s ignored",
			    a->path, a->acc[i].line, a->acc[i].user);
			continue;
		}
		a->acc[++j] = a->acc[i];
	}
	a->nacc = j + 1;
}

static void
auth_unload(struct auth *a)
{
	free(a->text);
	free(a->acc);
	a->text = NULL;
	a->acc = NULL;
	a->nacc = 0;
}

/*
 * Bring the table up to date with the file. Returns 0, or -1 when the
 * current version cannot be read (logged once per version).
 */
static int
auth_reload(struct auth *a)
{
	struct auth_stamp now = {0};
	struct buf text;
	struct stat st;
	int fd;

	if (stat(a->path, &st) == 0)
		auth_stamp_of(&st, &now);
	else if (errno != ENOENT)
		now.present = true; /* unreadable: try below, and fail */
	if (a->loaded && auth_stamp_eq(&now, &a->stamp))
		return a->failed ? -1 : 0;
	auth_unload(a);
	a->loaded = true;
	a->failed = false;
	a->stamp = now;
	if (!now.present)
		return 0;
	if ((fd = open(a->path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1 || auth_read_fd(fd, &text, AUTH_FILE_MAX)) {
		int e = errno;

		close(fd);
		errno = e;
		goto fail;
	}
	close(fd);
	/* What was read is what fstat saw (the file is replaced by rename,
	 * never rewritten in place). */
	auth_stamp_of(&st, &a->stamp);
	a->text = buf_steal(&text);
	auth_parse(a);
	return 0;
fail:
	log_warn("auth: %s", a->path);
	a->failed = true;
	return -1;
}

/* --- checking --------------------------------------------------------- */

struct auth *
auth_new(const char *path)
{
	struct auth *a = xcalloc(1, sizeof(*a));

	a->path = xstrdup(path);
	a->cd = xcalloc(1, sizeof(*a->cd));
	/* Same method and cost as a real account, so an unknown user takes
	 * as long. */
	if (crypt_gensalt_rn(AUTH_HASH_PREFIX, 0, NULL, 0, a->dummy,
		sizeof(a->dummy)) == NULL)
		fatal("auth: crypt_gensalt");
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	auth_unload(a);
	explicit_bzero(a->cd, sizeof(*a->cd));
	free(a->cd);
	free(a->path);
	free(a);
}

size_t
auth_count(const struct auth *a)
{
	return a->nacc;
}

enum auth_result
auth_check(struct auth *a, const char *user, const char *password)
{
	struct account key = {user, NULL, 0}, *acc = NULL;
	const char *out;
	bool ok;

	if (auth_reload(a) == -1)
		return AUTH_ERROR;
	if (!auth_user_valid(user) || strlen(password) > AUTH_PASS_MAX)
		return AUTH_FAIL; /* no such account can exist */
	if (a->nacc > 0)
		acc = bsearch(
		    &key, a->acc, a->nacc, sizeof(*a->acc), auth_cmp_user);
	if (acc != NULL &&
	    (out = crypt_rn(password, acc->hash, a->cd, sizeof(*a->cd))) !=
		NULL) {
		ok = auth_equal(out, acc->hash);
	} else {
		/* Unknown or locked: spend the same time, then refuse. */
		(void)crypt_rn(password, a->dummy, a->cd, sizeof(*a->cd));
		ok = false;
	}
	explicit_bzero(a->cd->output, sizeof(a->cd->output));
	return ok ? AUTH_OK : AUTH_FAIL;
}

/* --- writing ---------------------------------------------------------- */

/* Does the line of len octets at p hold user's account? */
static bool
auth_line_is(const char *p, size_t len, const char *user)
{
	size_t ulen = strlen(user);

	return len > ulen && memcmp(p, user, ulen) == 0 && p[ulen] == ':';
}

int
auth_update(const char *old, size_t len, const char *user, const char *password,
    struct buf *out)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *p, *end, *nl, *hash;
	bool done = false;
	int rc = -1;

	buf_reset(out);
	if (!auth_user_valid(user) || !auth_password_valid(password)) {
		errno = EINVAL;
		return -1;
	}
	cd = xcalloc(1, sizeof(*cd));
	errno = 0;
	if (crypt_gensalt_rn(
		AUTH_HASH_PREFIX, 0, NULL, 0, salt, sizeof(salt)) == NULL ||
	    (hash = crypt_rn(password, salt, cd, sizeof(*cd))) == NULL ||
	    strncmp(hash, AUTH_HASH_PREFIX, strlen(AUTH_HASH_PREFIX)) != 0) {
		if (errno == 0)
			errno = EINVAL;
		goto out;
	}
	for (p = old, end = old ? old + len : NULL; p != NULL && p < end;
	     p = nl) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		n = (size_t)(nl - p);
		if (auth_line_is(p, n, user)) {
			if (!done)
				buf_printf(out, "%s:%s\n", user, hash);
			done = true;
			continue;
		}
		buf_append(out, p, n);
		if (p[n - 1] != '\n')
			buf_putc(out, '\n');
	}
	if (!done)
		buf_printf(out, "%s:%s\n", user, hash);
	if (out->len > AUTH_FILE_MAX || out->err) {
		errno = EFBIG;
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int
auth_lock(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL) {
		(void)str_copy(dir, sizeof(dir), ".");
	} else if (slash == path) {
		(void)str_copy(dir, sizeof(dir), "/");
	} else if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

void
auth_unlock(int fd)
{
	if (fd != -1)
		close(fd); /* drops the flock */
}

/* Write data to a fresh temporary file next to path and rename it over
 * path; dirfd is the directory, fsynced after the rename. */
static int
auth_replace(const char *path, int dirfd, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd;

	if (!str_printf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	if (fchmod(fd, 0600) == -1 || write_all(fd, data, len) == -1 ||
	    fsync(fd) == -1) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return -1;
	}
	return fsync(dirfd);
}

int
auth_set(const char *path, const char *user, const char *password)
{
	struct buf old = BUF_INIT(AUTH_FILE_MAX), text = BUF_INIT(SIZE_MAX);
	int lockfd, fd, rc = -1, e;

	if (!auth_user_valid(user) || !auth_password_valid(password)) {
		errno = EINVAL;
		return -1;
	}
	if ((lockfd = auth_lock(path)) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			goto out;
	} else {
		int r = auth_read_fd(fd, &old, AUTH_FILE_MAX);

		e = errno;
		close(fd);
		errno = e;
		if (r == -1)
			goto out;
	}
	if (auth_update(old.data, old.len, user, password, &text) == -1 ||
	    auth_replace(path, lockfd, text.data, text.len) == -1)
		goto out;
	rc = 0;
out:
	e = errno;
	if (text.data)
		explicit_bzero(text.data, text.len);
	buf_free(&old);
	buf_free(&text);
	auth_unlock(lockfd);
	errno = e;
	return rc;
}

/* --- throttle --------------------------------------------------------- */

struct throttle_slot {
	uint64_t h;	  /* hash of the key (never 0); 0: free */
	uint64_t last_ms; /* time of the last failure */
	uint32_t fails;	  /* failures since the key was clean */
};

struct auth_throttle {
	struct throttle_slot *slots; /* owned; mask + 1 of them */
	size_t mask;
	uint64_t seed; /* random: keys cannot be chosen to collide */
};

struct auth_throttle *
auth_throttle_new(size_t slots)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));
	size_t n = 1;

	while (n < slots && n < ((size_t)1 << 30))
		n <<= 1;
	t->slots = xcalloc(n, sizeof(*t->slots));
	t->mask = n - 1;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed))
		t->seed = now_ms() ^ ((uint64_t)getpid() << 32);
	return t;
}

void
auth_throttle_free(struct auth_throttle *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

static uint64_t
throttle_hash(const struct auth_throttle *t, const char *key)
{
	uint64_t h = hash64(key, strlen(key), t->seed);

	return h ? h : 1;
}

static bool
throttle_stale(const struct throttle_slot *s, uint64_t now_ms)
{
	return now_ms > s->last_ms &&
	    now_ms - s->last_ms >= AUTH_THROTTLE_FORGET_MS;
}

/* The slot of key, or NULL. */
static struct throttle_slot *
throttle_find(const struct auth_throttle *t, uint64_t h)
{
	size_t i,
	    n = t->mask + 1 < AUTH_THROTTLE_PROBES ? t->mask + 1
						   : AUTH_THROTTLE_PROBES;

	for (i = 0; i < n; i++) {
		struct throttle_slot *s = &t->slots[(h + i) & t->mask];

		if (s->h == h)
			return s;
	}
	return NULL;
}

/* A slot for a new key: a free or stale one, else the oldest. */
static struct throttle_slot *
throttle_claim(struct auth_throttle *t, uint64_t h, uint64_t now_ms)
{
	size_t i,
	    n = t->mask + 1 < AUTH_THROTTLE_PROBES ? t->mask + 1
						   : AUTH_THROTTLE_PROBES;
	struct throttle_slot *best = &t->slots[h & t->mask];

	for (i = 0; i < n; i++) {
		struct throttle_slot *s = &t->slots[(h + i) & t->mask];

		if (s->h == 0 || throttle_stale(s, now_ms)) {
			best = s;
			break;
		}
		if (s->last_ms < best->last_ms)
			best = s;
	}
	best->h = h;
	best->fails = 0;
	best->last_ms = now_ms;
	return best;
}

int64_t
auth_throttle_fail(struct auth_throttle *t, const char *key, uint64_t now_ms)
{
	uint64_t h = throttle_hash(t, key);
	struct throttle_slot *s = throttle_find(t, h);
	int64_t delay;

	if (s == NULL)
		s = throttle_claim(t, h, now_ms);
	else if (throttle_stale(s, now_ms))
		s->fails = 0;
	if (s->fails < UINT32_MAX)
		s->fails++;
	s->last_ms = now_ms;
	if (s->fails >= AUTH_THROTTLE_FAILS_MAX)
		return -1;
	delay = AUTH_THROTTLE_BASE_MS;
	for (uint32_t i = 1; i < s->fails && delay < AUTH_THROTTLE_DELAY_MAX_MS;
	     i++)
		delay *= 2;
	return delay < AUTH_THROTTLE_DELAY_MAX_MS ? delay
						  : AUTH_THROTTLE_DELAY_MAX_MS;
}

bool
auth_throttle_locked(
    const struct auth_throttle *t, const char *key, uint64_t now_ms)
{
	const struct throttle_slot *s = throttle_find(t, throttle_hash(t, key));

	return s != NULL && s->fails >= AUTH_THROTTLE_FAILS_MAX &&
	    !throttle_stale(s, now_ms);
}

void
auth_throttle_success(struct auth_throttle *t, const char *key)
{
	struct throttle_slot *s = throttle_find(t, throttle_hash(t, key));

	if (s != NULL)
		memset(s, 0, sizeof(*s));
}
