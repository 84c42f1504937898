/*
 * thread_state.c - the threading state as bytes and back (thread_save(),
 * thread_load()): everything thread.c holds, in its exact order, so a
 * reload continues as an uninterrupted run would. Owns no state; never
 * trusts the bytes it reads: every count is bounded by what is left,
 * every index is checked, and a checksum guards the whole.
 */
#include <math.h>

#include "common.h"
#include "buf.h"
#include "thread.h"
#include "thread_int.h"

/* --- saving and loading ------------------------------------------------ */

/*
 * The saved state, all integers little-endian, floats as their IEEE bits:
 *   "NGTHRD01" u32 version
 *   u64 ndocs  i64 clock  u32 stamp  u32 sweep
 *   u32 nrecent  u32 recent_pos  nrecent x i64 recent
 *   u32 nterms, per term: u64 key u32 df u32 cap_seen u32 cap_upper
 *       u32 npost, npost x (u32 slot, u32 gen)
 *   u32 narts u32 art_free u32 live_arts, per slot: u8 used, then
 *       used:   str msgid, str refs, u32 nv, nv x (u32 term f32 w),
 *               u32 thread u32 parent f32 score u8 how
 *       free:   u32 next
 *   u32 nthrs u32 thr_free u32 live_thrs, per slot: u32 gen u8 live, then
 *       live:   str root_id, u32 root i64 newest i64 oldest,
 *               u32 nmem nmem x u32,
 *               u32 capc u32 nc f64 norm2 f64 norm2n u32 stamp,
 *               capc x (u32 term f32 w f32 wn)
 *       free:   u32 next
 *   u64 FNV-1a of everything before it
 * A str is u32 length then the octets; length 0xFFFFFFFF is NULL.
 */
#define THREAD_MAGIC "NGTHRD01"
#define THREAD_VERSION 2
#define STR_NULL 0xFFFFFFFFu

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4];
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	buf_append(b, p, 4);
}

static void
put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void
put_f32(struct buf *b, float f)
{
	uint32_t v;

	memcpy(&v, &f, 4);
	put_u32(b, v);
}

static void
put_f64(struct buf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, 8);
	put_u64(b, v);
}

static void
put_str(struct buf *b, const char *s)
{
	if (s == NULL) {
		put_u32(b, STR_NULL);
		return;
	}
	put_u32(b, (uint32_t)strlen(s));
	buf_puts(b, s);
}

static void
put_tv(struct buf *b, const struct tv *v)
{
	put_u32(b, v->term);
	put_f32(b, v->w);
	put_f32(b, v->wn);
}

static void
save_terms(const struct threader *t, struct buf *b)
{
	uint32_t i, j;

	put_u32(b, t->nterms);
	for (i = 0; i < t->nterms; i++) {
		put_u64(b, t->term_key[i]);
		put_u32(b, t->df[i]);
		put_u32(b, t->cap_seen[i]);
		put_u32(b, t->cap_upper[i]);
		put_u32(b, t->post[i].len);
		for (j = 0; j < t->post[i].len; j++) {
			put_u32(b, t->post[i].p[j].slot);
			put_u32(b, t->post[i].p[j].gen);
		}
	}
}

static void
save_arts(const struct threader *t, struct buf *b)
{
	const struct art *a;
	uint32_t i, j;

	put_u32(b, t->narts);
	put_u32(b, t->art_free);
	put_u32(b, t->live_arts);
	for (i = 0; i < t->narts; i++) {
		a = &t->arts[i];
		buf_putc(b, a->msgid != NULL);
		if (a->msgid == NULL) {
			put_u32(b, a->next);
			continue;
		}
		put_str(b, a->msgid);
		put_str(b, a->refs);
		put_u32(b, a->nv);
		for (j = 0; j < a->nv; j++) {
			put_u32(b, a->v[j].term);
			put_f32(b, a->v[j].w);
		}
		put_u32(b, a->thread);
		put_u32(b, a->parent);
		put_f32(b, a->score);
		buf_putc(b, a->how);
	}
}

static void
save_thrs(const struct threader *t, struct buf *b)
{
	const struct thr *th;
	uint32_t i, j;

	put_u32(b, t->nthrs);
	put_u32(b, t->thr_free);
	put_u32(b, t->live_thrs);
	for (i = 0; i < t->nthrs; i++) {
		th = &t->thrs[i];
		put_u32(b, th->gen);
		buf_putc(b, th->live);
		if (!th->live) {
			put_u32(b, th->next);
			continue;
		}
		put_str(b, th->root_id);
		put_u32(b, th->root);
		put_u64(b, (uint64_t)th->newest);
		put_u64(b, (uint64_t)th->oldest);
		put_u32(b, th->nmem);
		for (j = 0; j < th->nmem; j++)
			put_u32(b, th->mem[j]);
		put_u32(b, th->capc);
		put_u32(b, th->nc);
		put_f64(b, th->norm2);
		put_f64(b, th->norm2n);
		put_u32(b, th->stamp);
		for (j = 0; j < th->capc; j++)
			put_tv(b, &th->c[j]);
	}
}

void
thread_save(const struct threader *t, struct buf *out)
{
	size_t start = out->len;
	uint32_t i;

	buf_append(out, THREAD_MAGIC, 8);
	put_u32(out, THREAD_VERSION);
	put_u64(out, t->ndocs);
	put_u64(out, (uint64_t)t->clock);
	put_u32(out, t->nrecent);
	put_u32(out, t->recent_pos);
	for (i = 0; i < t->nrecent; i++)
		put_u64(out, (uint64_t)t->recent[i]);
	put_u32(out, t->stamp);
	put_u32(out, t->sweep);
	save_terms(t, out);
	save_arts(t, out);
	save_thrs(t, out);
	if (out->err == 0)
		put_u64(out, hash64(out->data + start, out->len - start, 0));
}

/* A bounds-checked reader: any short read sets bad and yields zeros. */
struct rd {
	const unsigned char *p;
	size_t len;
	size_t off;
	bool bad;
};

static const unsigned char *
rd_take(struct rd *r, size_t n)
{
	const unsigned char *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint32_t
get_u32(struct rd *r)
{
	const unsigned char *p = rd_take(r, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_u64(struct rd *r)
{
	uint64_t lo = get_u32(r);

	return lo | (uint64_t)get_u32(r) << 32;
}

static uint8_t
get_u8(struct rd *r)
{
	const unsigned char *p = rd_take(r, 1);

	return p ? p[0] : 0;
}

static float
get_f32(struct rd *r)
{
	uint32_t v = get_u32(r);
	float f;

	memcpy(&f, &v, 4);
	if (!isfinite(f))
		r->bad = true;
	return f;
}

static double
get_f64(struct rd *r)
{
	uint64_t v = get_u64(r);
	double d;

	memcpy(&d, &v, 8);
	if (!isfinite(d))
		r->bad = true;
	return d;
}

/* A string of at most max octets (no NUL inside), or NULL. */
static char *
get_str(struct rd *r, size_t max, bool nullable)
{
	uint32_t n = get_u32(r);
	const unsigned char *p;

	if (n == STR_NULL && nullable && !r->bad)
		return NULL;
	if (n == 0 || n > max || (p = rd_take(r, n)) == NULL ||
	    memchr(p, '\0', n) != NULL) {
		r->bad = true;
		return NULL;
	}
	return xstrndup((const char *)p, n);
}

/* A count that the remaining bytes can hold at min_size bytes each. */
static uint32_t
get_count(struct rd *r, size_t min_size)
{
	uint32_t n = get_u32(r);

	if (r->bad || n > (r->len - r->off) / min_size)
		r->bad = true;
	return r->bad ? 0 : n;
}

static void
get_tv(struct rd *r, struct tv *v)
{
	v->term = get_u32(r);
	v->w = get_f32(r);
	v->wn = get_f32(r);
}

static void
load_terms(struct threader *t, struct rd *r)
{
	uint32_t n = get_count(r, 24), i, j;
	struct plist *pl;

	t->capterms = n;
	t->term_key = xreallocarray(NULL, n, sizeof(*t->term_key));
	t->df = xreallocarray(NULL, n, sizeof(*t->df));
	t->cap_seen = xreallocarray(NULL, n, sizeof(*t->cap_seen));
	t->cap_upper = xreallocarray(NULL, n, sizeof(*t->cap_upper));
	t->post = xcalloc(n, sizeof(*t->post));
	for (i = 0; i < n && !r->bad; i++) {
		t->nterms++;
		t->term_key[i] = get_u64(r);
		t->df[i] = get_u32(r);
		t->cap_seen[i] = get_u32(r);
		t->cap_upper[i] = get_u32(r);
		pl = &t->post[i];
		pl->len = pl->cap = get_count(r, 8);
		pl->p = xreallocarray(NULL, pl->cap, sizeof(*pl->p));
		for (j = 0; j < pl->len; j++) {
			pl->p[j].slot = get_u32(r);
			pl->p[j].gen = get_u32(r);
		}
		if (t->term_key[i] == 0)
			r->bad = true;
		else
			thread_map_put(&t->dict, t->term_key[i], i);
	}
}

static void
load_art(struct threader *t, struct rd *r, struct art *a)
{
	uint32_t j;

	a->msgid = get_str(r, THREAD_MSGID_MAX, false);
	a->refs = get_str(r, 1 << 20, true);
	a->nv = get_count(r, 8);
	if (a->nv > THREAD_ART_TERMS)
		r->bad = true;
	a->v = xreallocarray(NULL, r->bad ? 0 : a->nv, sizeof(*a->v));
	for (j = 0; j < a->nv && !r->bad; j++) {
		a->v[j].term = get_u32(r);
		a->v[j].w = get_f32(r);
		if (a->v[j].term >= t->nterms ||
		    (j > 0 && a->v[j].term <= a->v[j - 1].term))
			r->bad = true;
	}
	a->thread = get_u32(r);
	a->parent = get_u32(r);
	a->score = get_f32(r);
	a->how = get_u8(r);
	if (a->how > THREAD_REFS)
		r->bad = true;
}

static void
load_arts(struct threader *t, struct rd *r)
{
	uint32_t n = get_count(r, 5), i;
	struct art *a;

	t->art_free = get_u32(r);
	t->live_arts = get_u32(r);
	t->caparts = n;
	t->arts = xcalloc(n, sizeof(*t->arts));
	for (i = 0; i < n && !r->bad; i++) {
		a = &t->arts[i];
		t->narts++;
		if (get_u8(r) == 0) {
			a->next = get_u32(r);
			continue;
		}
		load_art(t, r, a);
		if (a->msgid != NULL)
			thread_map_put(&t->amap,
			    thread_key_of(a->msgid, strlen(a->msgid)), i);
	}
}

static void
load_thr(struct threader *t, struct rd *r, struct thr *th)
{
	uint32_t j, used = 0;

	th->root_id = get_str(r, THREAD_MSGID_MAX, true);
	th->root = get_u32(r);
	th->newest = (int64_t)get_u64(r);
	th->oldest = (int64_t)get_u64(r);
	th->nmem = th->capmem = get_count(r, 4);
	th->mem = xreallocarray(NULL, th->capmem, sizeof(*th->mem));
	for (j = 0; j < th->nmem; j++)
		th->mem[j] = get_u32(r);
	th->capc = get_count(r, 12);
	th->nc = get_u32(r);
	th->norm2 = get_f64(r);
	th->norm2n = get_f64(r);
	th->stamp = get_u32(r);
	if ((th->capc & (th->capc - 1)) != 0 || th->nc >= th->capc + !th->capc)
		r->bad = true;
	th->c = xreallocarray(NULL, r->bad ? 0 : th->capc, sizeof(*th->c));
	for (j = 0; j < th->capc && !r->bad; j++) {
		get_tv(r, &th->c[j]);
		if (th->c[j].term != NONE) {
			used++;
			if (th->c[j].term >= t->nterms)
				r->bad = true;
		}
	}
	if (used != th->nc)
		r->bad = true;
}

static void
load_thrs(struct threader *t, struct rd *r)
{
	uint32_t n = get_count(r, 5), i;
	struct thr *th;

	t->thr_free = get_u32(r);
	t->live_thrs = get_u32(r);
	t->capthrs = n;
	t->thrs = xcalloc(n, sizeof(*t->thrs));
	for (i = 0; i < n && !r->bad; i++) {
		th = &t->thrs[i];
		t->nthrs++;
		th->gen = get_u32(r);
		th->live = get_u8(r) != 0;
		if (th->live)
			load_thr(t, r, th);
		else
			th->next = get_u32(r);
	}
}

/* Walk a free list: every slot in range, free, met once; the count is
 * what the live count leaves. */
static bool
free_list_ok(uint32_t head, uint32_t n, uint32_t live,
    bool (*used)(const struct threader *, uint32_t),
    uint32_t (*next)(const struct threader *, uint32_t),
    const struct threader *t)
{
	uint32_t steps = 0, s;

	for (s = head; s != NONE; s = next(t, s)) {
		if (s >= n || used(t, s) || ++steps > n)
			return false;
	}
	return live <= n && steps == n - live;
}

static bool
art_used(const struct threader *t, uint32_t s)
{
	return t->arts[s].msgid != NULL;
}

static uint32_t
art_next(const struct threader *t, uint32_t s)
{
	return t->arts[s].next;
}

static bool
thr_used(const struct threader *t, uint32_t s)
{
	return t->thrs[s].live;
}

static uint32_t
thr_next(const struct threader *t, uint32_t s)
{
	return t->thrs[s].next;
}

/* Every article in exactly one live thread, every index in range. */
static bool
load_check(const struct threader *t)
{
	uint8_t *seen = xcalloc(t->narts, 1);
	uint32_t i, j, m, live_thrs = 0, members = 0;
	const struct thr *th;
	bool ok = false;

	for (i = 0; i < t->nterms; i++)
		for (j = 0; j < t->post[i].len; j++)
			if (t->post[i].p[j].slot >= t->nthrs)
				goto out;
	for (i = 0; i < t->nthrs; i++) {
		th = &t->thrs[i];
		if (!th->live)
			continue;
		live_thrs++;
		if (th->root != NONE &&
		    (th->root >= t->narts || !art_used(t, th->root)))
			goto out;
		for (j = 0; j < th->nmem; j++, members++) {
			m = th->mem[j];
			if (m >= t->narts || !art_used(t, m) || seen[m] ||
			    t->arts[m].thread != i)
				goto out;
			seen[m] = 1;
		}
	}
	for (i = 0; i < t->narts; i++) {
		m = t->arts[i].parent;
		if (art_used(t, i) &&
		    (!seen[i] ||
			(m != NONE && (m >= t->narts || !art_used(t, m)))))
			goto out;
	}
	ok = live_thrs == t->live_thrs && members == t->live_arts &&
	    t->sweep <= t->nthrs &&
	    free_list_ok(
		t->art_free, t->narts, t->live_arts, art_used, art_next, t) &&
	    free_list_ok(
		t->thr_free, t->nthrs, t->live_thrs, thr_used, thr_next, t);
out:
	free(seen);
	return ok;
}

int
thread_load(struct threader *t, const void *data, size_t len)
{
	struct rd r = {data, len, 0, false};
	const unsigned char *magic;
	uint32_t i;

	thread_clear(t);
	if (len < 8 + 4 + 8 ||
	    get_u64(&(struct rd){(const unsigned char *)data + len - 8, 8, 0,
		false}) != hash64(data, len - 8, 0))
		goto bad;
	r.len = len - 8;
	if ((magic = rd_take(&r, 8)) == NULL ||
	    memcmp(magic, THREAD_MAGIC, 8) != 0 ||
	    get_u32(&r) != THREAD_VERSION)
		goto bad;
	t->ndocs = get_u64(&r);
	t->clock = (int64_t)get_u64(&r);
	t->nrecent = get_u32(&r);
	t->recent_pos = get_u32(&r);
	if (t->nrecent > THREAD_CLOCK_N || t->recent_pos >= THREAD_CLOCK_N)
		goto bad;
	for (i = 0; i < t->nrecent; i++)
		t->recent[i] = (int64_t)get_u64(&r);
	t->stamp = get_u32(&r);
	t->sweep = get_u32(&r);
	load_terms(t, &r);
	load_arts(t, &r);
	load_thrs(t, &r);
	if (r.bad || r.off != r.len || !load_check(t))
		goto bad;
	return 0;
bad:
	thread_clear(t);
	errno = EINVAL;
	return -1;
}
