package httpguard

import "context"

type reloadKey struct{}

// WithReload returns ctx carrying reload, a channel on which the process
// asks for its certificates to be read again (the CLI sends SIGHUP there).
func WithReload(ctx context.Context, reload <-chan struct{}) context.Context {
	return context.WithValue(ctx, reloadKey{}, reload)
}

// ReloadRequests returns the channel WithReload put in ctx, or nil (which
// never delivers).
func ReloadRequests(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(reloadKey{}).(<-chan struct{})
	return ch
}
