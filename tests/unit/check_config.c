/*
 * check_config.c - the configuration parser: defaults, overrides, every
 * error path names file and line.
 */
#include <check.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "thread.h"

static char conf_path[64];

static const char *
write_conf(const char *text)
{
	int fd;

	(void)str_copy(conf_path, sizeof(conf_path), "/tmp/ngconfXXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
	return conf_path;
}

START_TEST(test_defaults)
{
	struct config c;
	struct buf err = BUF_INIT(1024);
	const struct group_conf *g;
	struct thread_conf td;

	ck_assert_int_eq(config_load(&c, NULL, &err), 0);
	ck_assert_str_eq(c.spool_dir, "./spool");
	ck_assert_uint_eq(c.nlisten, 1);
	ck_assert_str_eq(c.listen[0], "127.0.0.1:1119");
	ck_assert_uint_eq(c.ngroups, 2);
	g = config_group(&c, "pakistan.news");
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(g->description, "News from and about Pakistan");
	ck_assert_int_eq(g->flag, 'y');
	ck_assert_uint_gt(g->nrules, 1);
	g = config_group(&c, "us.statedept");
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(g->description,
	    "US State Department briefings and statements");
	/* The embedded [threading] text and the tuned defaults of thread.c
	 * (docs/threading.md) are one set of numbers. */
	thread_conf_default(&td);
	ck_assert(c.threading.enabled == td.enabled);
	ck_assert(c.threading.threshold == td.threshold);
	ck_assert_int_eq(c.threading.window_s, td.window_s);
	ck_assert(c.threading.title_weight == td.title_weight);
	ck_assert(c.threading.body_weight == td.body_weight);
	ck_assert(c.threading.name_weight == td.name_weight);
	ck_assert_uint_eq(c.threading.max_terms, td.max_terms);
	ck_assert(c.threading.df_max == td.df_max);
	ck_assert(c.threading.posts == td.posts);
	ck_assert_uint_eq(c.max_article_bytes, 1048576);
	/* Durable commits unless the file says otherwise. */
	ck_assert(c.spool_sync);
	ck_assert_int_eq(c.sync_interval_s, 0);
	config_fini(&c);
	buf_free(&err);
}
END_TEST

START_TEST(test_file_overrides_and_replaces_groups)
{
	struct config c;
	struct buf err = BUF_INIT(1024);
	const char *path = write_conf(
	    "# comment\n"
	    "[spool]\n dir = /tmp/x \n"
	    "[server]\nlisten = [::1]:1119\nlisten = 127.0.0.1:0\n"
	    "idle_timeout = 30\n"
	    "[threading]\nwindow = 12h\nthreshold = 0.5\n"
	    "[group local.test]\ndescription = Local tests\nposting = no\n"
	    "keywords = foo, bar baz\ncatchall = yes\n");

	ck_assert_int_eq(config_load(&c, path, &err), 0);
	ck_assert_str_eq(c.spool_dir, "/tmp/x");
	ck_assert_uint_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[0], "[::1]:1119");
	ck_assert_uint_eq(c.idle_timeout_s, 30);
	ck_assert_int_eq(c.threading.window_s, 12 * 3600);
	ck_assert_uint_eq(c.ngroups, 1);
	ck_assert_str_eq(c.groups[0].name, "local.test");
	ck_assert_int_eq(c.groups[0].flag, 'n');
	ck_assert(c.groups[0].catchall);
	ck_assert_uint_eq(c.groups[0].nrules, 2);
	ck_assert_str_eq(c.groups[0].rules[1].pattern, "bar baz");
	config_fini(&c);
	unlink(path);
	buf_free(&err);
}
END_TEST

static void
expect_error(const char *text, const char *needle)
{
	struct config c;
	struct buf err = BUF_INIT(1024);
	const char *path = write_conf(text);

	ck_assert_int_eq(config_load(&c, path, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), needle) != NULL,
	    "error '%s' lacks '%s'", buf_cstr(&err), needle);
	ck_assert_msg(strstr(buf_cstr(&err), path) != NULL,
	    "error '%s' lacks the file name", buf_cstr(&err));
	unlink(path);
	buf_free(&err);
}

START_TEST(test_errors_name_file_and_line)
{
	expect_error("[server]\nbogus = 1\n", ":2: unknown key 'bogus'");
	expect_error("[nosuch]\n", ":1: unknown section");
	expect_error("[server]\nidle_timeout = 0\n", "out of range");
	expect_error("[server]\nidle_timeout = ten\n", "not a number");
	expect_error("[threading]\nwindow = 3w\n", "not a number");
	expect_error("[group ../etc]\n", "invalid group name");
	expect_error("[group a.b]\n[group a.b]\n", "defined twice");
	expect_error("dir = x\n", "outside any section");
	expect_error("[server\n", "without ']'");
	expect_error("[group a.b]\nposting = maybe\n", ":2: posting");
}
END_TEST

START_TEST(test_spool_sync)
{
	struct config c;
	struct buf err = BUF_INIT(1024);
	const char *path =
	    write_conf("[spool]\nsync = no\nsync_interval = 2m\n");

	ck_assert_int_eq(config_load(&c, path, &err), 0);
	ck_assert(!c.spool_sync);
	ck_assert_int_eq(c.sync_interval_s, 120);
	ck_assert_str_eq(c.spool_dir, "./spool");
	config_fini(&c);
	unlink(path);
	path = write_conf("[spool]\nsync = yes\nsync_interval = 86400\n");
	ck_assert_int_eq(config_load(&c, path, &err), 0);
	ck_assert(c.spool_sync);
	ck_assert_int_eq(c.sync_interval_s, 86400);
	config_fini(&c);
	unlink(path);
	buf_free(&err);
	expect_error(
	    "[spool]\nsync = sometimes\n", ":2: sync: expected yes or no");
	expect_error("[spool]\nsync_interval = -1\n",
	    ":2: sync_interval: -1 is out of range");
	expect_error("[spool]\nsync_interval = 86401\n", "out of range");
	expect_error("[spool]\nsync_interval = 5w\n", "not a number");
}
END_TEST

START_TEST(test_missing_file)
{
	struct config c;
	struct buf err = BUF_INIT(1024);

	ck_assert_int_eq(
	    config_load(&c, "/nonexistent/newsgate.conf", &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "No such file"));
	buf_free(&err);
}
END_TEST

START_TEST(test_long_line)
{
	struct buf text = BUF_INIT(SIZE_MAX);
	size_t i;

	buf_puts(&text, "[server]\nhostname = ");
	for (i = 0; i < 5000; i++)
		buf_putc(&text, 'x');
	buf_putc(&text, '\n');
	expect_error(buf_cstr(&text), ":2: line too long");
	buf_free(&text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_overrides_and_replaces_groups);
	tcase_add_test(tc, test_errors_name_file_and_line);
	tcase_add_test(tc, test_spool_sync);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
