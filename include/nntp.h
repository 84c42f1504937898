/*
 * nntp.h - NNTP protocol constants: named reply codes (RFC 3977 §3.2 and
 * the commands' own sections, RFC 2980 for XHDR/XPAT/XOVER, RFC 6048 for
 * the LIST extensions, RFC 4642/4643 for STARTTLS and AUTHINFO) and
 * protocol limits. No code.
 */
#ifndef NG_NNTP_H
#define NG_NNTP_H

/* RFC 3977 §3.1: a command line is at most 512 octets, CRLF included. */
#define NNTP_LINE_MAX 512
/* RFC 3977 §3.1: arguments are at most 497 octets each. */
#define NNTP_ARG_MAX 497
/* Message-IDs are at most 250 octets (RFC 3977 §3.6, RFC 5536 §3.1.3). */
#define NNTP_MSGID_MAX 250

/* 1xx informative */
#define NNTP_INFO_HELP 100	   /* help text follows */
#define NNTP_INFO_CAPABILITIES 101 /* capability list follows */
#define NNTP_INFO_DATE 111	   /* yyyymmddhhmmss */

/* 2xx success */
#define NNTP_OK_BANNER_POST 200	  /* service available, posting allowed */
#define NNTP_OK_BANNER_NOPOST 201 /* service available, no posting */
#define NNTP_OK_QUIT 205	  /* connection closing */
#define NNTP_OK_GROUP 211	  /* n low high group (GROUP, LISTGROUP) */
#define NNTP_OK_LIST 215	  /* information follows (LIST) */
#define NNTP_OK_ARTICLE 220	  /* n message-id, article follows */
#define NNTP_OK_HEAD 221	  /* n message-id, headers follow */
#define NNTP_OK_XHDR 221	  /* RFC 2980: XHDR / XPAT data follows */
#define NNTP_OK_BODY 222	  /* n message-id, body follows */
#define NNTP_OK_STAT 223	  /* n message-id (STAT, LAST, NEXT) */
#define NNTP_OK_OVER 224	  /* overview information follows */
#define NNTP_OK_HDR 225		  /* headers follow (HDR) */
#define NNTP_OK_NEWNEWS 230	  /* list of new articles follows */
#define NNTP_OK_NEWGROUPS 231	  /* list of new newsgroups follows */
#define NNTP_OK_POSTED 240	  /* article received OK (POST) */
#define NNTP_OK_AUTH 281	  /* RFC 4643: authentication accepted */

/* 3xx: send more */
#define NNTP_CONT_POST 340 /* send the article to be posted */
#define NNTP_CONT_PASS 381 /* RFC 4643: password required */
#define NNTP_CONT_TLS 382  /* RFC 4642: continue with TLS negotiation */

/* 4xx: the command was right, the action could not be done */
#define NNTP_FAIL_TERMINATING 400 /* service not available / closing */
#define NNTP_FAIL_INTERNAL 403	  /* internal fault */
#define NNTP_FAIL_NO_GROUP 411	  /* no such newsgroup */
#define NNTP_FAIL_NO_SELECTED 412 /* no newsgroup selected */
#define NNTP_FAIL_NO_CURRENT 420  /* current article number is invalid */
#define NNTP_FAIL_NO_NEXT 421	  /* no next article in this group */
#define NNTP_FAIL_NO_PREV 422	  /* no previous article in this group */
#define NNTP_FAIL_NO_ARTNUM 423	  /* no article with that number / range */
#define NNTP_FAIL_NO_MSGID 430	  /* no article with that message-id */
#define NNTP_FAIL_POST_NOT_PERMITTED 440 /* posting not permitted */
#define NNTP_FAIL_POST 441		 /* posting failed (with a reason) */
#define NNTP_FAIL_AUTH_NEEDED 480	 /* RFC 4643: authenticate first */
#define NNTP_FAIL_AUTH 481		 /* RFC 4643: authentication failed */
#define NNTP_FAIL_AUTH_ORDER 482	 /* RFC 4643: out of sequence */
#define NNTP_FAIL_TLS_NEEDED 483 /* RFC 4643: encryption required first */

/* 5xx: the command itself was wrong or is not available */
#define NNTP_ERR_COMMAND 500	 /* unknown command */
#define NNTP_ERR_SYNTAX 501	 /* syntax error in arguments */
#define NNTP_ERR_ACCESS 502	 /* permission denied */
#define NNTP_ERR_UNAVAILABLE 503 /* feature not supported / no such data */
#define NNTP_ERR_TLS 580	 /* RFC 4642: cannot initiate TLS */

#endif
