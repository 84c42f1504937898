/*
 * thread.c - threads by similarity (see thread.h, docs/threading.md).
 *
 * Owns the in-memory similarity index: the term dictionary with document
 * frequencies, the live threads (centroid, members), the live articles
 * (term vector, parent) and an inverted index from terms to live threads.
 * It never touches the spool: the caller stores thread_save() bytes
 * wherever it likes, and everything here can be rebuilt by adding the
 * articles again in arrival order.
 *
 * Layout of the index:
 *   dict      term hash (FNV-1a of the stem) -> dense term id
 *   df[id]    articles that held the term; name[id] how often it was
 *             written with a capital where case tells something
 *   post[id]  live threads whose centroid holds the term: (slot, gen);
 *             stale entries (thread gone) are dropped when met
 *   arts[]    article slots; amap Message-ID -> slot
 *   thrs[]    thread slots; a slot's gen changes when it is freed
 * Everything is kept in plain arrays in a fixed order, so thread_save()
 * and thread_load() reproduce the state exactly and the links after a
 * reload are the ones an uninterrupted run would have made.
 */
#include <math.h>

#include "common.h"
#include "buf.h"
#include "terms.h"
#include "thread.h"
#include "thread_int.h"

static const struct tune tune_default = {
    .number_weight = 1.5,
    .member_weight = 0.3,
    .names_share = 0.6,
    .names_min = 8,
    .lead_words = 50,
    .length_slope = 0.05,
    .size_bonus = 0.01,
    .member_max = 64,
    .boost_min = 3,
};

void
thread_conf_default(struct thread_conf *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->enabled = true;
	tc->threshold = 0.15;
	tc->window_s = 43200;
	tc->title_weight = 1.5;
	tc->body_weight = 1.0;
	tc->name_weight = 1.75;
	tc->max_terms = 96;
	tc->df_max = 0.05;
	tc->posts = false;
}

/* --- maps ------------------------------------------------------------ */

/* Rehash into cap slots (a power of two, above the entries). */
static void
map_resize(struct map *m, size_t cap)
{
	struct map old = *m;
	size_t i;

	m->cap = cap;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->len = 0;
	for (i = 0; i < old.cap; i++)
		if (old.keys[i] != 0)
			thread_map_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

/* Insert (keys may repeat: Message-ID hashes are compared by the caller). */
void
thread_map_put(struct map *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->len + 1) * 4 > m->cap * 3)
		map_resize(m, m->cap ? m->cap * 2 : 1024);
	for (i = key & (m->cap - 1); m->keys[i] != 0;
	     i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = val;
	m->len++;
}

/* Remove the entry at i, shifting later entries back (linear probing). */
static void
map_del_at(struct map *m, size_t i)
{
	size_t j = i, k;

	m->keys[i] = 0;
	m->len--;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (m->keys[j] == 0)
			return;
		k = m->keys[j] & (m->cap - 1);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
}

uint64_t
thread_key_of(const char *p, size_t len)
{
	uint64_t h = hash64(p, len, 0);

	return h ? h : 1;
}

static void
map_fini(struct map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* --- terms ----------------------------------------------------------- */

static uint32_t
term_id(struct threader *t, const char *p, size_t len)
{
	uint64_t key = thread_key_of(p, len);
	size_t i;
	uint32_t id;

	if (t->dict.cap) {
		for (i = key & (t->dict.cap - 1); t->dict.keys[i] != 0;
		     i = (i + 1) & (t->dict.cap - 1))
			if (t->dict.keys[i] == key)
				return t->dict.vals[i];
	}
	if (t->nterms == t->capterms) {
		t->capterms = t->capterms ? t->capterms * 2 : 4096;
		t->term_key = xreallocarray(
		    t->term_key, t->capterms, sizeof(*t->term_key));
		t->df = xreallocarray(t->df, t->capterms, sizeof(*t->df));
		t->cap_seen = xreallocarray(
		    t->cap_seen, t->capterms, sizeof(*t->cap_seen));
		t->cap_upper = xreallocarray(
		    t->cap_upper, t->capterms, sizeof(*t->cap_upper));
		t->post = xreallocarray(t->post, t->capterms, sizeof(*t->post));
	}
	id = t->nterms++;
	t->term_key[id] = key;
	t->df[id] = 0;
	t->cap_seen[id] = t->cap_upper[id] = 0;
	memset(&t->post[id], 0, sizeof(t->post[id]));
	thread_map_put(&t->dict, key, id);
	return id;
}

/* log(N/df) plus a floor, never negative, never NaN. */
static double
term_idf(const struct threader *t, uint32_t id)
{
	double n = (double)t->ndocs, df = t->df[id] ? t->df[id] : 1;

	return log((n + 1.0) / df);
}

/* How much of a name the term is: the share of its case-telling
 * occurrences written with a capital, 0 until seen twice. */
static double
term_nameness(const struct threader *t, uint32_t id)
{
	if (t->cap_seen[id] < 2)
		return 0;
	return (double)t->cap_upper[id] / t->cap_seen[id];
}

static int
tok_cb(void *arg, const struct term *tm)
{
	struct threader *t = arg;
	struct tok *k;

	if (t->ntoks >= THREAD_TOKENS_MAX)
		return 1;
	k = &t->toks[t->ntoks++];
	k->term = term_id(t, tm->p, tm->len);
	k->tf = t->tok_weight;
	if (t->tok_body && t->tune.lead_words > 0)
		k->tf = (float)(k->tf / (1 + t->tok_pos / t->tune.lead_words));
	t->tok_pos++;
	k->flags = (uint8_t)tm->flags;
	k->name = (tm->flags & (TERM_NUM | TERM_ALLCAPS)) != 0;
	return 0;
}

/*
 * Case tells something in a span written in sentence case, not in Title
 * Case: count the capitalised non-initial words of toks[from..] and, in a
 * sentence-case span, learn from them which terms are names.
 */
static void
span_learn_case(struct threader *t, uint32_t from)
{
	uint32_t i, n = 0, caps = 0;
	struct tok *k;

	for (i = from; i < t->ntoks; i++) {
		k = &t->toks[i];
		if (k->flags & (TERM_INITIAL | TERM_NUM))
			continue;
		n++;
		caps += (k->flags & TERM_CAP) != 0;
	}
	if (n < 3 || caps * 2 > n)
		return;
	for (i = from; i < t->ntoks; i++) {
		k = &t->toks[i];
		if (k->flags & (TERM_INITIAL | TERM_NUM))
			continue;
		if (k->flags & TERM_CAP)
			k->name = 1;
		if (t->cap_seen[k->term] < UINT32_MAX / 2) {
			t->cap_seen[k->term]++;
			t->cap_upper[k->term] += (k->flags & TERM_CAP) != 0;
		}
	}
}

/* --- terms cut on another thread (thread_prescan) --------------------- */

struct tt_term {
	uint32_t off;  /* of the NUL-terminated term in strs */
	uint8_t len;   /* 1..TERMS_WORD_MAX */
	uint8_t flags; /* TERM_* */
};

struct thread_terms {
	struct buf strs;
	struct tt_term *v;
	uint32_t n, cap;
	uint32_t ntitle; /* v[0..ntitle) are the title's, the rest the text's */
};

static size_t title_repeat(const struct thread_item *it);

static int
tt_cb(void *arg, const struct term *tm)
{
	struct thread_terms *tt = arg;

	if (tt->n == tt->cap) {
		tt->cap = tt->cap ? 2 * tt->cap : 256;
		tt->v = xreallocarray(tt->v, tt->cap, sizeof(*tt->v));
	}
	tt->v[tt->n].off = (uint32_t)tt->strs.len;
	tt->v[tt->n].len = (uint8_t)tm->len;
	tt->v[tt->n++].flags = (uint8_t)tm->flags;
	buf_append(&tt->strs, tm->p, tm->len + 1);
	return 0;
}

struct thread_terms *
thread_prescan(
    struct terms *tk, const char *title, const char *text, size_t text_len)
{
	struct thread_terms *tt = xcalloc(1, sizeof(*tt));
	struct thread_item it = {0};
	size_t skip;

	buf_init(&tt->strs, SIZE_MAX);
	it.title = title;
	it.text = text;
	it.text_len = text ? text_len : 0;
	skip = title_repeat(&it);
	/* Each span as scan_span() would cut it at most: the replay stops
	 * where the scan would have. */
	if (title != NULL)
		terms_scan(tk, title, strlen(title), THREAD_TOKENS_MAX, tt_cb, tt);
	tt->ntitle = tt->n;
	if (text != NULL && it.text_len > skip)
		terms_scan(tk, text + skip, it.text_len - skip,
		    THREAD_TOKENS_MAX, tt_cb, tt);
	if (tt->strs.err)
		fatalx("thread: out of memory");
	return tt;
}

void
thread_terms_free(struct thread_terms *tt)
{
	if (tt == NULL)
		return;
	buf_free(&tt->strs);
	free(tt->v);
	free(tt);
}

/* scan_span() from terms cut already: v[from..to). */
static void
replay_span(struct threader *t, const struct thread_terms *tt, uint32_t from,
    uint32_t to, double weight, bool body)
{
	uint32_t first = t->ntoks, i;
	struct term tm;

	if (from == to || weight <= 0)
		return;
	t->tok_weight = (float)weight;
	t->tok_body = body;
	t->tok_pos = 0;
	for (i = from; i < to && t->ntoks < THREAD_TOKENS_MAX; i++) {
		tm.p = tt->strs.data + tt->v[i].off;
		tm.len = tt->v[i].len;
		tm.flags = tt->v[i].flags;
		(void)tok_cb(t, &tm);
	}
	span_learn_case(t, first);
}

static void
scan_span(
    struct threader *t, const char *s, size_t len, double weight, bool body)
{
	uint32_t from = t->ntoks;

	if (s == NULL || len == 0 || weight <= 0)
		return;
	t->tok_weight = (float)weight;
	t->tok_body = body;
	t->tok_pos = 0;
	terms_scan(t->tk, s, len, THREAD_TOKENS_MAX - t->ntoks, tok_cb, t);
	span_learn_case(t, from);
}

static int
tok_cmp(const void *a, const void *b)
{
	const struct tok *x = a, *y = b;

	return x->term < y->term ? -1 : x->term > y->term;
}

/* Heavier first; ties by term id so the order is total. */
static int
tv_weight_cmp(const void *a, const void *b)
{
	const struct tv *x = a, *y = b;

	if (x->w != y->w)
		return x->w > y->w ? -1 : 1;
	return x->term < y->term ? -1 : x->term > y->term;
}

static int
tv_term_cmp(const void *a, const void *b)
{
	const struct tv *x = a, *y = b;

	return x->term < y->term ? -1 : x->term > y->term;
}

/* Merge tokens by term (toks sorted), count document frequencies. */
static uint32_t
toks_merge(struct threader *t)
{
	uint32_t i, n = 0;

	qsort(t->toks, t->ntoks, sizeof(*t->toks), tok_cmp);
	for (i = 0; i < t->ntoks; i++) {
		if (n > 0 && t->toks[n - 1].term == t->toks[i].term) {
			t->toks[n - 1].tf += t->toks[i].tf;
			t->toks[n - 1].name |= t->toks[i].name;
			continue;
		}
		t->toks[n++] = t->toks[i];
	}
	for (i = 0; i < n; i++)
		if (t->df[t->toks[i].term] < UINT32_MAX)
			t->df[t->toks[i].term]++;
	t->ndocs++;
	return n;
}

/* Weights of the merged tokens: sublinear weighted occurrences times
 * IDF, names and numbers boosted in an article that has several. */
static void
toks_weigh(struct threader *t, uint32_t n)
{
	uint32_t i, names = 0;
	double w, nm;
	bool boost;

	for (i = 0; i < n; i++) {
		struct tok *k = &t->toks[i];

		nm = term_nameness(t, k->term);
		if (nm > 0 && nm >= THREAD_NAME_SHARE)
			k->name = 1;
		names += k->name;
	}
	/* One name in a headline is the entity, not the story: boosting it
	 * merges a day's different stories about it. */
	boost = names >= t->tune.boost_min;
	for (i = 0; i < n; i++) {
		struct tok *k = &t->toks[i];

		w = sqrt(k->tf) * term_idf(t, k->term);
		if (boost && (k->flags & TERM_NUM))
			w *= t->tune.number_weight;
		else if (boost && k->name)
			w *= t->conf.name_weight;
		k->tf = isfinite(w) && w > 0 ? (float)w : 0;
	}
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Octets of the text that only repeat the title, blanks aside: all of a
 * body that is the title again (what an item without text becomes), none
 * otherwise. So a stored article, whose body repeats its title, threads
 * as its import did.
 */
static size_t
title_repeat(const struct thread_item *it)
{
	const char *a = it->title, *b = it->text, *end;

	if (a == NULL || b == NULL)
		return 0;
	end = b + it->text_len;
	for (;;) {
		while (*a != '\0' && is_blank(*a))
			a++;
		while (b < end && is_blank(*b))
			b++;
		if (*a == '\0' || b == end || *a != *b)
			break;
		a++, b++;
	}
	return *a == '\0' && b == end ? it->text_len : 0;
}

/*
 * The article's unit TF-IDF vector into t->vec, sorted by term: the
 * max_terms heaviest terms, title above body. Returns its length (0: no
 * usable words).
 */
static uint32_t
make_vector(struct threader *t, const struct thread_item *it)
{
	const struct thread_conf *tc = &t->conf;
	uint32_t i, n, nv = 0;
	double norm = 0, nnorm = 0;
	size_t skip;

	t->ntoks = 0;
	if (it->terms != NULL) {
		replay_span(t, it->terms, 0, it->terms->ntitle, tc->title_weight,
		    false);
		replay_span(t, it->terms, it->terms->ntitle, it->terms->n,
		    tc->body_weight, true);
	} else {
		skip = title_repeat(it);
		if (it->title != NULL)
			scan_span(t, it->title, strlen(it->title),
			    tc->title_weight, false);
		scan_span(t, it->text + skip, it->text_len - skip,
		    tc->body_weight, true);
	}
	n = toks_merge(t);
	toks_weigh(t, n);
	for (i = 0; i < n; i++) {
		if (!(t->toks[i].tf > 0))
			continue;
		t->vec[nv].term = t->toks[i].term;
		t->vec[nv].w = t->toks[i].tf;
		t->vec[nv++].wn = t->toks[i].name ? 1 : 0;
	}
	qsort(t->vec, nv, sizeof(*t->vec), tv_weight_cmp);
	if (nv > tc->max_terms)
		nv = tc->max_terms;
	for (i = 0; i < nv; i++) {
		norm += (double)t->vec[i].w * t->vec[i].w;
		if (t->vec[i].wn > 0)
			nnorm += (double)t->vec[i].w * t->vec[i].w;
	}
	if (!(norm > 0))
		return 0;
	norm = sqrt(norm);
	nnorm = sqrt(nnorm);
	for (i = 0; i < nv; i++) {
		if (t->vec[i].wn > 0)
			t->vec[i].wn = (float)(t->vec[i].w / nnorm);
		t->vec[i].w = (float)(t->vec[i].w / norm);
	}
	qsort(t->vec, nv, sizeof(*t->vec), tv_term_cmp);
	return nv;
}

/* --- centroids and postings ------------------------------------------ */

static uint32_t
cent_slot(const struct thr *th, uint32_t term)
{
	return (term * 2654435761u) & (th->capc - 1);
}

static const struct tv *
cent_get(const struct thr *th, uint32_t term)
{
	uint32_t i;

	if (th->capc == 0)
		return NULL;
	for (i = cent_slot(th, term); th->c[i].term != NONE;
	     i = (i + 1) & (th->capc - 1))
		if (th->c[i].term == term)
			return &th->c[i];
	return NULL;
}

static void
cent_rehash(struct thr *th, uint32_t cap)
{
	struct tv *old = th->c;
	uint32_t oldcap = th->capc, i, j;

	th->c = xreallocarray(NULL, cap, sizeof(*th->c));
	th->capc = cap;
	for (i = 0; i < cap; i++)
		th->c[i].term = NONE, th->c[i].w = th->c[i].wn = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].term == NONE)
			continue;
		for (j = cent_slot(th, old[i].term); th->c[j].term != NONE;
		     j = (j + 1) & (cap - 1))
			;
		th->c[j] = old[i];
	}
	free(old);
}

/* Add v's weights to the centroid; true when the term is new there. */
static bool
cent_add(struct thr *th, const struct tv *v)
{
	struct tv *c;
	uint32_t i;
	bool fresh = false;
	double o, on;

	if ((th->nc + 1) * 4 > th->capc * 3)
		cent_rehash(th, th->capc ? th->capc * 2 : 16);
	for (i = cent_slot(th, v->term); th->c[i].term != NONE;
	     i = (i + 1) & (th->capc - 1))
		if (th->c[i].term == v->term)
			break;
	c = &th->c[i];
	if (c->term == NONE) {
		c->term = v->term;
		c->w = c->wn = 0;
		th->nc++;
		fresh = true;
	}
	o = c->w;
	on = c->wn;
	c->w += v->w;
	c->wn += v->wn;
	th->norm2 += (double)c->w * c->w - o * o;
	th->norm2n += (double)c->wn * c->wn - on * on;
	return fresh;
}

static void
post_add(struct threader *t, uint32_t term, uint32_t slot)
{
	struct plist *pl = &t->post[term];

	if (pl->len == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 4;
		pl->p = xreallocarray(pl->p, pl->cap, sizeof(*pl->p));
	}
	pl->p[pl->len].slot = slot;
	pl->p[pl->len].gen = t->thrs[slot].gen;
	pl->len++;
}

/* Give back most of a posting list's room once it is mostly unused. */
static void
plist_shrink(struct plist *pl)
{
	if (pl->cap > 8 && pl->len * 4 < pl->cap) {
		pl->cap /= 2;
		pl->p = xreallocarray(pl->p, pl->cap, sizeof(*pl->p));
	}
}

/* Take thread slot (its current generation) off a term's postings,
 * keeping the order of the others. */
static void
post_remove(struct threader *t, uint32_t term, uint32_t slot)
{
	struct plist *pl = &t->post[term];
	uint32_t i, gen = t->thrs[slot].gen;

	for (i = 0; i < pl->len; i++) {
		if (pl->p[i].slot == slot && pl->p[i].gen == gen) {
			memmove(&pl->p[i], &pl->p[i + 1],
			    (pl->len - i - 1) * sizeof(*pl->p));
			pl->len--;
			break;
		}
	}
	plist_shrink(pl);
}

/*
 * Keep the heaviest three quarters of a centroid that grew too large. The
 * terms dropped stay in the postings: the thread remains a candidate for
 * articles that use them (measured: better than forgetting them), and its
 * score counts only what the centroid holds.
 */
static void
cent_prune(struct thr *th)
{
	struct tv *all = xreallocarray(NULL, th->nc, sizeof(*all));
	uint32_t i, n = 0, keep = THREAD_CENT_MAX * 3 / 4;

	for (i = 0; i < th->capc; i++)
		if (th->c[i].term != NONE)
			all[n++] = th->c[i];
	qsort(all, n, sizeof(*all), tv_weight_cmp);
	for (i = 0; i < th->capc; i++)
		th->c[i].term = NONE, th->c[i].w = th->c[i].wn = 0;
	th->nc = 0;
	th->norm2 = th->norm2n = 0;
	for (i = 0; i < n && i < keep; i++)
		(void)cent_add(th, &all[i]);
	free(all);
}

/* Add a unit vector to a thread's centroid and index its new terms. */
static void
thr_absorb(struct threader *t, uint32_t slot, const struct tv *v, uint32_t nv)
{
	struct thr *th = &t->thrs[slot];
	uint32_t i;

	for (i = 0; i < nv; i++)
		if (cent_add(th, &v[i]))
			post_add(t, v[i].term, slot);
	if (th->nc > THREAD_CENT_MAX)
		cent_prune(th);
}

/* --- articles and threads -------------------------------------------- */

static uint32_t
art_find(const struct threader *t, const char *msgid, size_t len)
{
	const struct map *m = &t->amap;
	uint64_t key;
	size_t i;
	const char *id;

	if (m->cap == 0)
		return NONE;
	key = thread_key_of(msgid, len);
	for (i = key & (m->cap - 1); m->keys[i] != 0;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] != key)
			continue;
		id = t->arts[m->vals[i]].msgid;
		if (strncmp(id, msgid, len) == 0 && id[len] == '\0')
			return m->vals[i];
	}
	return NONE;
}

/* Keep the heaviest THREAD_ART_TERMS terms of t->vec with the article. */
static void
art_keep_vector(struct threader *t, struct art *a, uint32_t nv)
{
	const struct tv *src = t->vec;
	uint32_t i;

	if (nv > THREAD_ART_TERMS) {
		memcpy(t->vtmp, t->vec, nv * sizeof(*t->vtmp));
		qsort(t->vtmp, nv, sizeof(*t->vtmp), tv_weight_cmp);
		nv = THREAD_ART_TERMS;
		qsort(t->vtmp, nv, sizeof(*t->vtmp), tv_term_cmp);
		src = t->vtmp;
	}
	a->nv = nv;
	a->v = xreallocarray(NULL, nv, sizeof(*a->v));
	for (i = 0; i < nv; i++) {
		a->v[i].term = src[i].term;
		a->v[i].w = src[i].w;
	}
}

static uint32_t
art_new(struct threader *t, const char *msgid, uint32_t thread, uint32_t nv)
{
	struct art *a;
	uint32_t slot;

	if (t->art_free != NONE) {
		slot = t->art_free;
		t->art_free = t->arts[slot].next;
	} else {
		if (t->narts == t->caparts) {
			t->caparts = t->caparts ? t->caparts * 2 : 1024;
			t->arts = xreallocarray(
			    t->arts, t->caparts, sizeof(*t->arts));
		}
		slot = t->narts++;
	}
	a = &t->arts[slot];
	memset(a, 0, sizeof(*a));
	a->msgid = xstrdup(msgid);
	a->thread = thread;
	a->parent = NONE;
	a->next = NONE;
	art_keep_vector(t, a, nv);
	thread_map_put(&t->amap, thread_key_of(msgid, strlen(msgid)), slot);
	t->live_arts++;
	return slot;
}

static void
art_drop(struct threader *t, uint32_t slot)
{
	struct art *a = &t->arts[slot];
	struct map *m = &t->amap;
	uint64_t key = thread_key_of(a->msgid, strlen(a->msgid));
	size_t i;

	for (i = key & (m->cap - 1); m->keys[i] != 0;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key && m->vals[i] == slot) {
			map_del_at(m, i);
			break;
		}
	}
	if (m->cap > 1024 && m->len * 8 < m->cap)
		map_resize(m, m->cap / 2);
	free(a->msgid);
	free(a->refs);
	free(a->v);
	memset(a, 0, sizeof(*a));
	a->next = t->art_free;
	t->art_free = slot;
	t->live_arts--;
}

static uint32_t
thr_new(struct threader *t, int64_t date)
{
	struct thr *th;
	uint32_t slot, gen = 0;

	if (t->thr_free != NONE) {
		slot = t->thr_free;
		t->thr_free = t->thrs[slot].next;
		gen = t->thrs[slot].gen;
	} else {
		if (t->nthrs == t->capthrs) {
			t->capthrs = t->capthrs ? t->capthrs * 2 : 1024;
			t->thrs = xreallocarray(
			    t->thrs, t->capthrs, sizeof(*t->thrs));
		}
		slot = t->nthrs++;
	}
	th = &t->thrs[slot];
	memset(th, 0, sizeof(*th));
	th->gen = gen;
	th->live = true;
	th->root = NONE;
	th->newest = th->oldest = date;
	th->next = NONE;
	t->live_thrs++;
	return slot;
}

/* Add article art (whose full vector is t->vec, nv terms) to a thread. */
static void
thr_join(
    struct threader *t, uint32_t slot, uint32_t art, int64_t date, uint32_t nv)
{
	struct thr *th = &t->thrs[slot];

	if (th->nmem == th->capmem) {
		th->capmem = th->capmem ? th->capmem * 2 : 4;
		th->mem = xreallocarray(th->mem, th->capmem, sizeof(*th->mem));
	}
	th->mem[th->nmem++] = art;
	if (date > th->newest)
		th->newest = date;
	if (date < th->oldest)
		th->oldest = date;
	if (th->root == NONE && th->root_id == NULL)
		th->root = art;
	thr_absorb(t, slot, t->vec, nv);
}

/* Forget a thread and its articles. Its entries in short posting lists go
 * now (a rare term may never be probed again); longer lists, of terms in
 * use, drop them when they are next walked. */
static void
thr_kill(struct threader *t, uint32_t slot)
{
	struct thr *th = &t->thrs[slot];
	uint32_t i, gen = th->gen + 1;

	for (i = 0; i < th->capc; i++)
		if (th->c[i].term != NONE &&
		    t->post[th->c[i].term].len <= THREAD_POST_SHORT)
			post_remove(t, th->c[i].term, slot);
	for (i = 0; i < th->nmem; i++)
		art_drop(t, th->mem[i]);
	free(th->mem);
	free(th->c);
	free(th->root_id);
	memset(th, 0, sizeof(*th));
	th->gen = gen;
	th->next = t->thr_free;
	t->thr_free = slot;
	t->live_thrs--;
}

/* Is an article of this date within the window of the thread's span? */
static bool
thr_in_window(const struct threader *t, const struct thr *th, int64_t date)
{
	int64_t w = t->conf.window_s;

	return w <= 0 || (th->newest >= date - w && th->oldest <= date + w);
}

/* Check THREAD_SWEEP_STEP thread slots per add: forget threads whose
 * newest article is a window older than the clock, or any but keep when
 * too many articles are live. */
static void
sweep(struct threader *t, uint32_t keep)
{
	struct thr *th;
	uint32_t k, s;

	for (k = 0; k < THREAD_SWEEP_STEP && t->nthrs > 0; k++) {
		if (t->sweep >= t->nthrs)
			t->sweep = 0;
		s = t->sweep++;
		th = &t->thrs[s];
		if (!th->live || s == keep)
			continue;
		if ((t->conf.window_s > 0 &&
			th->newest < t->clock - t->conf.window_s) ||
		    t->live_arts > THREAD_LIVE_MAX)
			thr_kill(t, s);
	}
}

static const char *
thr_root_id(const struct threader *t, const struct thr *th)
{
	if (th->root_id != NULL)
		return th->root_id;
	return th->root != NONE ? t->arts[th->root].msgid : "";
}

/* --- choosing the thread --------------------------------------------- */

static int
probe_cmp(const void *a, const void *b)
{
	const struct probe *x = a, *y = b;

	if (x->df != y->df)
		return x->df < y->df ? -1 : 1;
	return x->term < y->term ? -1 : x->term > y->term;
}

/* Walk one posting list: collect live threads in the window, drop stale
 * entries. Returns the number of candidates now in t->cand. */
static uint32_t
probe_term(struct threader *t, uint32_t term, int64_t date, uint32_t nc)
{
	struct plist *pl = &t->post[term];
	uint32_t j, w = 0;
	struct thr *th;

	for (j = 0; j < pl->len; j++) {
		th = &t->thrs[pl->p[j].slot];
		if (th->gen != pl->p[j].gen || !th->live)
			continue;
		pl->p[w++] = pl->p[j];
		if (th->stamp == t->stamp || !thr_in_window(t, th, date) ||
		    nc >= THREAD_CAND_MAX)
			continue;
		th->stamp = t->stamp;
		t->cand[nc++] = pl->p[j].slot;
	}
	pl->len = w;
	plist_shrink(pl);
	return nc;
}

/* Candidate threads: those sharing a term with the article, probing the
 * rarest terms first and skipping very common ones. */
static uint32_t
gather(struct threader *t, uint32_t nv, int64_t date)
{
	struct probe *pr = t->probes;
	double limit = t->conf.df_max * t->live_thrs;
	uint32_t i, nc = 0;

	if (nv == 0)
		return 0;
	for (i = 0; i < nv; i++) {
		pr[i].term = t->vec[i].term;
		pr[i].df = t->df[t->vec[i].term];
	}
	qsort(pr, nv, sizeof(*pr), probe_cmp);
	if (limit < 16)
		limit = 16;
	for (i = 0; i < nv; i++) {
		if (i >= THREAD_PROBE_MIN && t->post[pr[i].term].len > limit)
			continue;
		nc = probe_term(t, pr[i].term, date, nc);
	}
	return nc;
}

static double
clamp01(double x)
{
	return isfinite(x) && x > 0 ? (x > 1 ? 1 : x) : 0;
}

/* Cosine of the article and a centroid, mixed with the cosine of their
 * names channels when the article has names. */
static double
cent_sim(const struct threader *t, const struct thr *th, uint32_t nv)
{
	double dot = 0, dotn = 0, s, m = t->tune.names_share;
	const struct tv *c;
	uint32_t i, names = 0;

	if (!(th->norm2 > 0))
		return 0;
	for (i = 0; i < nv; i++) {
		names += t->vec[i].wn > 0;
		if ((c = cent_get(th, t->vec[i].term)) == NULL)
			continue;
		dot += (double)t->vec[i].w * c->w;
		dotn += (double)t->vec[i].wn * c->wn;
	}
	s = clamp01(dot / sqrt(th->norm2));
	if (names == 0 || names < t->tune.names_min || m <= 0)
		return s;
	dotn = th->norm2n > 0 ? clamp01(dotn / sqrt(th->norm2n)) : 0;
	return (1 - m) * s + m * dotn;
}

/* Cosine of the article (its weights spread in t->dense) and a member. */
static double
member_sim(const struct threader *t, const struct art *a)
{
	double s = 0;
	uint32_t i;

	for (i = 0; i < a->nv; i++)
		s += (double)t->dense[a->v[i].term] * a->v[i].w;
	return s;
}

/* The member most similar to the article (first of equals), its cosine:
 * among the root and the newest THREAD_MEMBERS_MAX members. */
static uint32_t
best_member(const struct threader *t, const struct thr *th, double *sim)
{
	uint32_t i, best = NONE, from = 0, max = (uint32_t)t->tune.member_max;
	double s, bs = -1;

	if (max > 0 && th->nmem > max)
		from = th->nmem - max;
	for (i = from; i < th->nmem; i++) {
		s = member_sim(t, &t->arts[th->mem[i]]);
		if (s > bs) {
			bs = s;
			best = th->mem[i];
		}
	}
	if (from > 0 && (s = member_sim(t, &t->arts[th->mem[0]])) > bs) {
		bs = s;
		best = th->mem[0];
	}
	*sim = bs > 0 ? (bs > 1 ? 1 : bs) : 0;
	return best;
}

/* Spread the article's weights over t->dense (by term id), or clear
 * them again. */
static void
dense_set(struct threader *t, uint32_t nv, bool on)
{
	uint32_t i;

	if (on && t->capdense < t->nterms) {
		free(t->dense);
		t->capdense = t->capterms;
		t->dense = xcalloc(t->capdense, sizeof(*t->dense));
	}
	for (i = 0; i < nv; i++)
		t->dense[t->vec[i].term] = on ? t->vec[i].w : 0;
}

struct choice {
	uint32_t thread; /* thread slot or NONE */
	uint32_t parent; /* article slot */
	double score;
};

/* The thread most similar to the article in t->vec (NONE: no candidate)
 * and its member most similar to the article. */
static struct choice
choose(struct threader *t, uint32_t nv, int64_t date)
{
	struct choice best = {NONE, NONE, 0};
	uint32_t top[THREAD_TOPK], ntop = 0, i, j, nc, p;
	double a = t->tune.member_weight, ms, s;
	struct thr *th;

	nc = gather(t, nv, date);
	for (i = 0; i < nc; i++) {
		th = &t->thrs[t->cand[i]];
		th->sim = (float)cent_sim(t, th, nv);
		/* Insertion into the top list, best first, stable. */
		for (j = ntop; j > 0; j--) {
			if (t->thrs[top[j - 1]].sim >= th->sim)
				break;
			if (j < THREAD_TOPK)
				top[j] = top[j - 1];
		}
		if (j < THREAD_TOPK) {
			top[j] = t->cand[i];
			if (ntop < THREAD_TOPK)
				ntop++;
		}
	}
	dense_set(t, nv, true);
	for (i = 0; i < ntop; i++) {
		th = &t->thrs[top[i]];
		p = best_member(t, th, &ms);
		s = (1 - a) * th->sim + a * ms;
		if (th->nmem > 1)
			s += t->tune.size_bonus * log2((double)th->nmem);
		if (p != NONE && s > best.score) {
			best.thread = top[i];
			best.parent = p;
			best.score = s;
		}
	}
	dense_set(t, nv, false);
	if (best.score > 1)
		best.score = 1;
	return best;
}

/* --- adding ---------------------------------------------------------- */

/* Message-IDs in a References header, at most max: the first and the
 * last max - 1. Slices point into refs. */
static size_t
refs_parse(const char *refs, struct str *ids, size_t max)
{
	const char *p = refs, *e;
	size_t n = 0;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n' ||
		    *p == '\r')
			p++;
		if (*p != '<') {
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
			continue;
		}
		for (e = p + 1; *e != '\0' && *e != '>' && *e != '<' &&
		     *e != ' ' && *e != '\t';
		     e++)
			;
		if (*e == '>' && (size_t)(e + 1 - p) <= THREAD_MSGID_MAX) {
			if (n == max) {
				memmove(
				    ids + 1, ids + 2, (max - 2) * sizeof(*ids));
				n--;
			}
			ids[n].p = p;
			ids[n++].len = (size_t)(e + 1 - p);
		}
		p = *e == '>' ? e + 1 : e;
	}
	return n;
}

static void
link_out(struct threader *t, uint32_t slot, struct thread_link *out)
{
	const struct art *a = &t->arts[slot];
	struct str ids[2];
	size_t n;

	out->how = (enum thread_how)a->how;
	out->root = thr_root_id(t, &t->thrs[a->thread]);
	out->score = a->how == THREAD_REFS ? 0 : a->score;
	out->parent = NULL;
	out->nearest = NULL;
	if (a->how == THREAD_NEW) {
		out->root = a->msgid;
	} else if (a->how == THREAD_SIMILAR && a->parent != NONE) {
		out->parent = t->arts[a->parent].msgid;
	} else if (a->how == THREAD_REFS && a->refs != NULL &&
	    (n = refs_parse(a->refs, ids, NG_NELEM(ids))) > 0) {
		free(t->refbuf);
		t->refbuf = xstrndup(ids[n - 1].p, ids[n - 1].len);
		out->parent = t->refbuf;
	}
}

/* An article with References: join the thread of the nearest known
 * ancestor, else a thread rooted at its first reference. */
static uint32_t
add_refs(struct threader *t, const struct thread_item *it, uint32_t nv,
    const struct str *ids, size_t nids)
{
	uint32_t th = NONE, slot, anc = NONE;
	size_t i;

	for (i = nids; i > 0 && anc == NONE; i--)
		anc = art_find(t, ids[i - 1].p, ids[i - 1].len);
	if (anc != NONE) {
		th = t->arts[anc].thread;
	} else {
		th = thr_new(t, it->date);
		t->thrs[th].root_id = xstrndup(ids[0].p, ids[0].len);
	}
	slot = art_new(t, it->msgid, th, nv);
	t->arts[slot].how = THREAD_REFS;
	t->arts[slot].refs = xstrdup(it->references);
	if (anc != NONE && i + 1 == nids)
		t->arts[slot].parent = anc;
	thr_join(t, th, slot, it->date, nv);
	return slot;
}

/* The threshold for an article of nv terms: longer texts share more
 * words by chance, so they must agree more. */
static double
thread_threshold(const struct threader *t, uint32_t nv)
{
	double th = t->conf.threshold, r = nv / (double)THREAD_LEN_REF;

	if (r > 1)
		th += t->tune.length_slope * log2(r);
	return th;
}

static uint32_t
add_similar(struct threader *t, const struct thread_item *it, uint32_t nv)
{
	struct choice c = {NONE, NONE, 0};
	uint32_t slot;

	if (nv > 0 && !it->no_similar)
		c = choose(t, nv, it->date);
	free(t->nearbuf);
	t->nearbuf = NULL;
	if (c.thread == NONE || !(c.score >= thread_threshold(t, nv))) {
		if (c.thread != NONE)
			t->nearbuf = xstrdup(t->arts[c.parent].msgid);
		c.thread = thr_new(t, it->date);
		slot = art_new(t, it->msgid, c.thread, nv);
		t->arts[slot].how = THREAD_NEW;
		t->arts[slot].score = (float)c.score;
	} else {
		slot = art_new(t, it->msgid, c.thread, nv);
		t->arts[slot].how = THREAD_SIMILAR;
		t->arts[slot].parent = c.parent;
		t->arts[slot].score = (float)c.score;
	}
	thr_join(t, c.thread, slot, it->date, nv);
	return slot;
}

/*
 * The clock is the oldest date among the last THREAD_CLOCK_N articles:
 * one article dated far in the future cannot expire every thread, and an
 * archive imported after newer articles moves it back (the newer threads
 * wait, out of its window, until their time comes again).
 */
static void
clock_tick(struct threader *t, int64_t date)
{
	uint32_t i;

	t->recent[t->recent_pos] = date;
	t->recent_pos = (t->recent_pos + 1) % THREAD_CLOCK_N;
	if (t->nrecent < THREAD_CLOCK_N)
		t->nrecent++;
	t->clock = t->recent[0];
	for (i = 1; i < t->nrecent; i++)
		if (t->recent[i] < t->clock)
			t->clock = t->recent[i];
}

int
thread_add(
    struct threader *t, const struct thread_item *it, struct thread_link *out)
{
	struct str ids[THREAD_REFS_IN];
	size_t nids = 0, len;
	uint32_t nv, slot;
	struct thread_item in;

	if (it->msgid == NULL || (len = strlen(it->msgid)) == 0 ||
	    len > THREAD_MSGID_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((slot = art_find(t, it->msgid, len)) != NONE) {
		link_out(t, slot, out);
		errno = EEXIST;
		return -1;
	}
	in = *it;
	if (in.date > THREAD_DATE_MAX)
		in.date = THREAD_DATE_MAX;
	else if (in.date < -THREAD_DATE_MAX)
		in.date = -THREAD_DATE_MAX;
	it = &in;
	clock_tick(t, it->date);
	t->stamp++;
	nv = make_vector(t, it);
	if (it->references != NULL)
		nids = refs_parse(it->references, ids, THREAD_REFS_IN);
	if (nids > 0)
		slot = add_refs(t, it, nv, ids, nids);
	else
		slot = add_similar(t, it, nv);
	link_out(t, slot, out);
	if (out->how == THREAD_NEW)
		out->nearest = t->nearbuf;
	sweep(t, t->arts[slot].thread);
	return 0;
}

/* --- References -------------------------------------------------------- */

/* Append ids as a References value: the first id, then as many of the
 * last ones as fit in THREAD_REFS_MAX ids and THREAD_REFS_OCTETS. */
static void
refs_emit(const struct str *ids, size_t n, struct buf *out)
{
	size_t i, from = n, count = 1, octets;

	if (n == 0)
		return;
	octets = ids[0].len;
	while (from > 1 && count < THREAD_REFS_MAX &&
	    octets + 1 + ids[from - 1].len <= THREAD_REFS_OCTETS) {
		from--;
		count++;
		octets += 1 + ids[from].len;
	}
	buf_append(out, ids[0].p, ids[0].len);
	for (i = from; i < n; i++) {
		buf_putc(out, ' ');
		buf_append(out, ids[i].p, ids[i].len);
	}
}

int
thread_references(struct threader *t, const char *msgid, struct buf *out)
{
	struct str ids[THREAD_REFS_IN + THREAD_REFS_MAX + 1];
	uint32_t chain[THREAD_REFS_MAX], slot, n = 0, i;
	size_t nids = 0;
	const struct art *a;

	if ((slot = art_find(t, msgid, strlen(msgid))) == NONE) {
		errno = ENOENT;
		return -1;
	}
	/* Walk up similarity links; stop at a root, at an article with
	 * References of its own, or after THREAD_REFS_MAX steps. */
	for (;;) {
		a = &t->arts[slot];
		chain[n++] = slot;
		if (a->how != THREAD_SIMILAR || a->parent == NONE ||
		    n == THREAD_REFS_MAX)
			break;
		slot = a->parent;
	}
	if (a->how == THREAD_REFS && a->refs != NULL) {
		nids = refs_parse(a->refs, ids, THREAD_REFS_IN);
	} else if (a->how == THREAD_SIMILAR) {
		ids[0].p = thr_root_id(t, &t->thrs[a->thread]);
		ids[0].len = strlen(ids[0].p);
		nids = ids[0].len > 0;
	}
	for (i = n; i > 0; i--) {
		ids[nids].p = t->arts[chain[i - 1]].msgid;
		ids[nids].len = strlen(ids[nids].p);
		nids++;
	}
	refs_emit(ids, nids, out);
	return 0;
}

/* --- life cycle, statistics, tuning ------------------------------------ */

struct threader *
thread_new(const struct thread_conf *tc)
{
	struct threader *t = xcalloc(1, sizeof(*t));

	t->conf = *tc;
	if (t->conf.max_terms == 0)
		t->conf.max_terms = 1;
	if (t->conf.max_terms > THREAD_TOKENS_MAX)
		t->conf.max_terms = THREAD_TOKENS_MAX;
	if (t->conf.window_s > THREAD_DATE_MAX)
		t->conf.window_s = THREAD_DATE_MAX;
	t->tune = tune_default;
	t->tk = terms_new("english");
	t->art_free = t->thr_free = NONE;
	t->toks = xreallocarray(NULL, THREAD_TOKENS_MAX, sizeof(*t->toks));
	t->vec = xreallocarray(NULL, THREAD_TOKENS_MAX, sizeof(*t->vec));
	t->vtmp = xreallocarray(NULL, THREAD_TOKENS_MAX, sizeof(*t->vtmp));
	t->cand = xreallocarray(NULL, THREAD_CAND_MAX, sizeof(*t->cand));
	t->probes = xreallocarray(NULL, THREAD_TOKENS_MAX, sizeof(*t->probes));
	return t;
}

int
thread_tune_set(struct threader *t, const char *name, double v)
{
	static const struct {
		const char *name;
		size_t off;
		double min, max;
	} knobs[] = {
	    {"length_slope", offsetof(struct tune, length_slope), 0, 1},
	    {"lead_words", offsetof(struct tune, lead_words), 0, 1e6},
	    {"member_max", offsetof(struct tune, member_max), 0, 1e6},
	    {"member_weight", offsetof(struct tune, member_weight), 0, 1},
	    {"names_min", offsetof(struct tune, names_min), 0, 1e6},
	    {"names_share", offsetof(struct tune, names_share), 0, 1},
	    {"number_weight", offsetof(struct tune, number_weight), 0, 100},
	    {"size_bonus", offsetof(struct tune, size_bonus), 0, 1},
	    {"boost_min", offsetof(struct tune, boost_min), 0, 1e6},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(knobs); i++) {
		if (strcmp(name, knobs[i].name) != 0)
			continue;
		if (!(v >= knobs[i].min && v <= knobs[i].max))
			return -1;
		memcpy((char *)&t->tune + knobs[i].off, &v, sizeof(v));
		return 0;
	}
	return -1;
}

void
thread_clear(struct threader *t)
{
	uint32_t i;

	for (i = 0; i < t->narts; i++) {
		free(t->arts[i].msgid);
		free(t->arts[i].refs);
		free(t->arts[i].v);
	}
	for (i = 0; i < t->nthrs; i++) {
		free(t->thrs[i].mem);
		free(t->thrs[i].c);
		free(t->thrs[i].root_id);
	}
	for (i = 0; i < t->nterms; i++)
		free(t->post[i].p);
	free(t->term_key);
	free(t->df);
	free(t->cap_seen);
	free(t->cap_upper);
	free(t->post);
	free(t->arts);
	free(t->thrs);
	free(t->refbuf);
	free(t->nearbuf);
	map_fini(&t->dict);
	map_fini(&t->amap);
	t->term_key = NULL;
	t->df = t->cap_seen = t->cap_upper = NULL;
	t->post = NULL;
	t->arts = NULL;
	t->thrs = NULL;
	t->refbuf = t->nearbuf = NULL;
	t->nterms = t->capterms = 0;
	t->narts = t->caparts = t->live_arts = 0;
	t->nthrs = t->capthrs = t->live_thrs = 0;
	t->art_free = t->thr_free = NONE;
	t->ndocs = 0;
	t->clock = 0;
	t->nrecent = t->recent_pos = 0;
	t->stamp = t->sweep = 0;
}

void
thread_free(struct threader *t)
{
	if (t == NULL)
		return;
	thread_clear(t);
	terms_free(t->tk);
	free(t->toks);
	free(t->vec);
	free(t->vtmp);
	free(t->cand);
	free(t->probes);
	free(t->dense);
	free(t);
}

/* Bytes malloc() takes for a block of len: glibc's chunk header and its
 * 16-byte granule. */
static size_t
heap_block(size_t len)
{
	return len == 0 ? 0 : (len + 8 + 15) / 16 * 16;
}

void
thread_stats(const struct threader *t, struct thread_stats *st)
{
	const struct art *a;
	size_t v = 0, m = 0;
	uint32_t i;

	v += heap_block(t->capterms * sizeof(*t->term_key)) +
	    heap_block(t->capterms * sizeof(*t->df)) +
	    2 * heap_block(t->capterms * sizeof(*t->cap_seen)) +
	    heap_block(t->capterms * sizeof(*t->post)) +
	    heap_block(t->dict.cap * sizeof(*t->dict.keys)) +
	    heap_block(t->dict.cap * sizeof(*t->dict.vals));
	for (i = 0; i < t->nterms; i++)
		m += heap_block(t->post[i].cap * sizeof(struct post));
	m += heap_block(t->amap.cap * sizeof(*t->amap.keys)) +
	    heap_block(t->amap.cap * sizeof(*t->amap.vals));
	m += heap_block(t->caparts * sizeof(struct art));
	for (i = 0; i < t->narts; i++) {
		a = &t->arts[i];
		if (a->msgid == NULL)
			continue;
		m += heap_block(strlen(a->msgid) + 1) +
		    heap_block(a->nv * sizeof(struct mv)) +
		    (a->refs ? heap_block(strlen(a->refs) + 1) : 0);
	}
	m += heap_block(t->capthrs * sizeof(struct thr));
	for (i = 0; i < t->nthrs; i++)
		m += heap_block(t->thrs[i].capmem * sizeof(uint32_t)) +
		    heap_block(t->thrs[i].capc * sizeof(struct tv));
	st->articles = t->ndocs;
	st->live_articles = t->live_arts;
	st->live_threads = t->live_thrs;
	st->terms = t->nterms;
	st->index_bytes = m;
	st->vocab_bytes = v;
}
