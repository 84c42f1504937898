/*
 * queue.h - a bounded hand-over between two threads of one process
 * (the import's reader, the pipeline's threading worker). Nodes are
 * intrusive: the element embeds a struct qnode, and lists move whole, so
 * a producer pays one lock per hand-over, not one per element.
 */
#ifndef NG_QUEUE_H
#define NG_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct qnode {
	struct qnode *next;
};

/* A list being built by one thread, then handed over whole. */
struct qlist {
	struct qnode *head, *tail;
	size_t n;
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t nonempty; /* items, or closed */
	pthread_cond_t room;	 /* n below max, or closed */
	struct qlist items;
	size_t max;  /* push waits while n >= max; 0: unbounded */
	bool closed; /* no more pushes; pops drain what is left */
};

void queue_init(struct queue *q, size_t max);
void queue_fini(struct queue *q);

void qlist_add(struct qlist *l, struct qnode *n);

/* Append l (emptied) to the queue, waiting for room first. Returns -1,
 * leaving l as it was, when the queue is closed. */
int queue_push(struct queue *q, struct qlist *l);
/* Take everything queued into out (which must be empty). With wait, block
 * until something is there or the queue is closed. Returns the count;
 * 0 without wait means nothing yet, with wait closed and drained. */
size_t queue_pop_all(struct queue *q, struct qlist *out, bool wait);
/* Elements queued now (a snapshot). */
size_t queue_len(struct queue *q);
/* No more pushes: waiting producers get -1, consumers drain the rest. */
void queue_close(struct queue *q);

#endif
