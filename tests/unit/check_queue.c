/*
 * check_queue.c - the hand-over between threads: order kept across
 * threads and hand-overs, the bound respected, close drains what is left
 * and refuses more.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "queue.h"

#define NITEMS 200000
#define BOUND 64

struct num {
	struct qnode q; /* first */
	unsigned long n;
};

struct shared {
	struct queue q;
	size_t max_seen; /* largest queue length a consumer saw */
};

static void *
producer(void *arg)
{
	struct shared *sh = arg;
	struct qlist l = {0};
	unsigned long i;
	unsigned seed = 7;

	for (i = 0; i < NITEMS; i++) {
		struct num *x = xmalloc(sizeof(*x));

		x->n = i;
		qlist_add(&l, &x->q);
		/* Lists of 1 to 40 elements. */
		if (l.n >= 1 + (unsigned)rand_r(&seed) % 40)
			ck_assert_int_eq(queue_push(&sh->q, &l), 0);
	}
	ck_assert_int_eq(queue_push(&sh->q, &l), 0);
	queue_close(&sh->q);
	return NULL;
}

START_TEST(test_order_across_threads)
{
	struct shared sh = {0};
	struct qnode *n, *next;
	struct qlist l;
	unsigned long expect = 0;
	pthread_t th;

	queue_init(&sh.q, BOUND);
	ck_assert_int_eq(pthread_create(&th, NULL, producer, &sh), 0);
	while (queue_pop_all(&sh.q, &l, true) > 0) {
		size_t count = 0;

		for (n = l.head; n != NULL; n = next) {
			next = n->next;
			ck_assert_uint_eq(((struct num *)n)->n, expect);
			expect++;
			count++;
			free(n);
		}
		ck_assert_uint_eq(count, l.n);
		if (count > sh.max_seen)
			sh.max_seen = count;
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(expect, NITEMS);
	/* A push waits below the bound, so at most bound + one list (40). */
	ck_assert_uint_le(sh.max_seen, BOUND + 40);
	queue_fini(&sh.q);
}
END_TEST

START_TEST(test_close)
{
	struct queue q;
	struct num a = {.n = 1}, b = {.n = 2}, c = {.n = 3};
	struct qlist l = {0}, out;

	queue_init(&q, 0);
	ck_assert_uint_eq(queue_pop_all(&q, &out, false), 0);
	ck_assert_ptr_null(out.head);
	qlist_add(&l, &a.q);
	qlist_add(&l, &b.q);
	ck_assert_uint_eq(queue_len(&q), 0);
	ck_assert_int_eq(queue_push(&q, &l), 0);
	ck_assert_uint_eq(queue_len(&q), 2);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.head);
	queue_close(&q);
	/* Refused after close, and the list is left to its owner. */
	qlist_add(&l, &c.q);
	ck_assert_int_eq(queue_push(&q, &l), -1);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_ptr_eq(l.head, &c.q);
	/* What was queued before still comes out, then nothing. */
	ck_assert_uint_eq(queue_pop_all(&q, &out, true), 2);
	ck_assert_ptr_eq(out.head, &a.q);
	ck_assert_ptr_eq(out.head->next, &b.q);
	ck_assert_ptr_null(out.head->next->next);
	ck_assert_uint_eq(queue_pop_all(&q, &out, true), 0);
	/* An empty list is a no-op even when closed. */
	l = (struct qlist){0};
	ck_assert_int_eq(queue_push(&q, &l), 0);
	queue_fini(&q);
}
END_TEST

static void *
closer(void *arg)
{
	queue_close(arg);
	return NULL;
}

START_TEST(test_close_wakes_full_producer)
{
	struct queue q;
	struct num a = {.n = 1}, b = {.n = 2};
	struct qlist l = {0};
	pthread_t th;

	queue_init(&q, 1);
	qlist_add(&l, &a.q);
	ck_assert_int_eq(queue_push(&q, &l), 0);
	/* The queue is full: this push waits until another thread closes. */
	qlist_add(&l, &b.q);
	ck_assert_int_eq(pthread_create(&th, NULL, closer, &q), 0);
	ck_assert_int_eq(queue_push(&q, &l), -1);
	pthread_join(th, NULL);
	ck_assert_ptr_eq(l.head, &b.q);
	queue_fini(&q);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_order_across_threads);
	tcase_add_test(tc, test_close);
	tcase_add_test(tc, test_close_wakes_full_producer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
