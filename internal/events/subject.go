package events

import (
	"fmt"
	"strings"
)

// Root is the first token of every Osprey subject.
const Root = "osprey"

// ChannelKey is the subject for a channel's stream key being rotated or deleted.
func ChannelKey(channelID string) string { return join("channel", channelID, "key") }

// ChannelState is the subject for a channel's live/idle state.
func ChannelState(channelID string) string { return join("channel", channelID, "state") }

// AssetState is the subject for a VoD asset's state.
func AssetState(assetID string) string { return join("asset", assetID, "state") }

// EdgeInvalidate is the subject for edge cache invalidations of a channel or asset.
func EdgeInvalidate(id string) string { return join("edge", id, "invalidate") }

// LivePart is reserved for low-latency part notifications of a channel.
func LivePart(channelID string) string { return join("live", channelID, "part") }

// Patterns matching every event of one kind.
const (
	AllChannelKeys   = Root + ".channel.*.key"
	AllChannelStates = Root + ".channel.*.state"
	AllAssetStates   = Root + ".asset.*.state"
	AllEdgeInvalid   = Root + ".edge.*.invalidate"
	All              = Root + ".>"
)

func join(kind, id, what string) string { return Root + "." + kind + "." + id + "." + what }

// IDOf returns the id in a subject the helpers above build
// ("osprey.{kind}.{id}.{what}"), or false for any other subject.
func IDOf(subject string) (string, bool) {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != Root || parts[2] == "" {
		return "", false
	}
	return parts[2], true
}

// ValidateSubject reports whether s can be published: it starts with
// "osprey.", has no empty tokens and no wildcards or whitespace.
func ValidateSubject(s string) error { return validate(s, false) }

// ValidatePattern reports whether p can be subscribed to: like a subject,
// but a whole token may be "*", and the last token may be ">".
func ValidatePattern(p string) error { return validate(p, true) }

func validate(s string, wildcards bool) error {
	toks := strings.Split(s, ".")
	if len(toks) < 2 || toks[0] != Root {
		return fmt.Errorf("events: subject %q: must start with %q and have at least two tokens", s, Root+".")
	}
	for i, t := range toks {
		if t == "" {
			return fmt.Errorf("events: subject %q: empty token", s)
		}
		if wildcards && (t == "*" || (t == ">" && i == len(toks)-1)) {
			continue
		}
		if strings.ContainsAny(t, "*> \t\r\n") {
			return fmt.Errorf("events: subject %q: invalid token %q", s, t)
		}
	}
	return nil
}

// Match reports whether subject matches pattern (NATS semantics). Both must be valid.
func Match(pattern, subject string) bool {
	p := strings.Split(pattern, ".")
	s := strings.Split(subject, ".")
	for i, t := range p {
		if t == ">" {
			return len(s) > i
		}
		if i >= len(s) || (t != "*" && t != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}
