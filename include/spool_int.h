/*
 * spool_int.h - private to the spool module (spool.c, spool_over.c,
 * spool_write.c, spool_check.c, spool_rethread.c). Nothing outside
 * src/spool*.c includes this. The on-disk formats are in docs/spool.md
 * and summarised at the top of spool.c.
 */
#ifndef NG_SPOOL_INT_H
#define NG_SPOOL_INT_H

#include <sys/stat.h>
#include <sys/types.h>

#include "spool.h"

#define SPOOL_PATH_MAX 512 /* relative paths under the spool dir */
#define SPOOL_TXN_MAGIC "newsgate-txn 1"
#define SPOOL_RW_MAGIC "newsgate-rewrite 1"
#define SPOOL_ACTIVE "data/active"
#define SPOOL_ACTIVE_TMP "data/active.tmp"
#define SPOOL_TIMES "data/active.times"
#define SPOOL_NEWSGROUPS "data/newsgroups"
#define SPOOL_OVERFMT "data/overview.fmt"
#define SPOOL_HISTORY "data/history"
#define SPOOL_PRIV ".newsgate"
#define SPOOL_LOCK ".newsgate/lock"
#define SPOOL_TXN ".newsgate/txn"
/* The first octet of a retired journal (docs/spool.md). */
#define SPOOL_TXN_RETIRED 'x'
#define SPOOL_TMPDIR ".newsgate/tmp"
#define SPOOL_INDEXDIR ".newsgate/index"
#define SPOOL_FPS ".newsgate/fingerprints"
#define SPOOL_OVERVIEW ".overview"
#define SPOOL_OVERFMT_TEXT                                                     \
	"Subject:\nFrom:\nDate:\nMessage-ID:\nReferences:\nBytes:\nLines:\n"   \
	"Xref:full\n"
#define SPOOL_IDXREC 16 /* bytes per index record */

/* One overview index record: article number and the byte offset of its
 * line in the group's .overview. On disk: two little-endian u64. */
struct ovrec {
	uint64_t num;
	uint64_t off;
};

/*
 * A reader's in-memory index of the part of a .overview that the index
 * file does not cover (readers never write). Valid while the .overview
 * has the same inode and the index file the same record count.
 */
struct ovtail {
	dev_t dev;
	ino_t ino;	    /* of the .overview scanned; 0: none */
	uint64_t idx_n;	    /* index records when it was built */
	uint64_t scan_off;  /* .overview bytes examined so far */
	struct ovrec *recs; /* owned, ascending num */
	size_t n, cap;
};

/* Private per-group state, parallel to sp->groups[]. */
struct grp {
	uint64_t next;	    /* staged high; == groups[i].high when idle */
	int dfd;	    /* group directory (writers), else -1 */
	int ovfd;	    /* .overview opened for appending, else -1 */
	int idxfd;	    /* its index opened for appending, else -1 */
	bool verified;	    /* the index was checked against .overview
			       since the spool went warm */
	bool touched;	    /* has staged articles in this batch */
	uint64_t ov_size0;  /* .overview size at batch start; when the
			       spool is warm, its size now */
	uint64_t idx_size0; /* index file size, the same way */
	struct buf ov;	    /* staged overview lines */
	struct ovrec *recs; /* staged index records, off relative to ov */
	size_t nrecs, caprecs;
	struct ovtail tail; /* reader cache */
};

/* One history entry; text lives in hist.text as "msgid\0location\0". */
struct hent {
	size_t off;	 /* of msgid in hist.text */
	uint32_t idlen;	 /* msgid octets */
	uint32_t loclen; /* location octets */
	int64_t arrival; /* epoch seconds */
};

struct hist {
	struct buf text;   /* owned, the strings of every entry */
	struct hent *ents; /* owned, file order = arrival order */
	size_t n, cap;
	size_t ncommitted; /* ents[0..ncommitted) are on disk */
	uint32_t *tab;	   /* open addressing: entry index + 1; 0 empty */
	size_t tabcap;	   /* power of two, > 2 * n */
	uint64_t file_off; /* bytes of data/history consumed */
	dev_t dev;
	ino_t ino;	      /* of data/history when loaded */
	int64_t last_arrival; /* highest arrival seen */
};

struct fpset {
	uint64_t *vals; /* owned, every fingerprint, file order */
	size_t n, cap;
	size_t ncommitted;
	uint64_t *tab; /* open addressing; 0 empty */
	size_t tabcap;
	uint64_t file_off; /* bytes of the file consumed */
	dev_t dev;
	ino_t ino;
	bool loaded;
};

/* One commit, as spool_note_commit() recorded it (spool.h). */
struct spool_commit {
	struct spool_commit *next;
	struct stat was; /* data/active before the commit */
	struct stat now; /* data/active after it */
	size_t ngroups;	 /* groups in active (unchanged by a commit) */
	dev_t hist_dev;	 /* data/history, as the writer loaded it */
	ino_t hist_ino;
	uint64_t hist_off; /* where the commit's history lines begin */
	char *hist;	   /* owned: those lines */
	size_t hist_len;
	size_t n;	/* groups whose high moved */
	size_t *gi;	/* owned: their indices in active's order */
	uint64_t *high; /* owned: their new highs */
};

/* A companion of active (active.times, newsgroups) as last read. */
struct companion {
	struct buf text; /* the file's bytes */
	struct stat st;	 /* of the file read */
	bool have;	 /* text is the file's as st says */
};

struct spool {
	char *dir;  /* owned, as given */
	char *host; /* owned, Xref host */
	enum spool_mode mode;
	int dfd;		    /* the spool directory */
	int lockfd;		    /* .newsgate/lock (writers), else -1 */
	int txnfd;		    /* .newsgate/txn (writers), else -1 */
	bool locked;		    /* holding the flock */
	uint64_t gen;		    /* the lock file's generation, as we
				       bumped it when we last locked */
	bool warm;		    /* our own commit was the last writer's
				       work: the sizes below and in gp[], and
				       the fds kept open, are still right */
	bool keep_warm;		    /* this lock ended in a commit */
	int histfd, fpsfd;	    /* data/history, .newsgate/fingerprints
				       opened for appending, else -1 */
	bool in_batch;		    /* journal written, batch open */
	struct spool_group *groups; /* owned, sorted by name */
	struct grp *gp;		    /* owned, parallel to groups */
	size_t ngroups;
	char **strs; /* owned creator/description strings */
	size_t nstrs;
	struct stat active_st;	/* of data/active when last read */
	struct stat active_was; /* active_st before the last install */
	bool record;		/* spool_record_commits() */
	struct spool_commit *commits, **commits_tail; /* recorded */
	struct companion times, newsgroups;
	bool have_active;
	struct hist hist;
	struct fpset fps;
	size_t pending;		/* staged articles */
	uint64_t hist_size0;	/* data/history size at batch start (warm:
				   now) */
	uint64_t fps_size0;	/* fingerprints size, the same way */
	struct buf hist_stage;	/* staged history lines */
	struct buf render;	/* scratch: rendered article */
	struct spool_rendered rendered; /* scratch: spool_add()'s article */
	struct buf line;	/* scratch: one overview line */
	struct buf active_text; /* scratch: data/active being written */
	bool sync;		/* commits flush to stable storage
				   (spool_set_sync; default true) */
	bool unsynced;		/* sync off: a commit since the last
				   syncfs */
};

/* spool.c */
void spool_grp_close(struct grp *g);
int spool_path_group(
    char *dst, size_t cap, const char *group, const char *file) NG_NODISCARD;
int spool_path_index(char *dst, size_t cap, const char *group) NG_NODISCARD;
ssize_t spool_group_index(const struct spool *sp, const char *name);
int spool_load_active(struct spool *sp) NG_NODISCARD;
int spool_write_active(struct spool *sp, bool staged) NG_NODISCARD;
int spool_active_write_tmp(
    struct spool *sp, bool staged, bool sync) NG_NODISCARD;
int spool_active_install(struct spool *sp, bool sync) NG_NODISCARD;
int spool_read_file(
    struct spool *sp, const char *rel, struct buf *out) NG_NODISCARD;
int spool_replace_file(struct spool *sp, const char *rel, const char *tmp,
    const void *data, size_t len, bool sync) NG_NODISCARD;
int spool_fsync_dir(struct spool *sp, const char *rel) NG_NODISCARD;
int spool_mkdirs(struct spool *sp, const char *rel) NG_NODISCARD;
int spool_hist_load(struct spool *sp, bool all) NG_NODISCARD;
void spool_hist_add(struct hist *h, const char *id, size_t idlen,
    const char *loc, size_t loclen, int64_t arrival);
void spool_hist_truncate(struct hist *h, size_t n);
ssize_t spool_hist_find(const struct hist *h, const char *id, size_t idlen);
void spool_hist_clear(struct hist *h);
int spool_fps_load(struct spool *sp) NG_NODISCARD;
void spool_fps_add(struct fpset *f, uint64_t fp);
void spool_fps_truncate(struct fpset *f, size_t n);
void spool_fps_clear(struct fpset *f);
void spool_clean_value(struct buf *out, const char *v);
/* The parts of an overview line: the fields after the number up to
 * References (each after a TAB); Bytes, Lines, Xref and the newline. */
void spool_format_over_fields(struct buf *out, const struct article *a);
void spool_format_over_rest(
    struct buf *out, size_t bytes, uint64_t lines, const char *xref);
void spool_format_over(struct buf *out, uint64_t num, const struct article *a,
    size_t bytes, const char *xref);
uint64_t spool_file_size(struct spool *sp, const char *rel);
void spool_note_commit(struct spool *sp);

/* spool_over.c */
void spool_tail_free(struct ovtail *t);
int spool_index_verify(struct spool *sp, const char *group, uint64_t ov_size,
    uint64_t *idx_size) NG_NODISCARD;
int spool_index_build(struct spool *sp, const char *group, const char *data,
    size_t len, struct buf *out) NG_NODISCARD;

/* spool_rethread.c */
struct rw_ent;
int spool_loc_next(const char **p, char *group, uint64_t *num) NG_NODISCARD;
bool spool_rewrite_journal(const char *text, size_t len);
int spool_rewrite_parse(
    char *text, struct rw_ent **out, size_t *nout) NG_NODISCARD;
int spool_rewrite_recover(struct spool *sp, char *text) NG_NODISCARD;
/* Each copy named by a rewrite journal, through cb. */
typedef void (*spool_rewrite_fn)(void *arg, const char *group, uint64_t num);
int spool_rewrite_copies(
    char *text, spool_rewrite_fn cb, void *arg) NG_NODISCARD;

/* spool_write.c */
int spool_lock(struct spool *sp) NG_NODISCARD;
/* Is a batch or rewrite journal in .newsgate/txn (not empty, not retired)? */
bool spool_txn_live(struct spool *sp);
void spool_unlock(struct spool *sp);
int spool_recover(struct spool *sp) NG_NODISCARD;
void spool_cold(struct spool *sp);

#endif
