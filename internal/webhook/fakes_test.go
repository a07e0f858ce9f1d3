package webhook

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// fakeQueue records inserted jobs; fail, if set, fails the insert for a webhook.
type fakeQueue struct {
	mu   sync.Mutex
	jobs []DeliverArgs
	fail func(DeliverArgs) error
}

func (q *fakeQueue) Insert(_ context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := args.(DeliverArgs)
	if q.fail != nil {
		if err := q.fail(d); err != nil {
			return 0, err
		}
	}
	q.jobs = append(q.jobs, d)
	return int64(len(q.jobs)), nil
}

// fakeStore is an in-memory catalog.WebhookStore.
type fakeStore struct {
	mu         sync.Mutex
	hooks      []catalog.Webhook
	deliveries []catalog.Delivery
	listErr    error
}

func (s *fakeStore) CreateWebhook(_ context.Context, w catalog.Webhook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, w)
	return nil
}

func (s *fakeStore) GetWebhook(_ context.Context, id string) (catalog.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.hooks {
		if w.ID == id {
			return w, nil
		}
	}
	return catalog.Webhook{}, catalog.ErrNotFound
}

func (s *fakeStore) ListWebhooks(context.Context) ([]catalog.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hooks), s.listErr
}

func (s *fakeStore) DeleteWebhook(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.hooks)
	s.hooks = slices.DeleteFunc(s.hooks, func(w catalog.Webhook) bool { return w.ID == id })
	if len(s.hooks) == n {
		return catalog.ErrNotFound
	}
	return nil
}

func (s *fakeStore) AddDelivery(_ context.Context, d catalog.Delivery) (catalog.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.hooks, func(w catalog.Webhook) bool { return w.ID == d.WebhookID }) {
		return catalog.Delivery{}, catalog.ErrNotFound
	}
	d.ID = int64(len(s.deliveries) + 1)
	s.deliveries = append(s.deliveries, d)
	return d, nil
}

func (s *fakeStore) ListDeliveries(context.Context, string, int) ([]catalog.Delivery, error) {
	return nil, errors.New("not used")
}

func (s *fakeStore) recorded() []catalog.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}
