/*
 * auth.h - posting accounts: the accounts file, password checks for
 * AUTHINFO USER/PASS (RFC 4643), and a throttle for failed attempts.
 *
 * The accounts file (default <spool>/.newsgate/accounts, mode 0600) is
 * text, one account per line:
 *
 *	user:hash
 *
 * user is 1..AUTH_USER_MAX octets with no ':', no white space and no
 * control characters (UTF-8 allowed). hash is a crypt(3) string from
 * libcrypt, yescrypt ("$y$...") when written by newsgate; any method
 * libcrypt knows is accepted on reading. A hash that crypt cannot use
 * ("!", "*", or "!" put in front of a real hash) locks the account. Lines
 * that are empty or start with '#' are comments; further ':'-separated
 * fields after the hash are reserved and ignored. The file is written
 * whole by `newsgate passwd` (auth_update/auth_set), never edited in place.
 *
 * SECURITY: user and password come from the network (AUTHINFO, each
 * bounded by the 512-octet command line, and here by AUTH_USER_MAX and
 * AUTH_PASS_MAX). A password is compared only through crypt_rn() and a
 * constant-time comparison of the results; an unknown user costs the same
 * hash as a known one, so timing tells nothing about which names exist.
 * The file is the administrator's, but is still read with a size ceiling
 * (AUTH_FILE_MAX) and bounded lines. A check runs one yescrypt hash
 * (tens of milliseconds of CPU): the server must throttle attempts
 * (struct auth_throttle) so that guessing cannot monopolise it.
 */
#ifndef NG_AUTH_H
#define NG_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AUTH_USER_MAX 64	 /* octets in a user name */
#define AUTH_PASS_MAX 256	 /* octets in a password */
#define AUTH_LINE_MAX 1024	 /* octets in a line of the accounts file */
#define AUTH_FILE_MAX (4 << 20)	 /* octets in the accounts file */
#define AUTH_ACCOUNTS "accounts" /* its name in <spool>/.newsgate/ */

/* Result of auth_check(). */
enum auth_result {
	AUTH_ERROR = -1, /* the file could not be read (logged): 403 */
	AUTH_OK = 0,	 /* user exists and the password is right: 281 */
	AUTH_FAIL = 1,	 /* wrong password, unknown or locked user: 481 */
};

/* Is this a valid user name (see above)? */
bool auth_user_valid(const char *user);
/* Can this password be stored: 1..AUTH_PASS_MAX octets, no NUL, CR or
 * LF? (RFC 4643 §3.1 allows spaces only where the server takes the rest
 * of the AUTHINFO PASS line as the password.) */
bool auth_password_valid(const char *password);

/* "<spool_dir>/.newsgate/accounts" into dst; false when it does not fit. */
bool auth_default_path(const char *spool_dir, char *dst, size_t cap);

/* --- checking -------------------------------------------------------- */

struct auth;

/* Accounts read from path, loaded on the first check and again whenever
 * the file changes (another inode, size or mtime). Never fails; a missing
 * file means no accounts. */
struct auth *auth_new(const char *path);
/* Accepts NULL. */
void auth_free(struct auth *a);

/*
 * Check a user's password, reloading the file first when it changed.
 * Takes one slow hash whatever the outcome. Returns AUTH_OK, AUTH_FAIL or
 * AUTH_ERROR (the file exists but cannot be read or passes
 * AUTH_FILE_MAX; logged once per change).
 */
enum auth_result auth_check(struct auth *a, const char *user,
    const char *password) __attribute__((warn_unused_result));
/* Accounts currently loaded (after the last check or reload). */
size_t auth_count(const struct auth *a);

/* --- writing ---------------------------------------------------------- */

/*
 * The new text of an accounts file: old (len octets, may be NULL when
 * there is no file) with user's line replaced, or appended when absent;
 * every other line is kept as it is (comments too), and later duplicate
 * lines of user are dropped. The password is hashed with a fresh salt
 * (yescrypt, libcrypt's default cost). Returns 0, or -1 with errno:
 * EINVAL for an invalid user or password, EFBIG when the result would
 * pass AUTH_FILE_MAX, else crypt's errno. out is reset first.
 */
int auth_update(const char *old, size_t len, const char *user,
    const char *password, struct buf *out) __attribute__((warn_unused_result));

/*
 * Add or change an account in the accounts file at path (for a file
 * outside the spool; inside it, use auth_update() and
 * spool_private_replace()). Under auth_lock(path): read, auth_update(),
 * write a temporary file in the same directory with mode 0600, fsync,
 * rename over path, fsync the directory. Returns 0, or -1 with errno.
 */
int auth_set(const char *path, const char *user, const char *password)
    __attribute__((warn_unused_result));

/*
 * Serialise writers of the accounts file at path: an exclusive flock on
 * the directory that holds it (the file itself is replaced by rename, so
 * it cannot carry the lock; the directory is only opened for reading).
 * Blocks until granted. Returns the fd to pass to auth_unlock(), or -1
 * with errno.
 */
int auth_lock(const char *path) __attribute__((warn_unused_result));
void auth_unlock(int fd);

/* --- throttling failed attempts -------------------------------------- */

#define AUTH_THROTTLE_FAILS_MAX 5	/* failures, then disconnect/lockout */
#define AUTH_THROTTLE_BASE_MS 1000	/* delay after the first failure */
#define AUTH_THROTTLE_DELAY_MAX_MS 8000 /* the delay doubles up to this */
#define AUTH_THROTTLE_FORGET_MS                                                \
	(15 * 60 * 1000) /* a key with no failure                              \
			    for this long is clean */

/*
 * Failures by key: the client address, so that reconnecting does not
 * reset the count (for IPv6, the /64 is a better key than the address).
 * A fixed table of slots (a power of two); when it is full the entry with
 * the oldest failure is forgotten first. Times are the caller's now_ms(),
 * passed in, so the policy is testable.
 *
 * The server's use, per AUTHINFO PASS:
 *   if auth_throttle_locked(t, key, now): reply 481, close;
 *   else check; on AUTH_OK: auth_throttle_success(t, key), reply 281;
 *   on AUTH_FAIL: d = auth_throttle_fail(t, key, now); d == -1: reply
 *   481 and close; else reply 481 after d ms, reading nothing from that
 *   client meanwhile (a timer in the event loop - never sleep).
 */
struct auth_throttle;

struct auth_throttle *auth_throttle_new(size_t slots);
void auth_throttle_free(struct auth_throttle *t);
/*
 * Record a failure of key at now_ms. Returns the delay in ms before the
 * 481 reply (AUTH_THROTTLE_BASE_MS, doubling each failure, at most
 * AUTH_THROTTLE_DELAY_MAX_MS), or -1 once key has reached
 * AUTH_THROTTLE_FAILS_MAX failures: disconnect.
 */
int64_t auth_throttle_fail(
    struct auth_throttle *t, const char *key, uint64_t now_ms);
/* Has key reached AUTH_THROTTLE_FAILS_MAX failures, the last one less than
 * AUTH_THROTTLE_FORGET_MS ago? Then refuse without checking. */
bool auth_throttle_locked(
    const struct auth_throttle *t, const char *key, uint64_t now_ms);
/* A success forgets key's failures. */
void auth_throttle_success(struct auth_throttle *t, const char *key);

#endif
