/*
 * queue.c - the bounded hand-over between two threads (see queue.h).
 * Never holds its lock while the caller works on the elements.
 */
#include "queue.h"

void
queue_init(struct queue *q, size_t max)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	pthread_cond_init(&q->room, NULL);
	q->items.head = q->items.tail = NULL;
	q->items.n = 0;
	q->max = max;
	q->closed = false;
}

void
queue_fini(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->room);
}

void
qlist_add(struct qlist *l, struct qnode *n)
{
	n->next = NULL;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	l->n++;
}

int
queue_push(struct queue *q, struct qlist *l)
{
	if (l->n == 0)
		return 0;
	pthread_mutex_lock(&q->mu);
	while (q->max && q->items.n >= q->max && !q->closed)
		pthread_cond_wait(&q->room, &q->mu);
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	if (q->items.tail)
		q->items.tail->next = l->head;
	else
		q->items.head = l->head;
	q->items.tail = l->tail;
	q->items.n += l->n;
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->mu);
	l->head = l->tail = NULL;
	l->n = 0;
	return 0;
}

size_t
queue_pop_all(struct queue *q, struct qlist *out, bool wait)
{
	pthread_mutex_lock(&q->mu);
	while (wait && q->items.n == 0 && !q->closed)
		pthread_cond_wait(&q->nonempty, &q->mu);
	*out = q->items;
	q->items.head = q->items.tail = NULL;
	q->items.n = 0;
	pthread_cond_broadcast(&q->room);
	pthread_mutex_unlock(&q->mu);
	return out->n;
}

size_t
queue_len(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->items.n;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void
queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_cond_broadcast(&q->room);
	pthread_mutex_unlock(&q->mu);
}
