/*
 * server_ops.c - what sessions ask of the server (struct session_ops):
 * POST, staged in the import pipeline at once and answered after the
 * group commit of the wakeup; AUTHINFO PASS, checked with auth.h and its
 * throttle (a failure answered after a delay, on a timer); STARTTLS,
 * handed to the connection code once the 382 is out.
 *
 * Never writes under the spool itself: pipeline.c and spool.c do. Never
 * sleeps: the delayed 481 is a timer of server.c.
 */
#include "common.h"
#include "server_int.h"

/* The pipeline's report that an article is durable. Reports come in the
 * order the articles were staged. */
void
server_committed(void *arg, const char *msgid, const char *xref)
{
	struct server *sv = arg;
	size_t i;

	for (i = sv->post_cursor; i < sv->nposts; i++)
		if (strcmp(sv->posts[i].msgid, msgid) == 0)
			goto found;
	for (i = 0; i < sv->post_cursor && i < sv->nposts; i++)
		if (strcmp(sv->posts[i].msgid, msgid) == 0)
			goto found;
	return; /* not a post of this wakeup */
found:
	sv->posts[i].committed = true;
	sv->post_cursor = i + 1;
}

/* session_ops.post: stage now, answer after the group commit. */
static void
server_post(void *arg, struct session *s, const char *text, size_t len,
    const char *msgid)
{
	struct server *sv = arg;
	struct conn *c = s->host;
	struct buf why = BUF_INIT(1024);
	struct post_wait *w;
	enum pipeline_result r;

	if (sv->pipe == NULL) {
		session_post_done(
		    s, NNTP_FAIL_POST, "Posting is not available");
		return;
	}
	/* Listed first: a commit inside pipeline_message() (a full batch)
	 * reports this article too. */
	if (sv->nposts == sv->capposts) {
		sv->capposts = sv->capposts ? 2 * sv->capposts : 64;
		sv->posts =
		    xreallocarray(sv->posts, sv->capposts, sizeof(*sv->posts));
	}
	if (sv->nposts == 0)
		sv->batch_ms = now_ms();
	w = &sv->posts[sv->nposts];
	w->c = c;
	w->committed = false;
	(void)str_copy(w->msgid, sizeof(w->msgid), msgid);
	c->post_slot = (ssize_t)sv->nposts++;
	r = pipeline_message(
	    sv->pipe, text, len, time(NULL), PIPE_POST, &why, NULL);
	if (r == PIPE_STAGED) {
		buf_free(&why);
		return; /* server_commit() answers */
	}
	sv->nposts--;
	c->post_slot = -1;
	if (r == PIPE_FAILED)
		log_warnx(
		    "conn %s: post %s: %s", c->peer, msgid, buf_cstr(&why));
	session_post_done(s, NNTP_FAIL_POST, buf_cstr(&why));
	buf_free(&why);
}

/*
 * End of a wakeup: make every post staged in it durable, then answer.
 * Posters that send one article at a time (every newsreader) get their
 * 240s together and post again together, so the next batch waits, up to
 * SERVER_COMMIT_WAIT_MS, until it is as large as the last one: a commit
 * costs a few device flushes whatever its size. force: commit now.
 * Returns the ms until a deferred commit is due, else -1.
 */
int
server_commit(struct server *sv, bool force)
{
	char line[NNTP_MSGID_MAX + 64];
	struct post_wait *w;
	struct conn *c;
	uint64_t now;
	int e = 0;
	size_t i, ok = 0;

	if (sv->nposts == 0)
		return -1;
	now = now_ms();
	if (!force && sv->nposts < sv->prev_batch &&
	    now < sv->batch_ms + SERVER_COMMIT_WAIT_MS)
		return (int)(sv->batch_ms + SERVER_COMMIT_WAIT_MS - now);
	if (pipeline_flush(sv->pipe) == -1) {
		e = errno;
		log_warn("serve: commit of %zu posts", sv->nposts);
	}
	for (i = 0; i < sv->nposts; i++) {
		w = &sv->posts[i];
		if ((c = w->c) == NULL)
			continue;
		c->post_slot = -1;
		if (w->committed) {
			ok++;
			/* RFC 3977 §6.3.1.2; the id as INN gives it. */
			(void)str_printf(line, sizeof(line),
			    "Article received %s", w->msgid);
			session_post_done(c->s, NNTP_OK_POSTED, line);
			log_debug("conn %s: posted %s", c->peer, w->msgid);
		} else {
			(void)str_printf(line, sizeof(line),
			    "Posting failed: the spool could not store it "
			    "(%s)",
			    strerror(e ? e : EIO));
			session_post_done(c->s, NNTP_FAIL_POST, line);
		}
	}
	/* Answered: now let them go on (a flush may close one). */
	for (i = 0; i < sv->nposts; i++)
		if ((c = sv->posts[i].c) != NULL && !c->dead)
			conn_flush(sv, c);
	sv->prev_batch = ok;
	sv->nposts = 0;
	sv->post_cursor = 0;
	return -1;
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
