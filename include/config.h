/*
 * config.h - newsgate.conf: an INI file whose every setting has an
 * embedded default. The defaults are themselves INI text (config.c) parsed
 * by the same code, so running with no file at all gives a spool in
 * ./spool, the two seed groups and a listener on 127.0.0.1:1119.
 *
 * SECURITY: the file is trusted (written by the administrator) but still
 * parsed with bounded lines; numbers are range-checked against the table.
 */
#ifndef NG_CONFIG_H
#define NG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CONFIG_LISTEN_MAX 8

enum route_field {
	ROUTE_SECTION, /* the item's site section, wildmat, case-insensitive */
	ROUTE_SOURCE,  /* the item's source / feed name, wildmat */
	ROUTE_KEYWORD, /* a word or phrase in title or text */
	ROUTE_TITLE,   /* a word or phrase in the title only */
};

struct route_rule {
	enum route_field field;
	char *pattern; /* owned; wildmat (section/source) or phrase */
};

struct group_conf {
	char *name;	   /* owned; validated group name */
	char *description; /* owned; one line */
	char flag;	   /* active flag: 'y' posting, 'n' no posting */
	bool catchall;	   /* takes items that match no other group */
	struct route_rule *rules; /* owned; any matching rule routes here */
	size_t nrules;
};

struct thread_conf {
	bool enabled;	     /* link imported articles by similarity */
	double threshold;    /* min cosine similarity to join a thread */
	int64_t window_s;    /* a thread stays live this long after its
				newest article (article dates) */
	double title_weight; /* term weight of title words vs body words */
	double body_weight;
	double name_weight;  /* extra factor for capitalised names, numbers */
	uint32_t max_terms;  /* terms kept per article (bounded cost) */
	double df_max;	     /* terms in more than this share of live
				articles are not used as candidates */
	bool posts;	     /* thread posts without References by
				similarity too */
};

struct config {
	char *path;	   /* owned; file it came from, or NULL */
	char *spool_dir;   /* owned; [spool] dir */
	bool spool_sync;   /* [spool] sync: a commit is on stable storage
			      before it is answered (yes), or only in the
			      page cache, written in the same order (no) */
	int64_t sync_interval_s; /* [spool] sync_interval: with sync = no,
				    a syncfs at most this long after a
				    commit; 0: none (the kernel's own
				    writeback) */
	char *hostname;	   /* owned; Path identity, Xref host, Message-ID
			      right-hand side */
	char *listen[CONFIG_LISTEN_MAX]; /* owned; "addr:port" */
	size_t nlisten;
	bool listen_from_user; /* the file's listen lines replaced the
				  default one */
	char *tls_listen;  /* owned or NULL */
	char *tls_cert;	   /* owned or NULL */
	char *tls_key;	   /* owned or NULL */
	uint32_t max_connections;  /* in total */
	uint32_t max_per_address;  /* per client address */
	uint32_t idle_timeout_s;   /* idle client timeout */
	uint64_t max_article_bytes;/* POST/IHAVE size limit */
	char *post_policy; /* owned: "anyone", "authenticated", "loopback",
			      "nobody" */
	uint32_t post_rate;	/* POSTs per minute per connection; 0: no
				   limit */
	char *auth_plaintext;	/* owned: AUTHINFO without TLS from
				   "loopback" only, "yes" anywhere, "no" */
	char *accounts;		/* owned or NULL: the accounts file
				   (NULL: <spool>/.newsgate/accounts) */
	char *user;		/* owned or NULL: the user to run as when
				   started as root (NULL: see server.h) */
	struct group_conf *groups; /* owned, in file order */
	size_t ngroups;
	struct thread_conf threading;
};

/*
 * Load the embedded defaults, then path (NULL: defaults only). On error
 * returns -1 with "file:line: reason" in err, and *c holds nothing to
 * free.
 */
int config_load(struct config *c, const char *path, struct buf *err)
    __attribute__((warn_unused_result));
void config_fini(struct config *c);

/* The embedded default configuration, as INI text. */
const char *config_default_text(void);

/* A group's configuration, or NULL. */
const struct group_conf *config_group(const struct config *c,
    const char *name);

#endif
