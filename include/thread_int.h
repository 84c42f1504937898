/*
 * thread_int.h - the insides of the threading module, shared by thread.c
 * (the index and its decisions) and thread_state.c (saving and loading
 * it). Nothing else includes this file: the interface is thread.h.
 */
#ifndef NG_THREAD_INT_H
#define NG_THREAD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "terms.h"
#include "thread.h"

#define NONE UINT32_MAX
#define THREAD_TOKENS_MAX 4096 /* tokens looked at per article */
#define THREAD_PROBE_MIN 2     /* rarest terms always probed */
#define THREAD_CAND_MAX 2048   /* candidate threads scored per article */
#define THREAD_TOPK 4	       /* best centroids compared member by member */
#define THREAD_CENT_MAX 192    /* terms kept in one centroid */
#define THREAD_CLOCK_N 16      /* articles whose dates make the clock */
#define THREAD_DATE_MAX ((int64_t)1 << 50) /* |date| and window, seconds */
#define THREAD_POST_SHORT 64 /* posting lists cleaned when a thread dies */
#define THREAD_SWEEP_STEP 8  /* thread slots checked for expiry per add */
#define THREAD_LIVE_MAX (1u << 21) /* live articles, whatever the dates */
#define THREAD_REFS_IN 64	   /* ids read from an article's References */
#define THREAD_MSGID_MAX 250	   /* RFC 5536 §3.1.3 */
/* Terms kept per live article, for finding its thread's closest member. */
#define THREAD_ART_TERMS 32
/* Terms of a headline: the threshold holds as set up to this many. */
#define THREAD_LEN_REF 8
/* A term written capitalised at least this often where case tells
 * something (sentence-case text, not at a sentence start) is a name. */
#define THREAD_NAME_SHARE 0.5

/* One term of an article vector (sorted by term) or a centroid slot. */
struct tv {
	uint32_t term; /* dense term id; NONE marks an empty centroid slot */
	float w;       /* weight; article vectors have unit length */
	float wn;      /* weight in the names channel (names, numbers
			  only; an article's names have unit length) */
};

/* A term of the article to probe the postings with. */
struct probe {
	uint32_t term;
	uint32_t df;
};

/* One term of a stored article vector. */
struct mv {
	uint32_t term; /* dense term id */
	float w;       /* weight in the article's unit vector */
};

struct post {
	uint32_t slot; /* thread slot */
	uint32_t gen;  /* the slot's generation when the entry was made */
};

struct plist {
	struct post *p; /* owned */
	uint32_t len;
	uint32_t cap;
};

struct art {
	char *msgid;	 /* owned; NULL for a free slot */
	char *refs;	 /* owned; its own References (THREAD_REFS) or NULL */
	struct mv *v;	 /* owned; the heaviest THREAD_ART_TERMS terms of
			    its unit vector, sorted by term */
	uint32_t nv;	 /* terms in v */
	uint32_t thread; /* thread slot */
	uint32_t parent; /* article slot of the parent, or NONE */
	uint32_t next;	 /* free list link */
	float score;	 /* link score (THREAD_SIMILAR) */
	uint8_t how;	 /* enum thread_how */
};

struct thr {
	uint32_t gen;	/* bumped whenever the slot is freed */
	bool live;	/* false: free slot */
	char *root_id;	/* owned; root Message-ID when the root is no
			   article we hold (References to an unknown id) */
	uint32_t root;	/* article slot of the root, or NONE */
	int64_t newest; /* date of the newest member (seconds) */
	int64_t oldest; /* date of the oldest member (seconds) */
	uint32_t *mem;	/* owned; member article slots, arrival order */
	uint32_t nmem;
	uint32_t capmem;
	struct tv *c;	/* owned; centroid, open addressing by term */
	uint32_t nc;	/* terms in c */
	uint32_t capc;	/* slots in c: 0 or a power of two */
	double norm2;	/* squared length of the centroid */
	double norm2n;	/* squared length of its names channel */
	uint32_t next;	/* free list link */
	uint32_t stamp; /* scratch: the add that last looked at it */
	float sim;	/* scratch: centroid similarity of this add */
};

/* An open-addressing map from a 64-bit key to a 32-bit value. */
struct map {
	uint64_t *keys; /* owned; 0 = empty */
	uint32_t *vals; /* owned */
	size_t cap;	/* power of two, or 0 */
	size_t len;
};

/* One occurrence-summed term of the article being added. */
struct tok {
	uint32_t term;
	float tf;      /* weighted occurrences */
	uint8_t name;  /* written as a name in this article */
	uint8_t flags; /* TERM_* of the occurrence (OR after merging) */
};

/*
 * Weights tuned on the corpora (docs/threading.md) that newsgate.conf does
 * not set (yet); tests/bench sets them through thread_tune_set().
 */
struct tune {
	double number_weight; /* factor for terms with digits */
	double member_weight; /* share of the closest member in the score;
				 the thread centroid has the rest */
	double names_share;   /* share of the names channel in the
				 centroid similarity of long articles */
	double names_min;     /* names an article needs for that channel */
	double lead_words;    /* body word i weighs 1 / (1 + i / lead_words);
				 0: all alike */
	double length_slope;  /* threshold rise per doubling of an
				 article's terms beyond THREAD_LEN_REF */
	double size_bonus;    /* score bonus per doubling of a thread's
				 articles */
	double member_max;    /* newest members compared (0: all) */
	double boost_min;     /* names (and numbers) an article needs to
				 have them boosted */
};

struct threader {
	struct thread_conf conf;
	struct tune tune;
	struct terms *tk;

	struct map dict;     /* term hash -> term id */
	uint64_t *term_key;  /* owned; id -> term hash */
	uint32_t *df;	     /* owned; id -> document frequency */
	uint32_t *cap_seen;  /* owned; id -> times seen where case tells */
	uint32_t *cap_upper; /* owned; ... of which written capitalised */
	struct plist *post;  /* owned; id -> postings */
	uint32_t nterms;
	uint32_t capterms;
	uint64_t ndocs; /* articles added, ever */

	struct art *arts; /* owned; article slots */
	uint32_t narts;	  /* slots in use or freed */
	uint32_t caparts;
	uint32_t art_free; /* free list head or NONE */
	uint32_t live_arts;
	struct map amap; /* hash of Message-ID -> article slot */

	struct thr *thrs; /* owned; thread slots */
	uint32_t nthrs;
	uint32_t capthrs;
	uint32_t thr_free; /* free list head or NONE */
	uint32_t live_thrs;
	uint32_t sweep; /* next thread slot the sweeper checks */

	int64_t clock; /* the oldest date of the last THREAD_CLOCK_N
			  articles: threads older by a window expire */
	int64_t recent[THREAD_CLOCK_N]; /* dates of the last articles */
	uint32_t nrecent;		/* dates in recent (at most N) */
	uint32_t recent_pos;		/* where the next one goes */
	uint32_t stamp;			/* counts adds, for thr.stamp */

	/* Scratch, reused by every add. */
	struct tok *toks; /* THREAD_TOKENS_MAX */
	uint32_t ntoks;
	float tok_weight;     /* weight of the span being scanned */
	bool tok_body;	      /* the span is the body */
	uint32_t tok_pos;     /* tokens seen in the span */
	struct tv *vec;	      /* THREAD_TOKENS_MAX: the article's vector */
	struct tv *vtmp;      /* THREAD_TOKENS_MAX */
	uint32_t *cand;	      /* THREAD_CAND_MAX */
	struct probe *probes; /* THREAD_TOKENS_MAX */
	char *refbuf;	      /* the parent id of a References link */
	char *nearbuf;	      /* the nearest article of the last add */
	float *dense;	      /* the article's weights by term id, else 0 */
	uint32_t capdense;
};

/* Shared by thread.c and thread_state.c. */
void thread_map_put(struct map *m, uint64_t key, uint32_t val);
uint64_t thread_key_of(const char *p, size_t len);
/* Drop all state, keep the settings and scratch space. Safe on a state
 * that a failed load left inconsistent: it frees slot by slot. */
void thread_clear(struct threader *t);

#endif
