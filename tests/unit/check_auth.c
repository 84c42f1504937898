/*
 * check_auth.c - accounts: names and passwords at their limits, the file
 * format (comments, CRLF, duplicates, locked accounts, reserved fields),
 * reload on change, atomic and serialised replacement, and the failure
 * throttle with a fake clock.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "auth.h"
#include "tui.h"
#include "ngtest.h"

static char tmpdir[PATH_MAX];
static char path[PATH_MAX + 32];

static void
setup(void)
{
	ck_assert_int_eq(tui_mkdtemp(tmpdir, sizeof(tmpdir), "ngauth"), 0);
	(void)str_printf(path, sizeof(path), "%s/accounts", tmpdir);
}

static void
teardown(void)
{
	(void)tui_rmrf(tmpdir);
}

static void
write_file(const char *p, const char *text, size_t len)
{
	char tmp[PATH_MAX + 40];
	int fd;

	/* Replaced by rename, as the real writers do. */
	(void)str_printf(tmp, sizeof(tmp), "%s.new", p);
	ck_assert_int_ge(fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    0);
	ck_assert_int_eq(write_all(fd, text, len), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(rename(tmp, p), 0);
}

/* A hash for password, taken from a one-line file made by auth_update. */
static void
hash_of(const char *password, char *dst, size_t cap)
{
	struct buf b = BUF_INIT(SIZE_MAX);

	ck_assert_int_eq(auth_update(NULL, 0, "x", password, &b), 0);
	ck_assert(strncmp(b.data, "x:$y$", 5) == 0);
	buf_truncate(&b, b.len - 1);
	ck_assert(str_copy(dst, cap, b.data + 2));
	buf_free(&b);
}

START_TEST(test_user_names)
{
	char name[AUTH_USER_MAX + 2];

	ck_assert(auth_user_valid("alice"));
	ck_assert(auth_user_valid("j\xc3\xbcrgen"));
	ck_assert(auth_user_valid("a#b"));
	ck_assert(auth_user_valid("alice@example.org"));
	memset(name, 'u', AUTH_USER_MAX);
	name[AUTH_USER_MAX] = '\0';
	ck_assert(auth_user_valid(name));
	name[AUTH_USER_MAX] = 'u';
	name[AUTH_USER_MAX + 1] = '\0';
	ck_assert(!auth_user_valid(name));
	ck_assert(!auth_user_valid(""));
	ck_assert(!auth_user_valid("a:b"));
	ck_assert(!auth_user_valid(":"));
	ck_assert(!auth_user_valid("a b"));
	ck_assert(!auth_user_valid("a\tb"));
	ck_assert(!auth_user_valid("a\nb"));
	ck_assert(!auth_user_valid("a\x01"));
	ck_assert(!auth_user_valid("a\x7f"));
	ck_assert(!auth_user_valid("#alice"));
}
END_TEST

START_TEST(test_passwords)
{
	char pw[AUTH_PASS_MAX + 2];

	ck_assert(auth_password_valid("x"));
	ck_assert(auth_password_valid("with space and\ttab"));
	memset(pw, 'p', AUTH_PASS_MAX);
	pw[AUTH_PASS_MAX] = '\0';
	ck_assert(auth_password_valid(pw));
	pw[AUTH_PASS_MAX] = 'p';
	pw[AUTH_PASS_MAX + 1] = '\0';
	ck_assert(!auth_password_valid(pw));
	ck_assert(!auth_password_valid(""));
	ck_assert(!auth_password_valid("a\nb"));
	ck_assert(!auth_password_valid("a\rb"));
}
END_TEST

START_TEST(test_default_path)
{
	char dst[64];

	ck_assert(auth_default_path("./spool", dst, sizeof(dst)));
	ck_assert_str_eq(dst, "./spool/.newsgate/accounts");
	ck_assert(!auth_default_path("./spool", dst, 20));
}
END_TEST

START_TEST(test_set_and_check)
{
	struct buf text = BUF_INIT(SIZE_MAX);
	struct auth *a;
	struct stat st;
	DIR *d;
	struct dirent *de;

	ck_assert_int_eq(auth_set(path, "alice", "s3cret pass"), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(ngt_slurp(path, &text), 0);
	ck_assert(strncmp(text.data, "alice:$y$", 9) == 0);
	ck_assert(strchr(text.data, '\n') == text.data + text.len - 1);
	ck_assert_ptr_null(strstr(text.data, "s3cret"));
	/* Nothing but the file is left in the directory. */
	ck_assert_ptr_nonnull(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(de->d_name[0] == '.' ||
			strcmp(de->d_name, "accounts") == 0,
		    "left behind: %s", de->d_name);
	closedir(d);

	a = auth_new(path);
	ck_assert_int_eq(auth_check(a, "alice", "s3cret pass"), AUTH_OK);
	ck_assert_uint_eq(auth_count(a), 1);
	ck_assert_int_eq(auth_check(a, "alice", "s3cret pas"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "alice", "s3cret pass "), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "alice", ""), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "Alice", "s3cret pass"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "bob", "s3cret pass"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "a:b", "x"), AUTH_FAIL);
	auth_free(a);
	auth_free(NULL);

	ck_assert_int_eq(auth_set(path, "a:b", "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(auth_set(path, "bob", ""), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(auth_set(path, "bob", "a\nb"), -1);
	ck_assert_int_eq(errno, EINVAL);
	buf_free(&text);
}
END_TEST

/* The server's auth object sees changes without a restart. */
START_TEST(test_change_reloads)
{
	struct auth *a;

	ck_assert_int_eq(auth_set(path, "alice", "one"), 0);
	a = auth_new(path);
	ck_assert_int_eq(auth_check(a, "alice", "one"), AUTH_OK);
	ck_assert_int_eq(auth_set(path, "alice", "two"), 0);
	ck_assert_int_eq(auth_check(a, "alice", "one"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "alice", "two"), AUTH_OK);
	ck_assert_int_eq(auth_set(path, "bob", "three"), 0);
	ck_assert_int_eq(auth_check(a, "bob", "three"), AUTH_OK);
	ck_assert_int_eq(auth_check(a, "alice", "two"), AUTH_OK);
	ck_assert_uint_eq(auth_count(a), 2);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(auth_check(a, "bob", "three"), AUTH_FAIL);
	ck_assert_uint_eq(auth_count(a), 0);
	auth_free(a);
}
END_TEST

START_TEST(test_update_keeps_other_lines)
{
	static const char old[] = "# accounts\n"
				  "\n"
				  "bob:$y$bob\n"
				  "alice:$y$old\n"
				  "alice:$y$duplicate\n"
				  "carol:$y$carol:reserved";
	struct buf out = BUF_INIT(SIZE_MAX);
	const char *p;

	ck_assert_int_eq(
	    auth_update(old, sizeof(old) - 1, "alice", "pw", &out), 0);
	ck_assert(strncmp(out.data, "# accounts\n\nbob:$y$bob\nalice:$y$",
		      32) == 0);
	p = strchr(out.data + 32, '\n');
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p + 1, "carol:$y$carol:reserved\n");
	ck_assert_ptr_null(strstr(out.data, "$y$old"));
	ck_assert_ptr_null(strstr(out.data, "duplicate"));

	/* A new user is appended. */
	ck_assert_int_eq(auth_update(old, sizeof(old) - 1, "dave", "pw", &out),
	    0);
	ck_assert(strncmp(out.data, old, sizeof(old) - 1) == 0);
	ck_assert(strncmp(out.data + sizeof(old) - 1, "\ndave:$y$", 9) == 0);
	/* "ali" is not "alice". */
	ck_assert_int_eq(auth_update(old, sizeof(old) - 1, "ali", "pw", &out),
	    0);
	ck_assert_ptr_nonnull(strstr(out.data, "alice:$y$old\n"));
	ck_assert_int_eq(auth_update(old, sizeof(old) - 1, "", "pw", &out),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	buf_free(&out);
}
END_TEST

START_TEST(test_file_format)
{
	char h1[256], h2[256], h3[256];
	struct buf text = BUF_INIT(SIZE_MAX);
	struct auth *a;
	size_t i;

	hash_of("pw1", h1, sizeof(h1));
	hash_of("pw2", h2, sizeof(h2));
	hash_of("pw3", h3, sizeof(h3));
	buf_printf(&text, "# comment\n\n");
	buf_printf(&text, "crlf:%s\r\n", h1);
	buf_printf(&text, "no colon here\n");
	buf_printf(&text, "bad user:%s\n", h1);
	buf_printf(&text, "empty:\n");
	buf_printf(&text, "locked:!%s\n", h1);
	buf_printf(&text, "star:*\n");
	buf_printf(&text, "fields:%s:future:flags\n", h2);
	buf_printf(&text, "dup:%s\n", h2);
	buf_printf(&text, "dup:%s\n", h3);
	buf_printf(&text, "long:");
	for (i = 0; i < AUTH_LINE_MAX; i++)
		buf_putc(&text, 'x');
	buf_printf(&text, "\nlast:%s", h3); /* no final newline */
	write_file(path, text.data, text.len);

	a = auth_new(path);
	ck_assert_int_eq(auth_check(a, "crlf", "pw1"), AUTH_OK);
	ck_assert_uint_eq(auth_count(a), 6);
	ck_assert_int_eq(auth_check(a, "empty", ""), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "locked", "pw1"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "star", "*"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "star", ""), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "fields", "pw2"), AUTH_OK);
	ck_assert_int_eq(auth_check(a, "dup", "pw2"), AUTH_OK);
	ck_assert_int_eq(auth_check(a, "dup", "pw3"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "long", "x"), AUTH_FAIL);
	ck_assert_int_eq(auth_check(a, "last", "pw3"), AUTH_OK);
	auth_free(a);
	buf_free(&text);
}
END_TEST

START_TEST(test_missing_unreadable_too_big)
{
	struct buf big = BUF_INIT(SIZE_MAX);
	struct auth *a = auth_new(path);
	size_t i;

	ck_assert_int_eq(auth_check(a, "alice", "pw"), AUTH_FAIL);
	ck_assert_uint_eq(auth_count(a), 0);
	ck_assert_int_eq(auth_set(path, "alice", "pw"), 0);
	ck_assert_int_eq(auth_check(a, "alice", "pw"), AUTH_OK);

	/* A directory where the file should be: an error, not "no
	 * accounts". */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(auth_check(a, "alice", "pw"), AUTH_ERROR);
	ck_assert_int_eq(auth_check(a, "alice", "pw"), AUTH_ERROR);
	ck_assert_int_eq(rmdir(path), 0);

	/* One octet over the ceiling. */
	buf_printf(&big, "# ");
	for (i = big.len; i < AUTH_FILE_MAX; i++)
		buf_putc(&big, 'x');
	buf_putc(&big, '\n');
	ck_assert_uint_eq(big.len, AUTH_FILE_MAX + 1);
	write_file(path, big.data, big.len);
	ck_assert_int_eq(auth_check(a, "alice", "pw"), AUTH_ERROR);
	ck_assert_int_eq(auth_set(path, "alice", "pw"), -1);
	ck_assert_int_eq(errno, EFBIG);
	/* Exactly at it is fine. */
	buf_truncate(&big, AUTH_FILE_MAX - 1);
	buf_putc(&big, '\n');
	write_file(path, big.data, big.len);
	ck_assert_int_eq(auth_check(a, "alice", "pw"), AUTH_FAIL);
	auth_free(a);
	buf_free(&big);
}
END_TEST

/* Two `newsgate passwd` at once lose nobody's update. */
START_TEST(test_concurrent_set)
{
	enum { WRITERS = 4, EACH = 5 };
	struct auth *a;
	pid_t pids[WRITERS];
	int i, j, st;

	for (i = 0; i < WRITERS; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			for (j = 0; j < EACH; j++) {
				char user[32];

				(void)str_printf(user, sizeof(user), "u%d_%d",
				    i, j);
				if (auth_set(path, user, user) == -1)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	a = auth_new(path);
	ck_assert_int_eq(auth_check(a, "u0_0", "u0_0"), AUTH_OK);
	ck_assert_uint_eq(auth_count(a), WRITERS * EACH);
	ck_assert_int_eq(auth_check(a, "u3_4", "u3_4"), AUTH_OK);
	auth_free(a);
}
END_TEST

START_TEST(test_throttle_policy)
{
	struct auth_throttle *t = auth_throttle_new(64);
	uint64_t now = 1000000;

	ck_assert(!auth_throttle_locked(t, "192.0.2.1", now));
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1", now), 1000);
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1", now + 1), 2000);
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1", now + 2), 4000);
	ck_assert(!auth_throttle_locked(t, "192.0.2.1", now + 3));
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1", now + 3), 8000);
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1", now + 4), -1);
	ck_assert(auth_throttle_locked(t, "192.0.2.1", now + 4));
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1", now + 5), -1);
	/* Other addresses are not affected. */
	ck_assert(!auth_throttle_locked(t, "192.0.2.2", now + 5));
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.2", now + 5), 1000);
	/* The lock lasts until FORGET_MS after the last failure. */
	ck_assert(auth_throttle_locked(t, "192.0.2.1",
	    now + 5 + AUTH_THROTTLE_FORGET_MS - 1));
	ck_assert(!auth_throttle_locked(t, "192.0.2.1",
	    now + 5 + AUTH_THROTTLE_FORGET_MS));
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.1",
			     now + 5 + AUTH_THROTTLE_FORGET_MS),
	    1000);
	/* Success forgets. */
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.2", now + 6), 2000);
	auth_throttle_success(t, "192.0.2.2");
	ck_assert_int_eq(auth_throttle_fail(t, "192.0.2.2", now + 7), 1000);
	auth_throttle_success(t, "never.seen");
	auth_throttle_free(t);
	auth_throttle_free(NULL);
}
END_TEST

/* A full table forgets the oldest failure first. */
START_TEST(test_throttle_full_table)
{
	struct auth_throttle *t = auth_throttle_new(8);
	char key[32];
	int i, j;

	for (i = 0; i < 8; i++) {
		(void)str_printf(key, sizeof(key), "k%d", i);
		for (j = 0; j < AUTH_THROTTLE_FAILS_MAX; j++)
			(void)auth_throttle_fail(t, key, (uint64_t)(100 + i));
		ck_assert(auth_throttle_locked(t, key, 200));
	}
	ck_assert_int_eq(auth_throttle_fail(t, "newcomer", 300), 1000);
	ck_assert(!auth_throttle_locked(t, "k0", 300));
	for (i = 1; i < 8; i++) {
		(void)str_printf(key, sizeof(key), "k%d", i);
		ck_assert(auth_throttle_locked(t, key, 300));
	}
	auth_throttle_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_user_names);
	tcase_add_test(tc, test_passwords);
	tcase_add_test(tc, test_default_path);
	tcase_add_test(tc, test_set_and_check);
	tcase_add_test(tc, test_change_reloads);
	tcase_add_test(tc, test_update_keeps_other_lines);
	tcase_add_test(tc, test_file_format);
	tcase_add_test(tc, test_missing_unreadable_too_big);
	tcase_add_test(tc, test_concurrent_set);
	tcase_add_test(tc, test_throttle_policy);
	tcase_add_test(tc, test_throttle_full_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
