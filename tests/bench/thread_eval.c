/*
 * thread_eval.c - feed a JSON Lines corpus (id, date, title, text,
 * references) to the threader in file order, write "id TAB thread-root"
 * for score_threads.py, and report speed and index memory.
 *
 *   thread_eval [-o PRED] [-s key=value]... FILE.jsonl
 *   thread_eval -d          (print the default threshold)
 *
 * PRED lines: id, thread root, score, parent (or nearest), how.
 * Keys: the [threading] settings (threshold, window_s, title_weight,
 * body_weight, name_weight, max_terms, df_max) and the weights of
 * thread_tune_set() (number_weight, member_weight, names_share,
 * names_min, lead_words, length_slope, size_bonus, member_max). Built by
 * tests/bench/eval-threads.sh; not part of newsgate.
 */
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "thread.h"

#define THREAD_EVAL_BLOCK 10000 /* articles per cost report */

struct kv {
	const char *key;
	double val;
};

static int
conf_set(struct thread_conf *tc, const char *k, double v)
{
	if (strcmp(k, "threshold") == 0)
		tc->threshold = v;
	else if (strcmp(k, "window_s") == 0)
		tc->window_s = (int64_t)v;
	else if (strcmp(k, "title_weight") == 0)
		tc->title_weight = v;
	else if (strcmp(k, "body_weight") == 0)
		tc->body_weight = v;
	else if (strcmp(k, "name_weight") == 0)
		tc->name_weight = v;
	else if (strcmp(k, "max_terms") == 0)
		tc->max_terms = (uint32_t)v;
	else if (strcmp(k, "df_max") == 0)
		tc->df_max = v;
	else
		return -1;
	return 0;
}

static time_t
parse_date(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct thread_conf tc;
	struct kv tune[32];
	size_t ntune = 0, n = 0, i;
	double blk_min = 0, blk_max = 0, blk_first = 0, blk_last = 0;
	const char *outpath = NULL;
	FILE *in, *out = stdout;
	char *line = NULL, *eq;
	size_t cap = 0;
	double t_total = 0, t_seg = 0, t0;
	struct threader *t;
	struct thread_stats st;
	size_t peak_mem = 0, peak_live = 1;
	int c;

	thread_conf_default(&tc);
	while ((c = getopt(argc, argv, "do:s:")) != -1) {
		if (c == 'd') {
			printf("%.2f\n", tc.threshold);
			return 0;
		} else if (c == 'o') {
			outpath = optarg;
		} else if (c == 's' && (eq = strchr(optarg, '=')) != NULL &&
		    ntune < NG_NELEM(tune)) {
			*eq = '\0';
			if (conf_set(&tc, optarg, strtod(eq + 1, NULL)) == -1) {
				tune[ntune].key = optarg;
				tune[ntune++].val = strtod(eq + 1, NULL);
			}
		} else {
			fprintf(stderr,
			    "usage: thread_eval [-o PRED] "
			    "[-s key=value]... FILE.jsonl\n");
			return 2;
		}
	}
	if (optind != argc - 1 || (in = fopen(argv[optind], "r")) == NULL) {
		fprintf(stderr, "thread_eval: no input\n");
		return 2;
	}
	if (outpath != NULL && (out = fopen(outpath, "w")) == NULL) {
		perror(outpath);
		return 1;
	}
	t = thread_new(&tc);
	for (i = 0; i < ntune; i++)
		if (thread_tune_set(t, tune[i].key, tune[i].val) == -1) {
			fprintf(stderr, "unknown key %s\n", tune[i].key);
			return 2;
		}
	while (getline(&line, &cap, in) > 0) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		struct thread_item it;
		struct thread_link link;
		char msgid[300];
		const char *id;

		if (j == NULL)
			continue;
		id = json_string_value(json_object_get(j, "id"));
		if (id == NULL ||
		    !str_printf(msgid, sizeof(msgid), "<%s@eval>", id)) {
			json_decref(j);
			continue;
		}
		memset(&it, 0, sizeof(it));
		it.msgid = msgid;
		it.title = json_string_value(json_object_get(j, "title"));
		it.text = json_string_value(json_object_get(j, "text"));
		it.text_len = it.text ? strlen(it.text) : 0;
		it.date =
		    parse_date(json_string_value(json_object_get(j, "date")));
		it.references =
		    json_string_value(json_object_get(j, "references"));
		t0 = now_s();
		if (thread_add(t, &it, &link) == -1) {
			json_decref(j);
			continue;
		}
		t0 = now_s() - t0;
		t_total += t0;
		t_seg += t0;
		n++;
		fprintf(out, "%s\t%s\t%.3f\t%s\t%d\n", id, link.root,
		    link.score,
		    link.parent	       ? link.parent
			: link.nearest ? link.nearest
				       : "-",
		    link.how);
		if (n % THREAD_EVAL_BLOCK == 0) {
			double us = t_seg / THREAD_EVAL_BLOCK * 1e6;

			thread_stats(t, &st);
			fprintf(stderr,
			    "articles %zu to %zu: %.2f us/article, %zu live\n",
			    n - THREAD_EVAL_BLOCK + 1, n, us, st.live_articles);
			if (blk_first == 0)
				blk_first = blk_min = blk_max = us;
			blk_min = us < blk_min ? us : blk_min;
			blk_max = us > blk_max ? us : blk_max;
			blk_last = us;
			t_seg = 0;
		}
		if (n % 1000 == 0) {
			thread_stats(t, &st);
			if (st.index_bytes > peak_mem) {
				peak_mem = st.index_bytes;
				peak_live = st.live_articles;
			}
		}
		json_decref(j);
	}
	if (blk_first > 0)
		fprintf(stderr,
		    "cost per article by block of %d: first %.2f us, last "
		    "%.2f us (x%.2f), min %.2f, max %.2f (x%.2f)\n",
		    THREAD_EVAL_BLOCK, blk_first, blk_last,
		    blk_last / blk_first, blk_min, blk_max, blk_max / blk_min);
	thread_stats(t, &st);
	fprintf(stderr,
	    "articles %zu in %.3f s: %.0f articles/s; live %zu articles in "
	    "%zu threads, index %zu bytes (%.0f per live article; peak %zu "
	    "bytes for %zu live, %.0f per live article); %zu terms, "
	    "vocabulary %zu bytes (%.0f per term)\n",
	    n, t_total, n / (t_total > 0 ? t_total : 1), st.live_articles,
	    st.live_threads, st.index_bytes,
	    (double)st.index_bytes / (st.live_articles ? st.live_articles : 1),
	    peak_mem, peak_live, (double)peak_mem / (peak_live ? peak_live : 1),
	    st.terms, st.vocab_bytes,
	    (double)st.vocab_bytes / (st.terms ? st.terms : 1));
	thread_free(t);
	free(line);
	fclose(in);
	if (out != stdout)
		fclose(out);
	return 0;
}
