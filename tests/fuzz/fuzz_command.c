/*
 * fuzz_command.c - libFuzzer target for the NNTP session: line framing,
 * the dispatcher and every handler, on a small real spool.
 *
 * The input is a byte stream from a client, fed to session_input() in
 * pieces whose sizes come from the input itself; the first byte also
 * picks the output high-water mark, so the streaming (back-pressure)
 * paths run too. Whatever the input: no crash, no leak, no error return,
 * every output line ends in CRLF, every response ends, and the output
 * queue never grows far past its high-water mark.
 *
 * clang -fsanitize=fuzzer,address builds it for libFuzzer; with gcc,
 * replay.c runs the saved corpus (tests/fuzz/corpus/command/) in
 * `make check`.
 */
#include <ftw.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "session.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];
static struct spool *fuzz_sp;

static int
fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
fuzz_cleanup(void)
{
	spool_close(fuzz_sp);
	if (fuzz_dir[0])
		nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_add(struct spool *w, const char *id, const char *body,
    const char *const *groups, size_t n)
{
	uint64_t nums[SPOOL_XPOST_MAX];
	struct article *a = article_new();

	article_set(a, "From", "Fuzz <f@example.invalid>");
	article_set(a, "Subject", "A subject");
	article_set(a, "Date", "Tue, 03 Jan 2017 10:00:00 +0000");
	article_set(a, "Message-ID", id);
	article_set(a, "X-Extra", "extra value");
	article_set_body(a, xstrdup(body), strlen(body));
	if (spool_add(w, a, groups, n, 0, nums) == -1)
		abort();
	article_free(a);
}

/* A spool with two groups, an empty one and a few articles, once. */
static void
fuzz_init(void)
{
	static const char *const ab[] = {"a.b"}, *const both[] = {"a.b", "c.d"};
	char dir[128];
	struct spool *w;

	if (!str_copy(fuzz_dir, sizeof(fuzz_dir), "/tmp/ngfuzzXXXXXX") ||
	    mkdtemp(fuzz_dir) == NULL ||
	    !str_printf(dir, sizeof(dir), "%s/spool", fuzz_dir) ||
	    (w = spool_open(dir, "fuzz.example", SPOOL_WRITE)) == NULL ||
	    spool_group_add(w, "a.b", "Group AB", 'y', "fuzz") == -1 ||
	    spool_group_add(w, "c.d", "", 'n', "fuzz") == -1 ||
	    spool_group_add(w, "e.empty", "Empty", 'y', "fuzz") == -1)
		abort();
	fuzz_add(w, "<1@fuzz>", "one\n.dot\n", ab, 1);
	fuzz_add(w, "<2@fuzz>", "two\n", both, 2);
	fuzz_add(w, "<3@fuzz>", "three\n..\n.\n", ab, 1);
	if (spool_flush(w) == -1)
		abort();
	spool_close(w);
	if ((fuzz_sp = spool_open(dir, "fuzz.example", SPOOL_READ)) == NULL)
		abort();
	atexit(fuzz_cleanup);
}

/* Take the session's output and check it. */
static void
fuzz_drain(struct session *s, struct buf *carry, size_t high)
{
	const char *p;
	size_t len, i;

	p = session_out_data(s, &len);
	/* One step past the mark at most: an article chunk is 16 KiB and
	 * at most triples (CR added, dots doubled). */
	if (len > high + 3 * 16 * 1024 + NNTP_LINE_MAX)
		abort();
	buf_append(carry, p, len);
	session_out_consume(s, len);
	for (i = 0; i < carry->len; i++)
		if (carry->data[i] == '\n' && (i == 0 || carry->data[i - 1] != '\r'))
			abort();
	/* Keep only a last partial line (its CR may be at the end). */
	while (carry->len > 0) {
		const char *nl = memchr(carry->data, '\n', carry->len);

		if (nl == NULL)
			break;
		buf_consume(carry, (size_t)(nl - carry->data) + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_conf conf = {
	    "fuzz.example", false, SESSION_OUT_HIGH, false};
	struct buf carry = BUF_INIT(SIZE_MAX);
	struct session *s;
	size_t off = 1, n, room;
	int rounds;

	if (fuzz_sp == NULL)
		fuzz_init();
	if (size == 0)
		return 0;
	/* The first byte: a high-water mark from 1 byte to 64 KiB. */
	conf.out_high = (size_t)1 << (data[0] % 17);
	if (spool_refresh(fuzz_sp) == -1)
		abort();
	s = session_new(fuzz_sp, &conf);
	session_greet(s);
	while (off < size && !s->closing) {
		/* Piece sizes from the data: 1 to 64 octets. */
		n = (size_t)(data[off] % 64) + 1;
		if (n > size - off)
			n = size - off;
		room = session_input_room(s);
		if (n > room)
			n = room;
		if (n == 0)
			abort(); /* idle with a full input buffer */
		if (session_input(s, (const char *)data + off, n) == -1)
			abort();
		off += n;
		fuzz_drain(s, &carry, conf.out_high);
		for (rounds = 0; session_pending(s) && rounds < 100000;
		     rounds++) {
			if (session_run(s) == -1)
				abort();
			fuzz_drain(s, &carry, conf.out_high);
		}
		if (session_pending(s))
			abort(); /* a response that never ends */
	}
	session_free(s);
	buf_free(&carry);
	return 0;
}
