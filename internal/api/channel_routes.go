package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ospreyvideo/osprey/internal/live"
)

// LiveDisconnecter is what the API needs from a live manager that can cut
// off a channel's publisher (live.Manager does). A Live without it answers
// the disconnect actions with 501.
type LiveDisconnecter interface {
	// Disconnect ends the channel's current publication, if any: the
	// transcoder finishes the last segments and the manifests end. It
	// returns once the publication has ended; without a publisher it does
	// nothing.
	Disconnect(ctx context.Context, channelID string) error
}

// channelRoutes registers the channel endpoints:
//
//	GET    /api/v1/channels                  list channels: {"items":[...]}
//	POST   /api/v1/channels                  create: {"name":"..."} -> 201
//	GET    /api/v1/channels/{id}             one channel
//	PATCH  /api/v1/channels/{id}             change name, dvr_window, record -> 200
//	DELETE /api/v1/channels/{id}             disconnect, delete media and channel -> 204
//	POST   /api/v1/channels/{id}/rotate-key  new stream key -> 200 with the channel;
//	                                         ?disconnect=true or {"disconnect":true}
//	                                         also cuts off the live publisher
//	POST   /api/v1/channels/{id}/disconnect  end the current publication -> 200
//	                                         with the channel (idle); no-op when idle
//	POST   /api/v1/channels/{id}/clips       {"start","end","title"} -> 201 with the
//	                                         clip's asset (ready); see clips.go
func (a *API) channelRoutes(v1 *http.ServeMux) {
	a.route(v1, "/api/v1/channels", map[string]handlerFunc{
		http.MethodGet:  a.listChannels,
		http.MethodPost: a.createChannel,
	})
	a.route(v1, "/api/v1/channels/{id}", map[string]handlerFunc{
		http.MethodGet:    a.getChannel,
		http.MethodPatch:  a.updateChannel,
		http.MethodDelete: a.deleteChannel,
	})
	a.route(v1, "/api/v1/channels/{id}/rotate-key", map[string]handlerFunc{
		http.MethodPost: a.rotateKey,
	})
	a.route(v1, "/api/v1/channels/{id}/disconnect", map[string]handlerFunc{
		http.MethodPost: a.disconnectChannel,
	})
	a.route(v1, "/api/v1/channels/{id}/clips", map[string]handlerFunc{
		http.MethodPost: a.createClip,
	})
}

// disconnectChannel cuts off the channel's publisher, if any, and answers
// with the channel once its publication has ended. Once started it
// finishes even if the client goes away. The publisher may come back with
// the same key: rotate-key?disconnect=true keeps it out.
func (a *API) disconnectChannel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := a.deps.Catalog.GetChannel(r.Context(), id); err != nil {
		return channelError(err, id, "getting")
	}
	if err := a.disconnect(r, id); err != nil {
		return err
	}
	ch, err := a.deps.Catalog.GetChannel(r.Context(), id)
	if err != nil {
		return channelError(err, id, "getting")
	}
	writeJSON(w, http.StatusOK, a.channelView(r, ch))
	return nil
}

// disconnect ends channel id's publication and waits for the end.
func (a *API) disconnect(r *http.Request, id string) error {
	if a.deps.Live == nil {
		return nil // no live manager: nobody publishes
	}
	d, ok := a.deps.Live.(LiveDisconnecter)
	if !ok {
		return &Error{Status: http.StatusNotImplemented, Code: CodeInternal, Message: "this server cannot disconnect publishers"}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), removeTimeout)
	defer cancel()
	if err := d.Disconnect(ctx, id); err != nil {
		if e := unreachableNode(err); e != nil {
			return e
		}
		return fmt.Errorf("disconnecting the publisher of channel %s: %w", id, err)
	}
	a.log.Info("publisher disconnect done", "channel", id)
	return nil
}

// unreachableNode is the 503 for an action that could not reach the ingest
// node a channel is live on, or nil for other errors.
func unreachableNode(err error) *Error {
	if !errors.Is(err, live.ErrNodesUnreachable) {
		return nil
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the channel is live on another ingest node, which cannot be reached now (events bus down); try again shortly"}
}
