/*
 * server_ops.c - what sessions ask of the server (struct session_ops):
 * POST, handed to the writer thread, which puts it through the import
 * pipeline and answers once its commit is durable; AUTHINFO PASS, checked
 * with auth.h and its throttle (a failure answered after a delay, on a
 * timer); STARTTLS, handed to the connection code once the 382 is out.
 *
 * The writer thread owns the writable spool handle, the pipeline and the
 * configuration copy they use; the event loop owns every connection and
 * the read-only spool handle the sessions read. They share only the two
 * queues of struct writer (under its mutex) and an eventfd. A commit or
 * an import holding the spool's lock therefore never stalls a reader.
 *
 * Never writes under the spool itself: pipeline.c and spool.c do. Never
 * sleeps in the event loop: the delayed 481 is a timer of server.c.
 */
#include <sys/eventfd.h>

#include <unistd.h>

#include "common.h"
#include "article.h"
#include "cli.h"
#include "server_int.h"
#include "thread.h"

/* --- the writer thread ---------------------------------------------------- */

static void
req_free(struct post_req *r)
{
	article_free(r->a);
	thread_terms_free(r->terms);
	free(r->answer);
	free(r);
}

/*
 * Hand the event loop the commits the spool recorded (writer thread), as
 * soon as they are made: until it has them, a wakeup of the event loop
 * that finds data/active changed reads it and the history tail again.
 */
static void
writer_publish(struct writer *w)
{
	struct spool_commit *cs = spool_take_commits(w->sp);

	if (cs == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	/* Atomic: the event loop looks without the mutex. */
	__atomic_store_n(&w->commits, spool_commit_chain(w->commits, cs),
	    __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->mu);
}

/* pipeline_commit_fn (writer thread): a staged post is durable. Reports
 * come in the order the articles were staged. */
static void
writer_committed(void *arg, const char *msgid, const char *xref)
{
	struct writer *w = arg;
	size_t i;

	writer_publish(w);

	for (i = w->cursor; i < w->nbatch; i++)
		if (strcmp(w->batch[i]->msgid, msgid) == 0)
			goto found;
	for (i = 0; i < w->cursor && i < w->nbatch; i++)
		if (strcmp(w->batch[i]->msgid, msgid) == 0)
			goto found;
	return; /* an article of an earlier round */
found:
	w->batch[i]->committed = true;
	w->cursor = i + 1;
}

/* Stage one post; a refusal is answered at once. */
static void
writer_stage(struct writer *w, struct post_req *r)
{
	struct buf why = BUF_INIT(1024);
	enum pipeline_result res;

	/* Listed first: a commit inside pipeline_message() (a full batch)
	 * reports this article too. */
	if (w->nbatch == w->capbatch) {
		w->capbatch = w->capbatch ? 2 * w->capbatch : 64;
		w->batch =
		    xreallocarray(w->batch, w->capbatch, sizeof(*w->batch));
	}
	w->batch[w->nbatch++] = r;
	res = pipeline_article(
	    w->pipe, r->a, time(NULL), PIPE_POST, r->terms, &why, NULL);
	r->a = NULL;
	if (res == PIPE_STAGED) {
		buf_free(&why);
		return;
	}
	w->nbatch--;
	if (res == PIPE_FAILED)
		log_warnx("post %s: %s", r->msgid, buf_cstr(&why));
	r->code = NNTP_FAIL_POST;
	r->answer = buf_steal(&why);
}

/* Commit what was staged and answer it (RFC 3977 §6.3.1.2). */
static void
writer_commit(struct writer *w)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	struct post_req *r;
	int e = 0;
	size_t i;

	if (pipeline_flush(w->pipe) == -1) {
		e = errno;
		log_warn("serve: commit of %zu posts", w->nbatch);
	}
	for (i = 0; i < w->nbatch; i++) {
		r = w->batch[i];
		buf_reset(&b);
		if (r->committed) {
			r->code = NNTP_OK_POSTED;
			buf_printf(&b, "Article received %s", r->msgid);
		} else {
			r->code = NNTP_FAIL_POST;
			buf_printf(&b,
			    "Posting failed: the spool could not store it "
			    "(%s)",
			    strerror(e ? e : EIO));
		}
		r->answer = xstrdup(buf_cstr(&b));
	}
	buf_free(&b);
	w->prev_batch = w->nbatch;
	w->nbatch = 0;
	w->cursor = 0;
}

/*
 * Take the queued posts (locked). A newsreader posts again as soon as it
 * has its 240, so the posters of the last commit come back together: wait
 * up to SERVER_COMMIT_WAIT_MS for as many as the last commit had, since
 * a commit costs a few device flushes whatever its size.
 */
static struct post_req *
writer_take(struct writer *w)
{
	struct post_req *list;
	struct timespec until;

	if (w->conf.spool_sync && w->ntodo < w->prev_batch && !w->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += SERVER_COMMIT_WAIT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (w->ntodo < w->prev_batch && !w->stop &&
		    pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
			;
	}
	list = w->todo;
	w->todo = NULL;
	w->todo_tail = &w->todo;
	w->ntodo = 0;
	return list;
}

/*
 * [spool] sync = no with a sync_interval: the first commit not yet on
 * stable storage is made durable (one syncfs, with every commit after it)
 * at most sync_interval_s later, whether or not posts keep coming.
 * Called with w->mu held; the syncfs runs without it.
 */
static void
writer_sync_due(struct writer *w, bool *due, struct timespec *at)
{
	uint64_t age, left = (uint64_t)w->conf.sync_interval_s * 1000;

	*due = false;
	if (w->conf.spool_sync || left == 0 || !spool_unsynced(w->sp)) {
		w->unsynced_ms = 0;
		return;
	}
	if (w->unsynced_ms == 0)
		w->unsynced_ms = now_ms();
	if ((age = now_ms() - w->unsynced_ms) < left) {
		left -= age;
		clock_gettime(CLOCK_MONOTONIC, at);
		at->tv_sec += (time_t)(left / 1000);
		at->tv_nsec += (long)(left % 1000) * 1000000L;
		if (at->tv_nsec >= 1000000000L) {
			at->tv_sec++;
			at->tv_nsec -= 1000000000L;
		}
		return;
	}
	*due = true;
	pthread_mutex_unlock(&w->mu);
	if (spool_sync(w->sp) == -1) {
		/* Logged; tried again after another interval. */
	}
	pthread_mutex_lock(&w->mu);
	w->unsynced_ms = 0;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct post_req *list, *r, **tail;
	struct timespec at;
	uint64_t one = 1;
	bool due;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->todo == NULL && !w->stop) {
			writer_sync_due(w, &due, &at);
			if (due)
				continue;
			if (w->unsynced_ms != 0)
				(void)pthread_cond_timedwait(
				    &w->cv, &w->mu, &at);
			else
				pthread_cond_wait(&w->cv, &w->mu);
		}
		if (w->todo == NULL)
			break; /* stop, and nothing left */
		list = writer_take(w);
		pthread_mutex_unlock(&w->mu);
		for (r = list; r != NULL; r = r->next)
			writer_stage(w, r);
		if (w->nbatch > 0)
			writer_commit(w);
		writer_publish(w);
		pthread_mutex_lock(&w->mu);
		writer_sync_due(w, &due, &at);
		for (tail = &list; *tail != NULL; tail = &(*tail)->next)
			;
		*w->done_tail = list;
		w->done_tail = tail;
		if (write(w->ev.fd, &one, sizeof(one)) == -1) {
			/* The counter cannot overflow here; nothing to do. */
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The configured groups, in a spool that has none yet (first start). */
static void
add_conf_groups(struct spool *sp, const struct config *c)
{
	size_t i, n;

	(void)spool_groups(sp, &n);
	if (n > 0)
		return;
	for (i = 0; i < c->ngroups; i++)
		if (spool_group_add(sp, c->groups[i].name,
			c->groups[i].description, c->groups[i].flag,
			"newsgate") == -1 &&
		    errno != EEXIST)
			fatal("serve: add group %s", c->groups[i].name);
	log_info("created the configured groups in %s", c->spool_dir);
}

struct writer *
writer_open(const struct server *sv)
{
	struct writer *w = xcalloc(1, sizeof(*w));

	/* Its own copy: the event loop replaces sv->conf on SIGHUP. */
	if (cli_config(&w->conf, sv->opts->config_path, sv->opts->spool_dir) ==
	    -1)
		fatalx("serve: configuration");
	if ((w->sp = spool_open(
		 w->conf.spool_dir, w->conf.hostname, SPOOL_WRITE)) == NULL) {
		log_warn("serve: spool %s cannot be written; serving it "
			 "without posting",
		    w->conf.spool_dir);
		config_fini(&w->conf);
		free(w);
		return NULL;
	}
	spool_set_sync(w->sp, w->conf.spool_sync);
	add_conf_groups(w->sp, &w->conf);
	if ((w->pipe = pipeline_new(&w->conf, w->sp, NULL)) == NULL)
		fatalx("serve: cannot start the pipeline");
	pipeline_on_commit(w->pipe, writer_committed, w);
	spool_record_commits(w->sp);
	if ((w->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("serve: eventfd");
	w->ev.kind = EP_WRITER;
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	return w;
}

void
writer_run(struct writer *w)
{
	int e;

	if ((e = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		errno = e;
		fatal("serve: writer thread");
	}
	w->running = true;
}

void
writer_close(struct writer *w)
{
	struct post_req *r;

	if (w == NULL)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	while ((r = w->done) != NULL) {
		w->done = r->next;
		req_free(r);
	}
	spool_commit_free(w->commits);
	while ((r = w->todo) != NULL) { /* never run */
		w->todo = r->next;
		req_free(r);
	}
	pipeline_free(w->pipe);
	spool_close(w->sp);
	config_fini(&w->conf);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	close(w->ev.fd);
	free(w->batch);
	free(w);
}

/* --- POST in the event loop ------------------------------------------------
 */

/* session_ops.post: queue for the writer; server_answers() replies. */
static void
server_post(void *arg, struct session *s, struct article *a, const char *msgid)
{
	struct server *sv = arg;
	struct conn *c = s->host;
	struct writer *w = sv->wr;
	struct post_req *r;

	if (w == NULL) {
		article_free(a);
		session_post_done(
		    s, NNTP_FAIL_POST, "Posting is not available");
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->a = a;
	if (sv->tk != NULL)
		r->terms = pipeline_prescan(sv->tk, a);
	(void)str_copy(r->msgid, sizeof(r->msgid), msgid);
	c->req = r;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = r;
	w->todo_tail = &r->next;
	w->ntodo++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
server_forget_post(struct conn *c)
{
	if (c->req != NULL)
		c->req->c = NULL;
	c->req = NULL;
}

void
server_catch_up(struct server *sv, bool look)
{
	struct writer *w = sv->wr;
	struct spool_commit *cs = NULL, *k;

	/* A look without the mutex first: this runs at every wakeup. */
	if (w != NULL &&
	    __atomic_load_n(&w->commits, __ATOMIC_ACQUIRE) != NULL) {
		pthread_mutex_lock(&w->mu);
		cs = w->commits;
		w->commits = NULL;
		pthread_mutex_unlock(&w->mu);
	}
	/* The writer's own commits are applied from what it recorded;
	 * anything else (another process wrote meanwhile, or a commit not
	 * yet handed over) is read from the files. */
	for (k = cs; k != NULL; k = spool_commit_next(k))
		if (spool_apply_commit(sv->sp, k) == 0) {
			look = true;
			break;
		}
	spool_commit_free(cs);
	if (look && spool_refresh(sv->sp) == -1) {
		/* spool.c has logged why */
	}
}

void
server_answers(struct server *sv)
{
	struct writer *w = sv->wr;
	struct post_req *list, *r;
	struct conn *c;
	uint64_t n;

	if (read(w->ev.fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("serve: eventfd");
	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	/* Every reader sees the posts before any poster hears of them:
	 * their commits were handed over before they were answered, and
	 * this wakeup looked at the files already. */
	server_catch_up(sv, false);
	for (r = list; r != NULL; r = r->next) {
		if ((c = r->c) == NULL || c->dead)
			continue;
		c->req = NULL;
		session_post_done(c->s, r->code, r->answer);
		if (r->code == NNTP_OK_POSTED)
			log_debug("conn %s: posted %s", c->peer, r->msgid);
		if (sv->stopping) {
			/* server_stop() let it have its answer first. */
			if (!c->s->closing)
				c->why = "shutdown";
			session_stop(c->s, "Server shutting down");
		}
	}
	/* Answered: now let them go on (a flush may close one, which is
	 * freed only after this event batch). */
	while ((r = list) != NULL) {
		list = r->next;
		if ((c = r->c) != NULL && !c->dead)
			conn_flush(sv, c);
		req_free(r);
	}
}

/* session_ops.auth (auth.h's throttle protocol). */
static void
server_auth(void *arg, struct session *s, const char *user, const char *pass)
{
	struct server *sv = arg;
	struct conn *c = s->host;
	uint64_t now = now_ms();
	int64_t delay;

	if (auth_throttle_locked(sv->throttle, c->key, now)) {
		log_info("conn %s: AUTHINFO refused: too many failures from "
			 "%s",
		    c->peer, c->key);
		session_auth_done(s, NNTP_FAIL_AUTH,
		    "Too many failed attempts: try again later", true);
		return;
	}
	switch (auth_check(sv->auth, user, pass)) {
	case AUTH_OK:
		auth_throttle_success(sv->throttle, c->key);
		log_info("conn %s: authenticated as %s", c->peer, user);
		session_auth_done(
		    s, NNTP_OK_AUTH, "Authentication accepted", false);
		return;
	case AUTH_ERROR:
		session_auth_done(s, NNTP_FAIL_INTERNAL,
		    "Accounts unavailable, try later", false);
		return;
	case AUTH_FAIL:
		break;
	}
	delay = auth_throttle_fail(sv->throttle, c->key, now);
	log_info("conn %s: authentication failed for %s", c->peer,
	    auth_user_valid(user) ? user : "(invalid user name)");
	if (delay < 0) {
		session_auth_done(s, NNTP_FAIL_AUTH,
		    "Authentication failed: too many failures", true);
		return;
	}
	/* The 481 comes after the delay; meanwhile nothing is read from
	 * this client (its session waits) and nobody else is held up. */
	timer_set(sv, c, TIMER_AUTH_REPLY, now + (uint64_t)delay);
}

/* session_ops.starttls: switch once the 382 is out (conn_flush). */
static void
server_starttls(void *arg, struct session *s)
{
	struct conn *c = s->host;

	c->starttls = true;
}

const struct session_ops server_ops = {
    server_post, server_auth, server_starttls};
