/*
 * cmd_auth.c - AUTHINFO USER/PASS (RFC 4643 §2.3) and STARTTLS (RFC 4642
 * as updated by RFC 8143). The session decides what is allowed and
 * answers the protocol errors; the password check and the handshake are
 * the server's (struct session_ops), which ends the session's wait.
 *
 * SECURITY: the user name and password are attacker-controlled, bounded
 * by the command line (512 octets) and here by AUTH_USER_MAX and
 * AUTH_PASS_MAX. Neither is ever logged; the session's copies of the line
 * are wiped after the command (session.c). An unknown or over-long user
 * still gets 381 and then a failed check, so replies tell nothing about
 * which names exist. Bytes that follow STARTTLS in plaintext are dropped
 * (CVE-2011-0411 class).
 */
#include "common.h"
#include "auth.h"
#include "nntp.h"
#include "session.h"

/* The password: the rest of the line after "AUTHINFO PASS" and one run of
 * blanks (RFC 4643 §3.1 lets a server take spaces as part of it). */
static const char *
pass_from_line(const char *line)
{
	const char *p = line;
	int words;

	for (words = 0; words < 2; words++) {
		p += strspn(p, " \t");
		p += strcspn(p, " \t");
	}
	return p + strspn(p, " \t");
}

static int
auth_user(struct session *s, int argc, char **argv)
{
	if (argc != 2)
		return session_syntax(s);
	/* An over-long name cannot exist; it fails at PASS like any other
	 * unknown user. */
	if (!str_copy(s->user, sizeof(s->user), argv[1]))
		s->user[0] = '\0';
	s->user_given = true;
	session_reply(s, NNTP_CONT_PASS, "Password required");
	return 0;
}

static int
auth_pass(struct session *s)
{
	const char *pass = pass_from_line(s->line);

	/* RFC 4643 §2.3.2: PASS without USER first. */
	if (!s->user_given) {
		session_reply(
		    s, NNTP_FAIL_AUTH_ORDER, "AUTHINFO USER must come first");
		return 0;
	}
	if (*pass == '\0')
		return session_syntax(s);
	s->wait = SESSION_WAIT_AUTH;
	s->srv->ops->auth(s->srv->ops_arg, s, s->user, pass);
	return 0;
}

/* RFC 4643 §2.3. */
int
cmd_authinfo(struct session *s, int argc, char **argv)
{
	bool user = strcasecmp(argv[0], "USER") == 0;

	if (!user && strcasecmp(argv[0], "PASS") != 0) {
		/* SASL (RFC 4643 §2.4) and the RFC 2980 forms are not
		 * offered. */
		session_reply(s, NNTP_ERR_SYNTAX,
		    "Only AUTHINFO USER and AUTHINFO PASS are supported");
		return 0;
	}
	/* §2.2: after success every AUTHINFO is 502. */
	if (s->authenticated) {
		session_reply(s, NNTP_ERR_ACCESS, "Already authenticated");
		return 0;
	}
	if (s->srv == NULL || s->srv->ops == NULL ||
	    s->srv->ops->auth == NULL) {
		session_reply(s, NNTP_ERR_ACCESS, "No accounts here");
		return 0;
	}
	/* §2.2: a server may demand TLS first (483). */
	if (!session_auth_usable(s)) {
		session_reply(s, NNTP_FAIL_TLS_NEEDED,
		    "Encryption required: use STARTTLS or the TLS port "
		    "first");
		return 0;
	}
	return user ? auth_user(s, argc, argv) : auth_pass(s);
}

/* RFC 4642 §2.2.2, RFC 8143. */
int
cmd_starttls(struct session *s, int argc, char **argv)
{
	if (s->tls) {
		session_reply(s, NNTP_ERR_ACCESS, "Already using TLS");
		return 0;
	}
	if (s->authenticated) {
		/* RFC 4643 §2.2: no STARTTLS after authentication. */
		session_reply(s, NNTP_ERR_ACCESS, "Already authenticated");
		return 0;
	}
	if (!session_tls_usable(s)) {
		session_reply(s, NNTP_ERR_TLS, "TLS not available");
		return 0;
	}
	session_reply(s, NNTP_CONT_TLS, "Continue with TLS negotiation");
	s->wait = SESSION_WAIT_TLS;
	s->discard_input = true;
	s->srv->ops->starttls(s->srv->ops_arg, s);
	return 0;
}
