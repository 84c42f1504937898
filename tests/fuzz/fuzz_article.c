/*
 * fuzz_article.c - libFuzzer target for article_parse() and the helpers it
 * feeds: whatever the input, parsing must not crash, a parsed article must
 * render to text that parses again, rendering must be stable after one
 * round, and no rendered line may pass ARTICLE_LINE_MAX.
 *
 * clang -fsanitize=fuzzer,address builds it for libFuzzer; with gcc,
 * replay.c runs the saved corpus through it in `make check`.
 */
#include "common.h"
#include "article.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_lines(const struct buf *b)
{
	const char *p = b->data, *end = b->data + b->len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			abort(); /* rendered text ends in LF */
		if ((size_t)(nl - p) > ARTICLE_LINE_MAX)
			abort();
		p = nl + 1;
	}
}

static void
fuzz_helpers(const struct article *a)
{
	struct buf d = BUF_INIT(SIZE_MAX), e = BUF_INIT(SIZE_MAX);
	char date[40];
	size_t i;

	for (i = 0; i < a->nhdrs; i++) {
		buf_reset(&d);
		buf_reset(&e);
		article_decode_words(a->hdrs[i].value, &d);
		article_encode_words(buf_cstr(&d), &e);
		(void)article_msgid_valid(a->hdrs[i].value);
		(void)article_from_valid(a->hdrs[i].value);
		article_format_date(article_parse_date(a->hdrs[i].value), date,
		    sizeof(date));
	}
	(void)article_fingerprint(a);
	(void)article_body_lines(a);
	buf_free(&d);
	buf_free(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf why = BUF_INIT(1024), r1 = BUF_INIT(SIZE_MAX);
	struct buf r2 = BUF_INIT(SIZE_MAX);
	struct article *a = NULL, *b = NULL, *c = NULL;

	if (article_parse((const char *)data, size, &a, &why) == -1) {
		if (why.len == 0)
			abort(); /* a refusal always says why */
		buf_free(&why);
		return 0;
	}
	fuzz_helpers(a);
	article_render(a, &r1);
	fuzz_check_lines(&r1);
	if (article_parse(r1.data, r1.len, &b, &why) == -1)
		abort();
	buf_reset(&r1);
	article_render(b, &r1);
	if (article_parse(r1.data, r1.len, &c, &why) == -1)
		abort();
	article_render(c, &r2);
	if (r1.len != r2.len || memcmp(r1.data, r2.data, r1.len) != 0)
		abort();
	article_free(a);
	article_free(b);
	article_free(c);
	buf_free(&why);
	buf_free(&r1);
	buf_free(&r2);
	return 0;
}
